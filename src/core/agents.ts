// On-host agents: enrollment with the run's installer token, facts snapshots (ending the run), heartbeats and
// token rotation. Agent tokens identify a machine; rotating one revokes the old one at once.
import { desc, eq } from "drizzle-orm";
import { type Db, machineFacts, machines, machineTokens, runs, type RunState, type Tx } from "../db/index.ts";
import type { Actor } from "./actor.ts";
import { recordAudit } from "./audit.ts";
import type { BootPath } from "./boot-path.ts";
import type { AppEvent, EventBus } from "./events.ts";
import { checkMachineToken, insertMachineToken, type MachineTokenRow, revokeAgentTokens } from "./machine-tokens.ts";
import { ACTIVE_RUN_STATES } from "./runs/step.ts";
import { LAST_SEEN_RESOLUTION_MS } from "./machines.ts";
import type { RunService } from "./runs/service.ts";

export interface AgentSettings {
  refreshAfterSeconds: number;
  heartbeatSeconds: number;
}

export interface FactsReport {
  facts: Record<string, unknown>;
  postinstallDone: boolean;
  failed: boolean;
  failureReason: string;
}

export interface AgentServiceDeps {
  db: Db;
  bus: EventBus;
  runs: RunService;
  bootPath: BootPath;
  settings: AgentSettings;
  now?: () => number;
}

export class AgentService {
  private readonly now: () => number;

  constructor(private readonly deps: AgentServiceDeps) {
    this.now = deps.now ?? Date.now;
  }

  get settings(): AgentSettings {
    return this.deps.settings;
  }

  /** Installer token → agent token. A machine has one agent identity: enrolling again replaces the old token. */
  enroll(installerToken: string, source: string | null): { agentToken: string; machineId: number } {
    const at = this.now();
    return this.deps.bootPath.refusalsAudited("installer", installerToken, source, "POST /v1/agents/enroll", () =>
      this.deps.db.transaction((tx) => {
        const row = checkMachineToken(tx, installerToken, { kind: "installer", at });
        revokeAgentTokens(tx, row.machineId, at);
        const agentToken = insertMachineToken(tx, "agent", { machineId: row.machineId, runId: row.runId, mac: null, expiresAt: null }, at);
        this.touch(tx, row.machineId, source, at, true);
        recordAudit(tx, this.actor(row.machineId, source), "agent.enroll", `machine:${row.machineId}`, { run: row.runId }, at);
        return { agentToken, machineId: row.machineId };
      }),
    );
  }

  /** Stores a facts snapshot, audits what changed at the top level, and ends the machine's run when the agent says so. */
  facts(agentToken: string, report: FactsReport, source: string | null): { machineId: number; runState: RunState | null } {
    const at = this.now();
    const { result, events } = this.authenticated(agentToken, source, "POST /v1/agents/facts", (tx, { machineId, runId }) => {
      const previous = tx.select({ facts: machineFacts.facts }).from(machineFacts).where(eq(machineFacts.machineId, machineId)).orderBy(desc(machineFacts.id)).limit(1).get();
      tx.insert(machineFacts).values({ machineId, at, facts: report.facts }).run();
      const changes = diffTopLevel(previous?.facts ?? {}, report.facts);
      if (Object.keys(changes).length > 0) recordAudit(tx, this.actor(machineId, source), "machine.facts", `machine:${machineId}`, { changes }, at);
      this.touch(tx, machineId, source, at, true);
      const events: AppEvent[] = [this.deps.bus.record("machine.facts", `machine:${machineId}`, { keys: Object.keys(changes) })];
      // An agent speaks for the install it enrolled into, never a later one: after a reinstall is started, the old
      // system's agent must not be able to finish it.
      const run = runId === null ? undefined : tx.select({ id: runs.id, state: runs.state }).from(runs).where(eq(runs.id, runId)).get();
      if (run && (report.postinstallDone || report.failed) && ACTIVE_RUN_STATES.has(run.state)) {
        const event = report.failed ? { type: "agent-failed" as const, reason: report.failureReason || "no reason given" } : { type: "agent-done" as const };
        events.push(...this.deps.runs.apply(tx, run.id, event, source, at).events);
      }
      // The agent hears how the machine's newest run stands, so an old system learns a reinstall is pending.
      const newest = tx.select({ state: runs.state }).from(runs).where(eq(runs.machineId, machineId)).orderBy(desc(runs.id)).limit(1).get();
      const runState: RunState | null = newest?.state ?? null;
      return { result: { machineId, runState }, events };
    });
    for (const event of events) this.deps.bus.deliver(event);
    return result;
  }

  heartbeat(agentToken: string, source: string | null): { machineId: number } {
    const at = this.now();
    return this.authenticated(agentToken, source, "POST /v1/agents/heartbeat", (tx, { machineId }) => {
      this.touch(tx, machineId, source, at, false);
      return { machineId };
    });
  }

  /** The new token is written before the old one is revoked, in one transaction: the agent is never left without one. */
  refresh(agentToken: string, source: string | null): { agentToken: string; machineId: number } {
    const at = this.now();
    return this.authenticated(agentToken, source, "POST /v1/agents/token/refresh", (tx, { id, machineId, runId }) => {
      tx.update(machineTokens).set({ revokedAt: at }).where(eq(machineTokens.id, id)).run();
      // The new token speaks for the same install as the old one.
      const next = insertMachineToken(tx, "agent", { machineId, runId, mac: null, expiresAt: null }, at);
      recordAudit(tx, this.actor(machineId, source), "agent.token.refresh", `machine:${machineId}`, { replaced: id }, at);
      return { agentToken: next, machineId };
    });
  }

  private authenticated<T>(agentToken: string, source: string | null, request: string, work: (tx: Tx, token: MachineTokenRow) => T): T {
    const at = this.now();
    return this.deps.bootPath.refusalsAudited("agent", agentToken, source, request, () =>
      this.deps.db.transaction((tx) => {
        const row = checkMachineToken(tx, agentToken, { kind: "agent", at });
        return work(tx, row);
      }),
    );
  }

  private touch(tx: Tx, machineId: number, source: string | null, at: number, always: boolean): void {
    if (!always) {
      const seen = tx.select({ at: machines.lastSeenAt }).from(machines).where(eq(machines.id, machineId)).get();
      if (seen?.at && at - seen.at < LAST_SEEN_RESOLUTION_MS) return;
    }
    tx.update(machines).set({ lastSeenAt: at, lastSource: source }).where(eq(machines.id, machineId)).run();
  }

  private actor(machineId: number, source: string | null): Actor {
    return { id: `agent:machine:${machineId}`, source: source ?? undefined };
  }
}

// Facts that change on every report; auditing them would bury the changes that matter.
const VOLATILE_FACTS = new Set(["uptime_seconds"]);

/** Top-level keys whose value changed, appeared or disappeared, with before and after. */
export function diffTopLevel(before: Record<string, unknown>, after: Record<string, unknown>): Record<string, { from: unknown; to: unknown }> {
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (VOLATILE_FACTS.has(key)) continue;
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) changes[key] = { from: before[key] ?? null, to: after[key] ?? null };
  }
  return changes;
}
