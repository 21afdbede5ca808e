// /v1/events: Server-Sent Events, live and resumable with Last-Event-ID from the persisted event log.
import { Type } from "@sinclair/typebox";
import { Elysia } from "elysia";
import type { AppEvent, Core } from "../core/index.ts";
import { parseQuery, queryDoc } from "./query.ts";
import { eventView } from "./views.ts";

// Comment lines keep proxies and idle-timeouts from closing a quiet stream.
const KEEPALIVE_MS = 15_000;
// Replay reads the log in pages so a long absence does not load it all at once.
const REPLAY_PAGE = 500;
// A client this far behind is cut off; it reconnects with Last-Event-ID and resumes from the log.
const MAX_QUEUED_EVENTS = 10_000;
const RECONNECT_MS = 2000;

const encoder = new TextEncoder();
/** Named frames let API clients listen by type; the status page wants every event as a plain message. */
const frame = (event: AppEvent, named: boolean) =>
  encoder.encode(`id: ${event.id}\n${named ? `event: ${event.type}\n` : ""}data: ${JSON.stringify(eventView(event))}\n\n`);

/** The id a reconnecting EventSource resumes after (its Last-Event-ID header), or null for a fresh stream. */
export const lastEventIdOf = (header: string | null | undefined): number | null => (header && /^\d+$/.test(header) ? Number(header) : null);

export class EventStreams {
  /** The cleanup of every open stream: unsubscribe, stop the keepalive, close. */
  private readonly open = new Set<() => void>();

  constructor(private readonly core: Core) {}

  get count(): number {
    return this.open.size;
  }

  /**
   * Replay and subscribe happen in one synchronous stretch: bun:sqlite reads block and publish is synchronous,
   * so no event can slip between the last replayed row and the first live one.
   */
  stream(afterId: number | null, types: string[], signal: AbortSignal, options: { named?: boolean; onClose?: () => void } = {}): Response {
    const named = options.named ?? true;
    const { bus } = this.core;
    const wanted = (e: AppEvent) => types.length === 0 || types.some((p) => e.type === p || e.type.startsWith(`${p}.`));
    let unsubscribe = () => {};
    let keepalive: Timer | undefined;
    let controllerRef: ReadableStreamDefaultController<Uint8Array> | undefined;
    const cleanup = () => {
      if (!this.open.delete(cleanup)) return;
      options.onClose?.();
      unsubscribe();
      clearInterval(keepalive);
      try {
        controllerRef?.close();
      } catch {
        // already closed by the client going away
      }
    };
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        controllerRef = controller;
        this.open.add(cleanup);
        signal.addEventListener("abort", cleanup, { once: true });
        /** False once the client is too far behind: the stream is closed and it resumes from its last id. */
        const send = (event: AppEvent): boolean => {
          if ((controller.desiredSize ?? 0) < -MAX_QUEUED_EVENTS) {
            cleanup();
            return false;
          }
          if (wanted(event)) controller.enqueue(frame(event, named));
          return true;
        };
        controller.enqueue(encoder.encode(`retry: ${RECONNECT_MS}\n\n`));
        if (afterId !== null) {
          const oldest = bus.oldestId();
          if (oldest !== null && oldest > afterId + 1) {
            controller.enqueue(encoder.encode(`event: gap\ndata: ${JSON.stringify({ lastEventId: afterId, oldestKept: oldest })}\n\n`));
          }
          for (let page = bus.since(afterId, REPLAY_PAGE); page.length > 0; page = bus.since(page.at(-1)!.id, REPLAY_PAGE)) {
            if (!page.every(send)) return;
          }
        }
        unsubscribe = bus.subscribe(send);
        keepalive = setInterval(() => controller.enqueue(encoder.encode(": keepalive\n\n")), KEEPALIVE_MS);
      },
      cancel: cleanup,
    });
    return new Response(body, {
      headers: { "content-type": "text/event-stream", "cache-control": "no-store", "x-accel-buffering": "no" },
    });
  }

  /** Ends every stream, so shutdown is not held up by clients that never disconnect. */
  closeAll(): void {
    for (const cleanup of [...this.open]) cleanup();
  }
}

const StreamQuery = Type.Object(
  {
    lastEventId: Type.Optional(Type.Integer({ minimum: 0, description: "resume after this id (as the Last-Event-ID header)" })),
    types: Type.Optional(Type.String({ minLength: 1, description: "comma-separated type prefixes, e.g. job,machine" })),
  },
  { additionalProperties: false },
);

export const eventsRoutes = (streams: EventStreams) =>
  new Elysia({ prefix: "/v1/events", tags: ["events"] }).get("",
    ({ headers, query, request }) => {
      const q = parseQuery(StreamQuery, query);
      const afterId = lastEventIdOf(headers["last-event-id"]) ?? q.lastEventId ?? null;
      const types = q.types ? q.types.split(",").filter(Boolean) : [];
      return streams.stream(afterId, types, request.signal);
    },
    { detail: { summary: "Server-Sent Events stream of job, machine, run, lease and import events", parameters: queryDoc(StreamQuery) } },
  );
