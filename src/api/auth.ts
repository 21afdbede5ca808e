// Bearer-token auth for /v1: 401 without a valid token, 403 when its scopes are too few. One plugin, applied once.
import { Elysia } from "elysia";
import { type Actor, type Core, grants, type Scope, type TokenRecord } from "../core/index.ts";
import { forbidden, unauthorized } from "./problem.ts";
import { requestState } from "./request-state.ts";

export interface Principal {
  token: TokenRecord;
  actor: Actor;
}

/** Reads need `read`, changes need `write`; routes under these prefixes need `admin`. */
const ADMIN_PREFIXES = ["/v1/tokens", "/v1/s3"];

/** Anyone who reads may see these; changing them needs `admin` (who may sign what the lab imports). */
const ADMIN_WRITE_PREFIXES = ["/v1/keys"];

export function requiredScope(method: string, path: string): Scope {
  const under = (prefixes: string[]) => prefixes.some((p) => path === p || path.startsWith(`${p}/`));
  const reading = method === "GET" || method === "HEAD";
  if (under(ADMIN_PREFIXES) || (!reading && under(ADMIN_WRITE_PREFIXES))) return "admin";
  return reading ? "read" : "write";
}

function actorFor(token: TokenRecord, request: Request): Actor {
  const state = requestState(request);
  return { id: `token:${token.id} (${token.name})`, source: state.source, requestId: state.requestId };
}

/**
 * The actor behind a /v1 request. The auth plugin derives it for every route in its group; route plugins are
 * separate Elysia instances, so the derived field is not in their context type and is read here instead.
 */
export function actorOf(context: object): Actor {
  const { principal } = context as { principal?: Principal };
  if (!principal) throw new Error("actorOf called on a route outside the auth plugin");
  return principal.actor;
}

export const authPlugin = (core: Core) =>
  new Elysia({ name: "auth" }).derive({ as: "scoped" }, ({ request, headers, path }): { principal: Principal } => {
    const header = headers.authorization ?? "";
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw unauthorized("send an API token as 'Authorization: Bearer <token>'; the admin token is in <data>/admin-token");
    const token = core.tokens.authenticate(match[1]!);
    if (!token) throw unauthorized("the API token is unknown, revoked or expired; create a new one with goosed token create");
    const actor = actorFor(token, request);
    const needed = requiredScope(request.method, path);
    if (!grants(token.scopes, needed)) {
      core.recordDenied(actor, `${request.method} ${path}`, needed, token.scopes);
      throw forbidden(`${request.method} ${path} needs the ${needed} scope; this token has ${token.scopes.join(", ")}`);
    }
    return { principal: { token, actor } };
  });
