// The agent protocol: generated message schemas, the body codec, endpoint paths and the served agent files.
export * from "./gen/agent_pb.ts";
export {
  decodeAgentMessage,
  type DecodeResult,
  type EncodedAgentMessage,
  encodeAgentMessage,
  factsToJson,
  JSON_CONTENT_TYPE,
  PROTOBUF_CONTENT_TYPE,
} from "./codec.ts";
export { AgentEndpoint } from "./endpoints.ts";
export { AGENT_FILES, type AgentFile } from "./files.ts";
