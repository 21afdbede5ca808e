// A minimal appliance for driving the real agents: the four agent endpoints and the static agent
// files, over a real socket. Bodies go through decodeAgentMessage, so a request the agent sends
// in a shape the schema rejects fails here exactly as it would against goosed.
import { create, type DescMessage, type MessageShape, toJson } from "@bufbuild/protobuf";
import {
  AGENT_FILES,
  AgentEndpoint,
  decodeAgentMessage,
  EnrollRequestSchema,
  EnrollResponseSchema,
  encodeAgentMessage,
  type FactsRequest,
  FactsRequestSchema,
  FactsResponseSchema,
  HeartbeatRequestSchema,
  HeartbeatResponseSchema,
  TokenRefreshRequestSchema,
  TokenRefreshResponseSchema,
} from "../../src/agents/index.ts";

export interface AgentCall {
  path: string;
  /** The bearer token the agent sent, "" when none. */
  token: string;
  contentType: string;
  /** The decoded request message. */
  message: unknown;
}

export interface AgentEndpointsOptions {
  machine?: bigint;
  refreshAfterSeconds?: number;
  heartbeatSeconds?: number;
  /**
   * Reply JSON in proto3's default lowerCamelCase names, pretty-printed, instead of what
   * encodeAgentMessage writes: the agent must read either.
   */
  camelCaseReplies?: boolean;
}

export interface AgentEndpoints extends AsyncDisposable {
  url: string;
  calls: AgentCall[];
  /** Every GET of a static file, by path. */
  downloads: string[];
  /** Installer tokens that enroll once each. */
  installerTokens: Set<string>;
  /** Agent token → machine; a refresh replaces the entry. */
  agentTokens: Map<string, bigint>;
  options: AgentEndpointsOptions;
  factsReports(): FactsRequest[];
}

export function startAgentEndpoints(options: AgentEndpointsOptions = {}): AgentEndpoints {
  const calls: AgentCall[] = [];
  const downloads: string[] = [];
  const installerTokens = new Set<string>();
  const agentTokens = new Map<string, bigint>();
  let issued = 0;
  const newAgentToken = () => `gd_agent_${++issued}_${crypto.randomUUID().replaceAll("-", "")}`;

  const reply = <Desc extends DescMessage>(request: Request, schema: Desc, message: MessageShape<Desc>) => {
    if (options.camelCaseReplies) {
      return new Response(JSON.stringify(toJson(schema, message, { alwaysEmitImplicit: true }), null, 2), {
        headers: { "content-type": "application/json" },
      });
    }
    const encoded = encodeAgentMessage(schema, message, request.headers.get("accept") ?? request.headers.get("content-type"));
    return new Response(encoded.body, { headers: { "content-type": encoded.contentType } });
  };

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const path = new URL(request.url).pathname;
      if (request.method === "GET") {
        const file = AGENT_FILES.get(path);
        if (!file) return problem(404, "route-not-found", `no route for GET ${path}`);
        downloads.push(path);
        return new Response(file.body, { headers: { "content-type": file.contentType } });
      }
      const token = (request.headers.get("authorization") ?? "").replace(/^Bearer /, "");
      const contentType = request.headers.get("content-type") ?? "";
      const body = new Uint8Array(await request.arrayBuffer());
      const decode = <Desc extends DescMessage>(schema: Desc) => {
        const decoded = decodeAgentMessage(schema, body, contentType);
        calls.push({ path, token, contentType, message: decoded.ok ? decoded.value : decoded.reason });
        return decoded;
      };

      switch (path) {
        case AgentEndpoint.Enroll: {
          const decoded = decode(EnrollRequestSchema);
          if (!decoded.ok) return problem(400, "malformed-body", decoded.reason);
          if (!installerTokens.delete(token)) return problem(401, "unauthorized", "installer token is unknown, used or expired");
          const agentToken = newAgentToken();
          const machine = options.machine ?? 42n;
          agentTokens.set(agentToken, machine);
          return reply(request, EnrollResponseSchema, create(EnrollResponseSchema, {
            agentToken,
            machine,
            refreshAfterSeconds: options.refreshAfterSeconds ?? 3600,
            heartbeatSeconds: options.heartbeatSeconds ?? 900,
          }));
        }
        case AgentEndpoint.Facts: {
          const decoded = decode(FactsRequestSchema);
          if (!decoded.ok) return problem(400, "malformed-body", decoded.reason);
          const machine = agentTokens.get(token);
          if (machine === undefined) return unauthorized();
          const runState = decoded.value.failed ? "failed" : decoded.value.postinstallDone ? "succeeded" : "";
          return reply(request, FactsResponseSchema, create(FactsResponseSchema, { runState, machine }));
        }
        case AgentEndpoint.Heartbeat: {
          const decoded = decode(HeartbeatRequestSchema);
          if (!decoded.ok) return problem(400, "malformed-body", decoded.reason);
          if (!agentTokens.has(token)) return unauthorized();
          return reply(request, HeartbeatResponseSchema, create(HeartbeatResponseSchema, { heartbeatSeconds: options.heartbeatSeconds ?? 900 }));
        }
        case AgentEndpoint.TokenRefresh: {
          const decoded = decode(TokenRefreshRequestSchema);
          if (!decoded.ok) return problem(400, "malformed-body", decoded.reason);
          const machine = agentTokens.get(token);
          if (machine === undefined) return unauthorized();
          // Like goosed: the old token stops working the moment the new one is issued.
          agentTokens.delete(token);
          const agentToken = newAgentToken();
          agentTokens.set(agentToken, machine);
          return reply(request, TokenRefreshResponseSchema, create(TokenRefreshResponseSchema, {
            agentToken,
            refreshAfterSeconds: options.refreshAfterSeconds ?? 3600,
          }));
        }
        default:
          return problem(404, "route-not-found", `no route for POST ${path}`);
      }
    },
  });

  return {
    url: `http://127.0.0.1:${server.port}`,
    calls,
    downloads,
    installerTokens,
    agentTokens,
    options,
    factsReports: () => calls.filter((c) => c.path === AgentEndpoint.Facts).map((c) => c.message as FactsRequest),
    [Symbol.asyncDispose]: async () => {
      await server.stop(true);
    },
  };
}

const unauthorized = () => problem(401, "unauthorized", "agent token is unknown, revoked or expired");

/** RFC 9457 problem JSON, shaped like goosed's. */
function problem(status: number, code: string, detail: string): Response {
  return new Response(
    JSON.stringify({ type: `/problems/${code}`, title: code.replaceAll("-", " "), status, detail, instance: "/" }),
    { status, headers: { "content-type": "application/problem+json" } },
  );
}
