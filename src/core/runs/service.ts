// Runs: start, cancel and inspect installs; apply run events in a transaction; fail runs whose deadline passed.
import { Type } from "@sinclair/typebox";
import { and, asc, desc, eq, lt, type SQL } from "drizzle-orm";
import { type Db, groups, machines, profiles, type RunState, runs, runTransitions, type Tx } from "../../db/index.ts";
import { AppError, conflict, invalid, notFound } from "../../lib/errors.ts";
import type { Actor } from "../actor.ts";
import { recordAudit } from "../audit.ts";
import type { AppEvent, EventBus } from "../events.ts";
import { defineJob, type JobQueue } from "../jobs/index.ts";
import type { MachineService } from "../machines.ts";
import { type Page, pageOf } from "../page.ts";
import type { BootChanges } from "../boot-changes.ts";
import { ACTIVE_RUN_STATES, machineStateFor, type RunEvent, stepRun } from "./step.ts";

export type RunRow = typeof runs.$inferSelect;

export interface RunRecord {
  id: number;
  machine: { id: number; hostname: string | null };
  profile: string;
  state: RunState;
  vars: Record<string, unknown>;
  deadlineAt: number;
  error: string | null;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
  transitions: Array<{ at: number; from: RunState | null; to: RunState; source: string | null; reason: string }>;
}

export interface RunFilter {
  machine?: string;
  state?: RunState;
  before?: number;
  limit: number;
}

export interface ProvisionInput {
  profile?: string;
  vars?: Record<string, unknown>;
  deadlineMinutes?: number;
}

export const RUN_DEADLINE_JOB = "runs.deadline";

/** The job each run schedules at its deadline; it fails the run if it is still going then. */
export const runDeadlineJob = (runs: RunService) =>
  defineJob({
    type: RUN_DEADLINE_JOB,
    description: "Fails a run that has not finished by its deadline",
    payload: Type.Object({ runId: Type.Integer({ minimum: 1 }) }),
    concurrency: 1,
    operatorStartable: false,
    run: async ({ runId }) => ({ state: runs.expire(runId) }),
  });

export interface RunServiceDeps {
  db: Db;
  bus: EventBus;
  jobs: JobQueue;
  machines: MachineService;
  changes: BootChanges;
  defaultDeadlineMinutes: number;
  now?: () => number;
}

export class RunService {
  private readonly now: () => number;

