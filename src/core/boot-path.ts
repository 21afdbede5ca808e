// What firmware and installers do to state: look a MAC up, enroll unknown ones, hand out and redeem boot tokens.
// The boot script is the hot path of a boot storm: lookups are one prepared statement, writes go through group commit.
import type { Database, Statement } from "bun:sqlite";
import { eq } from "drizzle-orm";
import { type BootPolicy, type Db, type MachineState, machines, machineTokens, type RunState } from "../db/index.ts";
import type { Actor } from "./actor.ts";
import type { AppEvent, EventBus } from "./events.ts";
import { auditRefusal, checkMachineToken, insertMachineToken, newMachineToken, TokenRefused } from "./machine-tokens.ts";
import { LAST_SEEN_RESOLUTION_MS, type MachineService } from "./machines.ts";
import type { RunService } from "./runs/service.ts";
import type { BootChanges } from "./boot-changes.ts";
import { stepRun } from "./runs/step.ts";
import type { MachineTouch, RunBooting, TokenWriter } from "./token-writer.ts";
import type { WriteBatch } from "./write-batch.ts";

export interface BootLookup {
  machineId: number;
  state: MachineState;
  bootPolicy: BootPolicy | null;
  lastSeenAt: number | null;
  runId: number | null;
  runState: RunState | null;
}

export interface DiscoveryPolicy {
  policy: BootPolicy;
  /** The profile a discovered machine installs when the policy is `profile`. */
  profile: string;
}

export interface BootPathDeps {
  db: Db;
  sqlite: Database;
  batch: WriteBatch;
  tokens: TokenWriter;
  changes: BootChanges;
  bus: EventBus;
  machines: MachineService;
  runs: RunService;
  bootTokenTtlSeconds: number;
  discovery: DiscoveryPolicy;
  now?: () => number;
}

export class BootPath {
  // The hot path reads with a prepared statement: building a drizzle query per request costs more than running it.
  private readonly lookupStatement: Statement;
  private readonly now: () => number;
  /** Unknown MACs being enrolled in the current batch: a second request for one waits for the first. */
  private readonly enrolling = new Map<string, Promise<BootLookup>>();
  private readonly cache = new Map<string, { stamp: number; lookup: BootLookup }>();

  constructor(private readonly deps: BootPathDeps) {
    this.now = deps.now ?? Date.now;
    this.lookupStatement = deps.sqlite.prepare(
      `SELECT m.id AS machineId, m.state AS state, m.boot_policy AS bootPolicy, m.last_seen_at AS lastSeenAt,
              r.id AS runId, r.state AS runState
         FROM interfaces i
         JOIN machines m ON m.id = i.machine_id
         LEFT JOIN runs r ON r.machine_id = m.id AND r.active = 1
        WHERE i.mac = ?`,
    );
  }

  /** The machine and active run behind a MAC; served from memory until a machine or run changes. */
  lookup(mac: string): BootLookup | null {
    const { changes } = this.deps;
    const cached = this.cache.get(mac);
    if (cached && changes.current(cached.lookup.machineId, cached.stamp)) return cached.lookup;
    const stamp = changes.stamp();
    const lookup = (this.lookupStatement.get(mac) as BootLookup | null) ?? null;
    if (lookup) this.cache.set(mac, { stamp, lookup });
    else this.cache.delete(mac);
    return lookup;
  }

  /** Enrolls an unknown MAC as a discovered machine; under the `profile` discovery policy it also starts its install. */
  discover(mac: string, arch: string | null, source: string | null): Promise<BootLookup> {
    const pending = this.enrolling.get(mac);
    if (pending) return pending;
    const at = this.now();
    const { batch, bus, discovery } = this.deps;
    const actor: Actor = { id: "discovery", source: source ?? undefined };
    const enrolled = batch
      .write((tx) => {
        const machineId = this.deps.machines.insert(tx, { arch, interfaces: [{ mac }] }, "discovered", at, "");
        tx.update(machines).set({ lastSeenAt: at, lastSource: source }).where(eq(machines.id, machineId)).run();
        const events: AppEvent[] = [bus.record("machine.discovered", `machine:${machineId}`, { mac, arch, source })];
        let run: { id: number; state: RunState } | null = null;
        if (discovery.policy === "profile" && discovery.profile) {
          const started = this.deps.runs.start(tx, machineId, { profile: discovery.profile }, actor, at);
          run = { id: started.run.id, state: started.run.state };
          events.push(...started.events);
        }
        batch.onCommit(() => events.forEach((e) => bus.deliver(e)));
        const lookup: BootLookup = {
          machineId,
          state: run ? "provisioning" : "discovered",
          bootPolicy: null,
          lastSeenAt: at,
          runId: run?.id ?? null,
          runState: run?.state ?? null,
        };
        return lookup;
      })
      .finally(() => this.enrolling.delete(mac));
    this.enrolling.set(mac, enrolled);
    return enrolled;
  }

