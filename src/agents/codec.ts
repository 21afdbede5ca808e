// Agent protocol bodies: proto3 JSON or binary protobuf in, the format the agent asked for out.
import { type DescMessage, fromBinary, fromJson, type JsonValue, type MessageShape, toBinary, toJson } from "@bufbuild/protobuf";
import { type Facts, FactsSchema } from "./gen/agent_pb.ts";

export const PROTOBUF_CONTENT_TYPE = "application/x-protobuf";
export const JSON_CONTENT_TYPE = "application/json";

/** Media types read as binary protobuf: the long-standing x- name and the one being registered with IANA. */
const PROTOBUF_MEDIA_TYPES: ReadonlySet<string> = new Set([PROTOBUF_CONTENT_TYPE, "application/protobuf"]);

export type DecodeResult<T> = { ok: true; value: T } | { ok: false; reason: string };

export interface EncodedAgentMessage {
  body: Uint8Array | string;
  contentType: string;
}

/**
 * JSON on the wire uses the .proto field names (agent_token, not agentToken): the shell agent's
 * requests, the stored facts and the replies then spell every field the same way. Fields at their
 * default value are written too, so a client reading a reply never has to know proto3's defaults.
 */
const JSON_WRITE_OPTIONS = { useProtoFieldName: true, alwaysEmitImplicit: true } as const;

/**
 * Decodes a request body by its Content-Type. Never throws: bad input is `{ ok: false, reason }`.
 *
 * JSON follows the proto3 JSON mapping (lowerCamelCase or original names, 64-bit integers as
 * strings or numbers) and rejects unknown fields, naming them. Binary keeps unknown fields, as
 * protobuf does, so a newer agent still reports to an older appliance. An empty body is the
 * empty message in both encodings (binary proto encodes it as zero bytes; a bare POST means the same).
 */
export function decodeAgentMessage<Desc extends DescMessage>(
  schema: Desc,
  body: Uint8Array,
  contentType: string,
): DecodeResult<MessageShape<Desc>> {
  const mediaType = mediaTypeOf(contentType);
  const binary = PROTOBUF_MEDIA_TYPES.has(mediaType);
  if (!binary && mediaType !== JSON_CONTENT_TYPE && mediaType !== "") {
    return { ok: false, reason: `unsupported content type "${mediaType}"; send ${JSON_CONTENT_TYPE} or ${PROTOBUF_CONTENT_TYPE}` };
  }
  if (body.byteLength === 0) return attempt(() => fromBinary(schema, body), "");
  if (binary) return attempt(() => fromBinary(schema, body), `body is not a binary ${schema.typeName}: `);

  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(body);
  } catch {
    return { ok: false, reason: "body is not valid UTF-8" };
  }
  let json: JsonValue;
  try {
    json = JSON.parse(text) as JsonValue;
  } catch (error) {
    return { ok: false, reason: `body is not valid JSON: ${(error as Error).message}` };
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) return { ok: false, reason: "body is not a JSON object" };
  // protobuf-es names the message and the offending key or field in its errors.
  return attempt(() => fromJson(schema, json, { ignoreUnknownFields: false }), "");
}

/**
 * Encodes a reply: binary protobuf when `accept` (the request's Accept header, or its
 * Content-Type when there is none) prefers protobuf, JSON otherwise.
 */
export function encodeAgentMessage<Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc>,
  accept: string | null,
): EncodedAgentMessage {
  if (prefersProtobuf(accept)) return { body: toBinary(schema, message), contentType: PROTOBUF_CONTENT_TYPE };
  return { body: JSON.stringify(toJson(schema, message, JSON_WRITE_OPTIONS)), contentType: JSON_CONTENT_TYPE };
}

/** Facts as plain JSON for storage and diffing: .proto field names, 64-bit integers as strings. */
export function factsToJson(facts: Facts): Record<string, unknown> {
  return toJson(FactsSchema, facts, JSON_WRITE_OPTIONS) as Record<string, unknown>;
}

/**
 * Content negotiation (RFC 9110 §12.5.1) between the two formats we have. Protobuf wins only when
 * it is named explicitly with a quality above application/json's and at least that of a matching
 * wildcard: JSON is the default and wins ties, since it is the format a person can read.
 */
function prefersProtobuf(accept: string | null): boolean {
  if (!accept) return false;
  let protobuf = 0;
  let json = 0;
  let wildcard = 0;
  for (const range of accept.split(",")) {
    const [type = "", ...params] = range.split(";");
    const mediaType = type.trim().toLowerCase();
    const q = qualityOf(params);
    if (PROTOBUF_MEDIA_TYPES.has(mediaType)) protobuf = Math.max(protobuf, q);
    else if (mediaType === JSON_CONTENT_TYPE) json = Math.max(json, q);
    else if (mediaType === "*/*" || mediaType === "application/*") wildcard = Math.max(wildcard, q);
  }
  return protobuf > 0 && protobuf > json && protobuf >= wildcard;
}

/** The q parameter of a media range (default 1); a malformed one counts as 0, "not acceptable". */
function qualityOf(params: string[]): number {
  for (const param of params) {
    const [name = "", value = ""] = param.split("=");
    if (name.trim().toLowerCase() !== "q") continue;
    const q = Number(value.trim());
    return Number.isFinite(q) && q >= 0 && q <= 1 ? q : 0;
  }
  return 1;
}

/** "Application/JSON; charset=utf-8" → "application/json". */
function mediaTypeOf(contentType: string): string {
  return (contentType.split(";")[0] ?? "").trim().toLowerCase();
}

function attempt<T>(decode: () => T, prefix: string): DecodeResult<T> {
  try {
    return { ok: true, value: decode() };
  } catch (error) {
    return { ok: false, reason: `${prefix}${error instanceof Error ? error.message : String(error)}` };
  }
}
