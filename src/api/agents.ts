// /v1/agents: the on-host agent protocol. Bodies are proto3 JSON or binary protobuf (agents/proto/agent.proto);
// replies come back in the format the agent asked for. Authenticated by installer and agent tokens, not API tokens.
import { create, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { Elysia } from "elysia";
import {
  AgentEndpoint,
  decodeAgentMessage,
  EnrollRequestSchema,
  EnrollResponseSchema,
  encodeAgentMessage,
  FactsRequestSchema,
  FactsResponseSchema,
  factsToJson,
  HeartbeatRequestSchema,
  HeartbeatResponseSchema,
  TokenRefreshRequestSchema,
  TokenRefreshResponseSchema,
} from "../agents/index.ts";
import type { Core } from "../core/index.ts";
import { AppError } from "../lib/errors.ts";
import { unauthorized } from "./problem.ts";
import { requestState } from "./request-state.ts";

export const AGENT_PATH_PREFIX = "/v1/agents/";

interface AgentCall {
  request: Request;
  body: unknown;
  headers: Record<string, string | undefined>;
}

function bearer(headers: Record<string, string | undefined>): string {
  const match = /^Bearer\s+(\S+)$/i.exec(headers.authorization ?? "");
  if (!match) throw unauthorized("send the installer or agent token as 'Authorization: Bearer <token>'");
  return match[1]!;
}

/** The global parser hands agent routes the raw bytes; decode them by Content-Type. */
function decode<D extends DescMessage>(schema: D, call: AgentCall): MessageShape<D> {
  const bytes = call.body instanceof Uint8Array ? call.body : new Uint8Array();
  const result = decodeAgentMessage(schema, bytes, call.headers["content-type"] ?? "");
  if (!result.ok) throw new AppError({ code: "malformed-agent-message", status: 400, title: "Malformed agent message", detail: result.reason });
  return result.value;
}

function reply<D extends DescMessage>(schema: D, message: MessageShape<D>, call: AgentCall): Response {
  const encoded = encodeAgentMessage(schema, message, call.headers.accept ?? call.headers["content-type"] ?? null);
  return new Response(encoded.body, { headers: { "content-type": encoded.contentType } });
}

export function agentRoutes(core: Core) {
  const source = (request: Request) => requestState(request).source ?? null;
  const { settings } = core.agents;
  const doc = (summary: string) => ({ detail: { summary, security: [] } });

  return new Elysia({ tags: ["agents"] })
    .post(
      AgentEndpoint.Enroll,
      (call) => {
        decode(EnrollRequestSchema, call);
        const { agentToken, machineId } = core.agents.enroll(bearer(call.headers), source(call.request));
        return reply(
          EnrollResponseSchema,
          create(EnrollResponseSchema, {
            agentToken,
            machine: BigInt(machineId),
            refreshAfterSeconds: settings.refreshAfterSeconds,
            heartbeatSeconds: settings.heartbeatSeconds,
          }),
          call,
        );
      },
      doc("Exchange the run's installer token for this machine's agent token"),
    )
    .post(
      AgentEndpoint.Facts,
      (call) => {
        const message = decode(FactsRequestSchema, call);
        const facts = message.facts ? factsToJson(message.facts) : {};
        const result = core.agents.facts(
          bearer(call.headers),
          { facts, postinstallDone: message.postinstallDone, failed: message.failed, failureReason: message.failureReason },
          source(call.request),
        );
        return reply(FactsResponseSchema, create(FactsResponseSchema, { runState: result.runState ?? "", machine: BigInt(result.machineId) }), call);
      },
      doc("Post a facts snapshot; postinstall_done ends the install run succeeded, failed ends it failed"),
    )
    .post(
      AgentEndpoint.Heartbeat,
      (call) => {
        decode(HeartbeatRequestSchema, call);
        core.agents.heartbeat(bearer(call.headers), source(call.request));
        return reply(HeartbeatResponseSchema, create(HeartbeatResponseSchema, { heartbeatSeconds: settings.heartbeatSeconds }), call);
      },
      doc("Tell goosed the machine is alive"),
    )
    .post(
      AgentEndpoint.TokenRefresh,
      (call) => {
        decode(TokenRefreshRequestSchema, call);
        const { agentToken } = core.agents.refresh(bearer(call.headers), source(call.request));
        return reply(TokenRefreshResponseSchema, create(TokenRefreshResponseSchema, { agentToken, refreshAfterSeconds: settings.refreshAfterSeconds }), call);
      },
      doc("Rotate the agent token; the old one stops working at once"),
    );
}
