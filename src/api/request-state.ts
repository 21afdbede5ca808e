// Per-request facts the edge needs everywhere (id, start time, peer), kept beside the Request without mutating it.
import { randomBytes } from "node:crypto";

export interface RequestState {
  requestId: string;
  startedMs: number;
  source: string | undefined;
}

const states = new WeakMap<Request, RequestState>();
// A caller's own id is kept for tracing across proxies, but only in a shape that is safe to log.
const CALLER_ID = /^[\w.:-]{1,64}$/;

export function beginRequest(request: Request, source: string | undefined): RequestState {
  const offered = request.headers.get("x-request-id");
  const state: RequestState = {
    requestId: offered && CALLER_ID.test(offered) ? offered : randomBytes(8).toString("hex"),
    startedMs: performance.now(),
    source,
  };
  states.set(request, state);
  return state;
}

export function requestState(request: Request): RequestState {
  return states.get(request) ?? beginRequest(request, undefined);
}
