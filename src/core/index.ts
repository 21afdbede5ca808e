// core: the appliance's domain services over the store. Protocol servers and the API reach state only through here.
import type { Config } from "../config/index.ts";
import type { Store } from "../db/index.ts";
import type { Logger } from "../lib/logger.ts";
import type { Actor } from "./actor.ts";
import { type AuditFilter, listAudit, recordAudit } from "./audit.ts";
import { EventBus } from "./events.ts";
import { AgentService } from "./agents.ts";
import { BootChanges } from "./boot-changes.ts";
import { BootPath } from "./boot-path.ts";
import { GroupService } from "./groups.ts";
import { JobQueue } from "./jobs/index.ts";
import { pruneBootTokens } from "./machine-tokens.ts";
import { MachineService } from "./machines.ts";
import { ProfileService } from "./profiles.ts";
import { runDeadlineJob, RunService } from "./runs/service.ts";
import { TokenWriter } from "./token-writer.ts";
import { TokenService } from "./tokens.ts";
import { WriteBatch } from "./write-batch.ts";
import { LeaseService } from "./leases.ts";
import { Reservations } from "./reservations.ts";

export { JOB_STATES, type JobState } from "../db/index.ts";
export { SYSTEM_ACTOR, type Actor } from "./actor.ts";
export type { AuditEntry, AuditFilter } from "./audit.ts";
export { EventBus, type AppEvent } from "./events.ts";
export * from "./jobs/index.ts";
export type { Page } from "./page.ts";
export { Readiness, type ServiceHealth } from "./readiness.ts";
export { AgentService, type FactsReport } from "./agents.ts";
export { BootPath, type BootLookup } from "./boot-path.ts";
export { GroupService, type GroupInput, type GroupRecord } from "./groups.ts";
export { TokenRefused } from "./machine-tokens.ts";
export { MachineService, type ImportRow, type MachineInput, type MachineRecord } from "./machines.ts";
export { INSTALL_TEMPLATES, ProfileService, profileTemplates, templateSource, type ProfileInput, type ProfileRecord, type ProfileRow } from "./profiles.ts";
export { RunService, type ProvisionInput, type RunRecord } from "./runs/service.ts";
export { WriteBatch } from "./write-batch.ts";
export { LeaseService, type LeaseFilter, type LeaseRecord, type LeaseRow } from "./leases.ts";
export { Reservations, type Reservation } from "./reservations.ts";
export { ADMIN_TOKEN_FILE, grants, SCOPES, TokenService, type Scope, type TokenRecord } from "./tokens.ts";

// Pruning is cheap (indexed deletes); hourly keeps the table near its bound without a job per minute.
const EVENT_PRUNE_INTERVAL_MS = 3_600_000;

export interface Core {
  store: Store;
  bus: EventBus;
  tokens: TokenService;
  jobs: JobQueue;
  batch: WriteBatch;
  tokenWriter: TokenWriter;
  machines: MachineService;
  groups: GroupService;
  profiles: ProfileService;
  runs: RunService;
  bootPath: BootPath;
  agents: AgentService;
  leases: LeaseService;
  reservations: Reservations;
  listAudit(filter: AuditFilter): ReturnType<typeof listAudit>;
  /** A security event: a valid token asked for more than its scopes allow. */
  recordDenied(actor: Actor, request: string, needed: string, held: readonly string[]): void;
  /** Starts background work: job workers and event pruning. */
  start(): void;
  /** Stops background work, giving running jobs up to graceMs to finish. */
  stop(graceMs: number): Promise<void>;
}

export function createCore(store: Store, config: Readonly<Config>, log: Logger): Core {
  const bus = new EventBus(store);
  const tokens = new TokenService(store.db);
  const jobs = new JobQueue({ db: store.db, bus, log: log.child({ component: "jobs" }), options: config.jobs });
  const batch = new WriteBatch(store.db);
  const changes = new BootChanges();
  const tokenWriter = new TokenWriter(store.dataDir, (events) => {
    for (const event of events) {
      // A run that began booting changed what its machine's next boot script holds.
      changes.machineChanged(event.data.machine as number);
      bus.deliver(event);
    }
  });
  const machines = new MachineService(store.db, bus, changes);
  const groups = new GroupService(store.db);
  const profiles = new ProfileService(store.db, config.vars);
  const runs = new RunService({ db: store.db, bus, jobs, machines, changes, defaultDeadlineMinutes: config.runs.deadlineMinutes });
  const bootPath = new BootPath({
    db: store.db,
    sqlite: store.sqlite,
    batch,
    tokens: tokenWriter,
    changes,
    bus,
    machines,
    runs,
    bootTokenTtlSeconds: config.boot.tokenTtlSeconds,
    discovery: { policy: config.boot.discoveryPolicy, profile: config.boot.discoveryProfile },
  });
  const leases = new LeaseService(store, bus);
  const agents = new AgentService({ db: store.db, bus, runs, bootPath, settings: config.agents });
  jobs.register(runDeadlineJob(runs));
  let pruneTimer: Timer | null = null;
  const prune = () => {
    const removed = bus.prune(config.events);
    if (removed > 0) log.debug("events pruned", { component: "events", removed });
    const tokens = pruneBootTokens(store.db, Date.now());
    if (tokens > 0) log.debug("expired boot tokens pruned", { component: "boot", removed: tokens });
  };
  return {
    store,
    bus,
    tokens,
    jobs,
    batch,
    tokenWriter,
    machines,
    groups,
    profiles,
    runs,
    bootPath,
    agents,
    leases,
    reservations: new Reservations(store.db, bus),
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
      batch.flush();
      leases.flush();
      await Promise.all([tokenWriter.close(), jobs.stop(graceMs)]);
    },
  };
}
