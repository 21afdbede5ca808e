// The durable job queue: jobs live in SQLite, are claimed atomically, retried with backoff and recovered at start.
import { Value } from "@sinclair/typebox/value";
import { and, desc, eq, lt, sql, type SQL } from "drizzle-orm";
import { type Db, JOB_STATES, type JobState, jobs, type Tx } from "../../db/index.ts";
import { AppError, invalid, notFound } from "../../lib/errors.ts";
import { settlesWithin } from "../../lib/deadline.ts";
import type { Logger } from "../../lib/logger.ts";
import type { Actor } from "../actor.ts";
import { recordAudit } from "../audit.ts";
import type { EventBus } from "../events.ts";
import { type Page, pageOf } from "../page.ts";
import { backoffDelayMs } from "./backoff.ts";
import { type JobContext, type JobDefinition, PermanentJobError } from "./definition.ts";

export type JobRow = typeof jobs.$inferSelect;

export interface JobQueueOptions {
  pollIntervalMs: number;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export interface JobQueueDeps {
  db: Db;
  bus: EventBus;
  log: Logger;
  options: JobQueueOptions;
  now?: () => number;
  random?: () => number;
}

export interface JobFilter {
  state?: JobState;
  type?: string;
  before?: number;
  limit: number;
}

// Progress is persisted and published at most this often per job, so a chatty handler cannot flood the database.
const PROGRESS_FLUSH_MS = 250;
// After the grace period, aborted handlers get this long to unwind before their rows are requeued anyway.
const ABORT_SETTLE_MS = 1000;

const TERMINAL: ReadonlySet<JobState> = new Set(["succeeded", "failed", "cancelled"]);

interface RunningJob {
  row: JobRow;
  controller: AbortController;
  done: Promise<void>;
  cancelled: boolean;
  progress: { fraction: number; message: string | null; flushedAt: number; timer: Timer | null };
}

type Outcome = { ok: true; result: unknown } | { ok: false; error: unknown };

export class JobQueue {
  private readonly definitions = new Map<string, JobDefinition>();
  private readonly running = new Map<number, RunningJob>();
  private readonly now: () => number;
  private readonly random: () => number;
  private timer: Timer | null = null;
  private started = false;
  private stopping = false;

  constructor(private readonly deps: JobQueueDeps) {
    this.now = deps.now ?? Date.now;
    this.random = deps.random ?? Math.random;
  }

  register<D extends JobDefinition<any>>(definition: D): void {
    if (this.definitions.has(definition.type)) throw new Error(`job type ${definition.type} registered twice`);
    this.definitions.set(definition.type, definition as JobDefinition);
  }

  types(): JobDefinition[] {
    return [...this.definitions.values()];
  }

  enqueue(type: string, payload: unknown, actor: Actor, options: { operator?: boolean; runAt?: number; db?: Db | Tx } = {}): JobRow {
    const definition = this.definitions.get(type);
    if (!definition || (options.operator && !definition.operatorStartable)) {
      const startable = this.types().filter((d) => !options.operator || d.operatorStartable).map((d) => d.type);
      throw invalid(`unknown job type ${JSON.stringify(type)}`, [
        { path: "/type", message: `expected one of ${startable.join(", ") || "(none)"}` },
      ]);
    }
    const errors = [...Value.Errors(definition.payload, payload)].map((e) => ({ path: `/payload${e.path}`, message: e.message }));
    if (errors.length > 0) throw invalid(`payload does not fit job type ${type}`, errors);
    const at = this.now();
    const insert = (tx: Db | Tx) => {
      const inserted = tx
        .insert(jobs)
        .values({
          type,
          state: "queued",
          payload,
          maxAttempts: definition.maxAttempts ?? this.deps.options.maxAttempts,
          runAt: options.runAt ?? at,
          createdBy: actor.id,
          createdAt: at,
          updatedAt: at,
        })
        .returning()
        .get();
      recordAudit(tx, actor, "job.create", `job:${inserted.id}`, { type, payload }, at);
      return inserted;
    };
    // Inside a caller's transaction the job commits (or not) with the caller's change; it is picked up by the next poll.
    if (options.db) return insert(options.db);
    const row = this.deps.db.transaction(insert);
    this.publish("job.queued", row);
    this.kick();
    return row;
  }

  get(id: number): JobRow {
    const row = this.deps.db.select().from(jobs).where(eq(jobs.id, id)).get();
    if (!row) throw notFound("job", id);
    return row;
  }

  list(filter: JobFilter): Page<JobRow> {
    const where: SQL[] = [];
    if (filter.state) where.push(eq(jobs.state, filter.state));
    if (filter.type) where.push(eq(jobs.type, filter.type));
    if (filter.before !== undefined) where.push(lt(jobs.id, filter.before));
    const rows = this.deps.db.select().from(jobs).where(and(...where)).orderBy(desc(jobs.id)).limit(filter.limit + 1).all();
    return pageOf(rows, filter.limit);
  }

