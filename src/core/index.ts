// core: the appliance's domain services over the store. Protocol servers and the API reach state only through here.
import type { Config } from "../config/index.ts";
import type { Store } from "../db/index.ts";
import type { Logger } from "../lib/logger.ts";
import type { Actor } from "./actor.ts";
import { type AuditFilter, listAudit, recordAudit } from "./audit.ts";
import { EventBus } from "./events.ts";
import { JobQueue } from "./jobs/index.ts";
import { TokenService } from "./tokens.ts";

export { JOB_STATES, type JobState } from "../db/index.ts";
export { SYSTEM_ACTOR, type Actor } from "./actor.ts";
export type { AuditEntry, AuditFilter } from "./audit.ts";
export { EventBus, type AppEvent } from "./events.ts";
export * from "./jobs/index.ts";
export type { Page } from "./page.ts";
export { Readiness, type ServiceHealth } from "./readiness.ts";
export { ADMIN_TOKEN_FILE, grants, SCOPES, TokenService, type Scope, type TokenRecord } from "./tokens.ts";

// Pruning is cheap (indexed deletes); hourly keeps the table near its bound without a job per minute.
const EVENT_PRUNE_INTERVAL_MS = 3_600_000;

export interface Core {
  store: Store;
  bus: EventBus;
  tokens: TokenService;
  jobs: JobQueue;
  listAudit(filter: AuditFilter): ReturnType<typeof listAudit>;
  /** A security event: a valid token asked for more than its scopes allow. */
  recordDenied(actor: Actor, request: string, needed: string, held: readonly string[]): void;
  /** Starts background work: job workers and event pruning. */
  start(): void;
  /** Stops background work, giving running jobs up to graceMs to finish. */
  stop(graceMs: number): Promise<void>;
}

export function createCore(store: Store, config: Readonly<Config>, log: Logger): Core {
  const bus = new EventBus(store.db);
  const tokens = new TokenService(store.db);
  const jobs = new JobQueue({ db: store.db, bus, log: log.child({ component: "jobs" }), options: config.jobs });
  let pruneTimer: Timer | null = null;
  const prune = () => {
    const removed = bus.prune(config.events);
    if (removed > 0) log.debug("events pruned", { component: "events", removed });
  };
  return {
    store,
    bus,
    tokens,
    jobs,
    listAudit: (filter) => listAudit(store.db, filter),
    recordDenied: (actor, request, needed, held) =>
      recordAudit(store.db, actor, "auth.denied", request, { needed, held }, Date.now()),
    start() {
      prune();
      pruneTimer = setInterval(prune, EVENT_PRUNE_INTERVAL_MS);
      jobs.start();
    },
    async stop(graceMs) {
      if (pruneTimer) clearInterval(pruneTimer);
      await jobs.stop(graceMs);
    },
  };
}