  /**
   * A boot script for an active run: a fresh one-time boot token for this MAC, and a pending run moves to `booting`.
   * The token resolves only once its row has committed (on the token writer's thread), so a crash never loses one
   * that was handed out.
   */
  async issueBootToken(found: BootLookup, mac: string, source: () => string | null): Promise<string> {
    const at = this.now();
    // Only a run's first boot script moves it (pending → booting); the writer thread records that with the token.
    let booting: RunBooting | null = null;
    if (found.runState === "pending") {
      const step = stepRun("pending", { type: "boot-served" });
      if (step.ok) booting = { runId: found.runId!, machineId: found.machineId, at, source: source(), reason: step.reason };
    }
    const minted = newMachineToken("boot");
    const token = {
      id: minted.id,
      secret: minted.secret,
      machineId: found.machineId,
      runId: found.runId!,
      mac,
      createdAt: at,
      expiresAt: at + this.deps.bootTokenTtlSeconds * 1000,
    };
    await this.deps.tokens.write(token, this.isStale(found, at) ? this.seen(found, source, at) : null, booting);
    return minted.token;
  }

  /** Records that a known machine asked for its boot script, at most once a minute per machine. */
  touch(found: BootLookup, source: () => string | null): Promise<void> | null {
    const at = this.now();
    if (!this.isStale(found, at)) return null;
    return this.deps.tokens.write(null, this.seen(found, source, at), null);
  }

  /** Last-seen is not part of the boot decision: the cached lookup is updated in place instead of invalidated. */
  private seen(found: BootLookup, source: () => string | null, at: number): MachineTouch {
    found.lastSeenAt = at;
    return { machineId: found.machineId, at, source: source() };
  }

  private isStale(found: BootLookup, at: number): boolean {
    return found.lastSeenAt === null || at - found.lastSeenAt >= LAST_SEEN_RESOLUTION_MS;
  }

  /**
   * Stage two of a boot: iPXE presents the boot token with its own MAC. The token is spent, and an installer token
   * valid for the rest of the run is minted for the installer's command line.
   */
  redeemBootToken(token: string, mac: string | null, source: string | null): { installerToken: string; runId: number; machineId: number } {
    const at = this.now();
    return this.refusalsAudited("boot", token, source, "GET /boot/install.ipxe", () =>
      this.deps.db.transaction((tx) => {
        const row = checkMachineToken(tx, token, { kind: "boot", mac, at });
        tx.update(machineTokens).set({ usedAt: at }).where(eq(machineTokens.id, row.id)).run();
        const run = this.deps.runs.runRow(tx, row.runId!);
        const installerToken = insertMachineToken(tx, "installer", { machineId: row.machineId, runId: row.runId, mac: null, expiresAt: run.deadlineAt }, at);
        return { installerToken, runId: row.runId!, machineId: row.machineId };
      }),
    );
  }

  /** An installer fetching its template or cloud-init seed: the run moves to `installing` the first time. */
  authenticateInstaller(token: string, source: string | null, request: string): { runId: number; machineId: number } {
    const at = this.now();
    const { result, events } = this.refusalsAudited("installer", token, source, request, () =>
      this.deps.db.transaction((tx) => {
        const row = checkMachineToken(tx, token, { kind: "installer", at });
        const { events } = this.deps.runs.apply(tx, row.runId!, { type: "install-fetched" }, source, at);
        return { result: { runId: row.runId!, machineId: row.machineId }, events };
      }),
    );
    for (const event of events) this.deps.bus.deliver(event);
    return result;
  }

  /** Runs `work`; a refused token is written to the audit log (outside the failed transaction) before it is rethrown. */
  refusalsAudited<T>(kind: "boot" | "installer" | "agent", token: string, source: string | null, request: string, work: () => T): T {
    try {
      return work();
    } catch (error) {
      if (error instanceof TokenRefused) auditRefusal(this.deps.db, error, kind, token, source, request, this.now());
      throw error;
    }
  }
}