  /** Jobs per state, every state present, for /metrics and `goosed status`. */
  counts(): Record<JobState, number> {
    const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
    const rows = this.deps.db.select({ state: jobs.state, n: sql<number>`count(*)` }).from(jobs).groupBy(jobs.state).all();
    for (const { state, n } of rows) counts[state] = n;
    return counts;
  }

  /** A queued job is cancelled at once; a running one is asked to stop through its AbortSignal. */
  cancel(id: number, actor: Actor): JobRow {
    const at = this.now();
    const before = this.deps.db.transaction((tx) => {
      const row = tx.select().from(jobs).where(eq(jobs.id, id)).get();
      if (!row) throw notFound("job", id);
      if (TERMINAL.has(row.state)) {
        throw new AppError({
          code: "job-finished",
          status: 409,
          title: "Job already finished",
          detail: `job ${id} is ${row.state}; only queued or running jobs can be cancelled`,
        });
      }
      if (row.state === "queued") {
        tx.update(jobs).set({ state: "cancelled", finishedAt: at, updatedAt: at }).where(eq(jobs.id, id)).run();
      } else {
        tx.update(jobs).set({ cancelRequested: true, updatedAt: at }).where(eq(jobs.id, id)).run();
      }
      recordAudit(tx, actor, "job.cancel", `job:${id}`, { type: row.type, state: row.state }, at);
      return row;
    });
    if (before.state === "queued") {
      this.publish("job.cancelled", this.get(id));
    } else {
      const running = this.running.get(id);
      if (running) {
        running.cancelled = true;
        running.controller.abort(new Error("job cancelled"));
      }
    }
    return this.get(id);
  }

  /**
   * Jobs left `running` by a process that died run again (their interrupted attempt counts, so a job that
   * crashes goosed every time ends failed instead of looping); one whose cancel was pending ends cancelled.
   */
  recover(): number {
    const at = this.now();
    const rows = this.deps.db
      .update(jobs)
      .set({
        state: sql`CASE WHEN ${jobs.cancelRequested} THEN 'cancelled' WHEN ${jobs.attempts} >= ${jobs.maxAttempts} THEN 'failed' ELSE 'queued' END`,
        error: sql`CASE WHEN ${jobs.attempts} >= ${jobs.maxAttempts} THEN 'interrupted on its last attempt: goosed stopped while it ran' ELSE ${jobs.error} END`,
        finishedAt: sql`CASE WHEN ${jobs.cancelRequested} OR ${jobs.attempts} >= ${jobs.maxAttempts} THEN ${at} ELSE NULL END`,
        runAt: at,
        updatedAt: at,
      })
      .where(eq(jobs.state, "running"))
      .returning()
      .all();
    for (const row of rows) {
      this.deps.log.warn("job interrupted by restart", { jobId: row.id, type: row.type, state: row.state });
      this.publish(row.state === "queued" ? "job.recovered" : `job.${row.state}`, row);
    }
    return rows.length;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.recover();
    this.pump();
  }

  /** Stops claiming, lets running jobs finish within graceMs, then aborts and requeues the rest. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const all = () => Promise.all([...this.running.values()].map((r) => r.done));
    if (await settlesWithin(all(), graceMs)) return;
    for (const job of this.running.values()) job.controller.abort(new Error("goosed is shutting down"));
    await settlesWithin(all(), ABORT_SETTLE_MS);
    for (const job of this.running.values()) this.requeueInterrupted(job.row);
  }

  get runningCount(): number {
    return this.running.size;
  }

  private kick(): void {
    if (!this.started || this.stopping) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.pump(), 0);
  }

  private pump(): void {
    this.timer = null;
    if (this.stopping) return;
    for (const definition of this.definitions.values()) {
      while (this.runningOf(definition.type) < definition.concurrency) {
        const row = this.claim(definition.type);
        if (!row) break;
        this.launch(row, definition);
      }
    }
    this.timer = setTimeout(() => this.pump(), this.deps.options.pollIntervalMs);
  }

  private runningOf(type: string): number {
    let n = 0;
    for (const job of this.running.values()) if (job.row.type === type) n++;
    return n;
  }

  /** One statement picks and marks the job, so two workers can never claim the same row. */
  private claim(type: string): JobRow | undefined {
    const at = this.now();
    return this.deps.db
      .update(jobs)
      .set({ state: "running", attempts: sql`${jobs.attempts} + 1`, startedAt: at, updatedAt: at, error: null })
      .where(
        eq(
          jobs.id,
          sql`(SELECT id FROM jobs WHERE state = 'queued' AND type = ${type} AND run_at <= ${at} ORDER BY run_at, id LIMIT 1)`,
        ),
      )
      .returning()
      .get();
  }