  constructor(private readonly deps: RunServiceDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Starts a run for a machine: its own profile, else its group's, unless the caller names one. One active run each. */
  provision(ref: string, input: ProvisionInput, actor: Actor): RunRecord {
    const at = this.now();
    const { db } = this.deps;
    const { run, events } = db.transaction((tx) => this.start(tx, this.deps.machines.resolveId(ref, tx), input, actor, at, ref));
    for (const event of events) this.deps.bus.deliver(event);
    return this.get(run.id);
  }

  /** Starts a run inside the caller's transaction (discovery starts one in the same batch that enrolls the machine). */
  start(tx: Tx, machineId: number, input: ProvisionInput, actor: Actor, at: number, ref = String(machineId)): { run: RunRow; events: AppEvent[] } {
    const machine = tx.select().from(machines).where(eq(machines.id, machineId)).get()!;
    if (machine.state === "retired") throw conflict("machine-retired", `machine ${ref} is retired; it cannot be provisioned`);
    const active = tx.select({ id: runs.id, state: runs.state }).from(runs).where(and(eq(runs.machineId, machineId), eq(runs.active, 1))).get();
    if (active) {
      throw conflict("run-active", `machine ${ref} already has run ${active.id} (${active.state}); cancel it first with goosed machine cancel ${ref}`);
    }
    const profileId = this.profileFor(tx, machine, input.profile);
    const deadlineAt = at + (input.deadlineMinutes ?? this.deps.defaultDeadlineMinutes) * 60_000;
    const run = tx
      .insert(runs)
      .values({
        machineId,
        profileId,
        state: "pending",
        active: 1,
        vars: input.vars ?? {},
        machineStateBefore: machine.state,
        deadlineAt,
        createdBy: actor.id,
        createdAt: at,
        updatedAt: at,
      })
      .returning()
      .get();
    tx.insert(runTransitions).values({ runId: run.id, at, from: null, to: "pending", source: actor.source ?? null, reason: `started by ${actor.id}` }).run();
    tx.update(machines).set({ state: "provisioning", updatedAt: at }).where(eq(machines.id, machineId)).run();
    this.deps.changes.machineChanged(machineId);
    recordAudit(tx, actor, "run.create", `run:${run.id}`, { machine: machineId, profileId, vars: run.vars, deadlineAt }, at);
    this.deps.jobs.enqueue(RUN_DEADLINE_JOB, { runId: run.id }, actor, { runAt: deadlineAt, db: tx });
    const events = [this.deps.bus.record("run.pending", `run:${run.id}`, { machine: machineId, profileId, source: actor.source ?? null })];
    return { run, events };
  }

  /** Cancels a machine's active run. */
  cancelForMachine(ref: string, actor: Actor): RunRecord {
    const machineId = this.deps.machines.resolveId(ref);
    const active = this.deps.db.select({ id: runs.id }).from(runs).where(and(eq(runs.machineId, machineId), eq(runs.active, 1))).get();
    if (!active) throw conflict("no-active-run", `machine ${ref} has no run in progress`);
    return this.cancel(active.id, actor);
  }

  cancel(runId: number, actor: Actor): RunRecord {
    const at = this.now();
    const events = this.deps.db.transaction((tx) => {
      const { events } = this.apply(tx, runId, { type: "cancel" }, actor.source ?? null, at);
      recordAudit(tx, actor, "run.cancel", `run:${runId}`, {}, at);
      return events;
    });
    for (const event of events) this.deps.bus.deliver(event);
    return this.get(runId);
  }

  /** The deadline job: fails the run if it is still active once its deadline has passed. */
  expire(runId: number): RunState | null {
    const at = this.now();
    const result = this.deps.db.transaction((tx) => {
      const run = tx.select().from(runs).where(eq(runs.id, runId)).get();
      if (!run || !ACTIVE_RUN_STATES.has(run.state) || run.deadlineAt > at) return null;
      return this.apply(tx, runId, { type: "deadline-passed" }, null, at);
    });
    if (!result) return null;
    for (const event of result.events) this.deps.bus.deliver(event);
    return result.run.state;
  }

  /**
   * Applies a run event inside the caller's transaction: the run, its transition row and the machine's state change
   * together. The returned events are persisted; deliver them once the transaction commits.
   */
  apply(tx: Tx, runId: number, event: RunEvent, source: string | null, at: number): { run: RunRow; changed: boolean; events: AppEvent[] } {
    const run = tx.select().from(runs).where(eq(runs.id, runId)).get();
    if (!run) throw notFound("run", runId);
    const step = stepRun(run.state, event);
    if (!step.ok) throw conflict("run-ended", `run ${runId}: ${step.reason}`);
    if (!step.changed) return { run, changed: false, events: [] };
    const ended = !ACTIVE_RUN_STATES.has(step.state);
    const updated = tx
      .update(runs)
      .set({ state: step.state, active: ended ? null : 1, error: step.error ?? run.error, updatedAt: at, finishedAt: ended ? at : null })
      .where(eq(runs.id, runId))
      .returning()
      .get();
    tx.insert(runTransitions).values({ runId, at, from: run.state, to: step.state, source, reason: step.reason }).run();
    const events = [this.deps.bus.record(`run.${step.state}`, `run:${runId}`, { machine: run.machineId, from: run.state, reason: step.reason, source })];
    const machineState = machineStateFor(step.state, run.machineStateBefore);
    if (machineState !== machineStateFor(run.state, run.machineStateBefore)) {
      tx.update(machines).set({ state: machineState, updatedAt: at }).where(eq(machines.id, run.machineId)).run();
      events.push(this.deps.bus.record("machine.state", `machine:${run.machineId}`, { state: machineState, run: runId }));
    }
    this.deps.changes.machineChanged(run.machineId);
    return { run: updated, changed: true, events };
  }

  runRow(db: Db | Tx, id: number): RunRow {
    const run = db.select().from(runs).where(eq(runs.id, id)).get();
    if (!run) throw notFound("run", id);
    return run;
  }

  get(id: number): RunRecord {
    const row = this.deps.db
      .select({ run: runs, hostname: machines.hostname, profile: profiles.name })
      .from(runs)
      .innerJoin(machines, eq(machines.id, runs.machineId))
      .innerJoin(profiles, eq(profiles.id, runs.profileId))
      .where(eq(runs.id, id))
      .get();
    if (!row) throw notFound("run", id);
    const transitions = this.deps.db
      .select({ at: runTransitions.at, from: runTransitions.from, to: runTransitions.to, source: runTransitions.source, reason: runTransitions.reason })
      .from(runTransitions)
      .where(eq(runTransitions.runId, id))
      .orderBy(asc(runTransitions.id))
      .all();
    return toRecord(row.run, row.hostname, row.profile, transitions);
  }

  list(filter: RunFilter): Page<RunRecord> {
    const where: SQL[] = [];
    if (filter.machine) where.push(eq(runs.machineId, this.deps.machines.resolveId(filter.machine)));
    if (filter.state) where.push(eq(runs.state, filter.state));
    if (filter.before !== undefined) where.push(lt(runs.id, filter.before));
    const rows = this.deps.db
      .select({ id: runs.id, run: runs, hostname: machines.hostname, profile: profiles.name })
      .from(runs)
      .innerJoin(machines, eq(machines.id, runs.machineId))
      .innerJoin(profiles, eq(profiles.id, runs.profileId))
      .where(and(...where))
      .orderBy(desc(runs.id))
      .limit(filter.limit + 1)
      .all();
    const page = pageOf(rows, filter.limit);
    return { items: page.items.map((r) => toRecord(r.run, r.hostname, r.profile, [])), next: page.next };
  }

  private profileFor(tx: Tx, machine: typeof machines.$inferSelect, named: string | undefined): number {
    if (named) {
      const profile = tx.select({ id: profiles.id }).from(profiles).where(eq(profiles.name, named)).get();
      if (!profile) throw invalid("run was not started; see errors", [{ path: "/profile", message: `no profile named ${named}; see goosed profile list` }]);
      return profile.id;
    }
    if (machine.profileId !== null) return machine.profileId;
    if (machine.groupId !== null) {
      const group = tx.select({ profileId: groups.profileId, name: groups.name }).from(groups).where(eq(groups.id, machine.groupId)).get();
      if (group?.profileId) return group.profileId;
    }
    throw new AppError({
      code: "no-profile",
      status: 422,
      title: "No profile to install",
      detail: `machine ${machine.hostname ?? machine.id} has no profile and its group has none; pass --profile or set one on the machine or its group`,
    });
  }
}

function toRecord(run: RunRow, hostname: string | null, profile: string, transitions: RunRecord["transitions"]): RunRecord {
  return {
    id: run.id,
    machine: { id: run.machineId, hostname },
    profile,
    state: run.state,
    vars: run.vars,
    deadlineAt: run.deadlineAt,
    error: run.error,
    createdBy: run.createdBy,
    createdAt: run.createdAt,
    updatedAt: run.updatedAt,
    finishedAt: run.finishedAt,
    transitions,
  };
}