  private launch(row: JobRow, definition: JobDefinition): void {
    const controller = new AbortController();
    const job: RunningJob = {
      row,
      controller,
      cancelled: false,
      done: Promise.resolve(),
      progress: { fraction: row.progress, message: row.progressMessage, flushedAt: 0, timer: null },
    };
    const log = this.deps.log.child({ jobId: row.id, type: row.type, attempt: row.attempts });
    const ctx: JobContext = {
      jobId: row.id,
      attempt: row.attempts,
      signal: controller.signal,
      log,
      progress: (fraction, message) => this.reportProgress(job, fraction, message),
    };
    this.running.set(row.id, job);
    this.publish("job.started", row);
    log.info("job started");
    job.done = (async () => {
      let outcome: Outcome;
      try {
        outcome = { ok: true, result: await definition.run(row.payload as never, ctx) };
      } catch (error) {
        outcome = { ok: false, error };
      }
      try {
        this.settle(job, outcome, log);
      } catch (error) {
        log.error("job outcome not recorded", { error });
      } finally {
        this.running.delete(row.id);
        this.kick();
      }
    })();
  }

  private reportProgress(job: RunningJob, fraction: number, message?: string): void {
    const p = job.progress;
    p.fraction = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
    if (message !== undefined) p.message = message;
    const wait = PROGRESS_FLUSH_MS - (this.now() - p.flushedAt);
    if (wait <= 0) this.flushProgress(job);
    else p.timer ??= setTimeout(() => this.flushProgress(job), wait);
  }

  private flushProgress(job: RunningJob): void {
    const p = job.progress;
    if (p.timer) clearTimeout(p.timer);
    p.timer = null;
    if (!this.running.has(job.row.id)) return;
    p.flushedAt = this.now();
    const updated = this.deps.db
      .update(jobs)
      .set({ progress: p.fraction, progressMessage: p.message, updatedAt: p.flushedAt })
      .where(this.ownRow(job.row))
      .returning({ id: jobs.id })
      .get();
    if (updated) {
      this.deps.bus.publish("job.progress", `job:${job.row.id}`, {
        id: job.row.id,
        type: job.row.type,
        attempt: job.row.attempts,
        fraction: p.fraction,
        message: p.message,
      });
    }
  }

  /** Fences every write to the attempt that claimed the row, so an outcome is recorded exactly once. */
  private ownRow(row: JobRow): SQL {
    return and(eq(jobs.id, row.id), eq(jobs.state, "running"), eq(jobs.attempts, row.attempts))!;
  }

  private settle(job: RunningJob, outcome: Outcome, log: Logger): void {
    const { row } = job;
    if (job.progress.timer) clearTimeout(job.progress.timer);
    job.progress.timer = null;
    const at = this.now();
    if (!outcome.ok && job.controller.signal.aborted && !job.cancelled) {
      this.requeueInterrupted(row);
      return;
    }
    let update: Partial<JobRow>;
    let event: string;
    if (outcome.ok) {
      // The last progress line (often a summary like "imported lab 1.0: 2 files") may still sit in the throttle.
      update = { state: "succeeded", result: outcome.result ?? null, progress: 1, progressMessage: job.progress.message, finishedAt: at };
      event = "job.succeeded";
    } else if (job.cancelled) {
      update = { state: "cancelled", finishedAt: at };
      event = "job.cancelled";
    } else {
      const message = outcome.error instanceof Error ? outcome.error.message : String(outcome.error);
      const permanent = outcome.error instanceof PermanentJobError;
      if (permanent || row.attempts >= row.maxAttempts) {
        update = { state: "failed", error: message, finishedAt: at };
        event = "job.failed";
      } else {
        const delayMs = backoffDelayMs(row.attempts, this.deps.options.backoffBaseMs, this.deps.options.backoffMaxMs, this.random);
        update = { state: "queued", error: message, runAt: at + delayMs };
        event = "job.retry";
      }
      log.warn("job attempt failed", { error: message, permanent, next: event });
    }
    const done = this.deps.db
      .update(jobs)
      .set({ ...update, updatedAt: at })
      .where(this.ownRow(row))
      .returning()
      .get();
    if (!done) return;
    log.info("job settled", { state: done.state });
    this.publish(event, done);
  }

  /** A job stopped by shutdown did nothing wrong: its attempt is given back and it runs again at next start. */
  private requeueInterrupted(row: JobRow): void {
    const at = this.now();
    const done = this.deps.db
      .update(jobs)
      .set({ state: "queued", attempts: row.attempts - 1, runAt: at, updatedAt: at })
      .where(this.ownRow(row))
      .returning()
      .get();
    if (done) this.publish("job.interrupted", done);
  }

  private publish(type: string, row: JobRow): void {
    this.deps.bus.publish(type, `job:${row.id}`, {
      id: row.id,
      type: row.type,
      state: row.state,
      attempt: row.attempts,
      ...(row.error ? { error: row.error } : {}),
      ...(row.state === "queued" && row.attempts > 0 ? { runAt: row.runAt } : {}),
    });
  }
}
