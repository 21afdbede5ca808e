// DHCP leases in SQLite: the DHCP server's durable store (group-committed, so a boot storm costs one fsync per batch,
// never one per lease), the lease events, and the listing operators read.
import type { Statement } from "bun:sqlite";
import { and, asc, eq, gt, type SQL } from "drizzle-orm";
import { type Db, type LeaseState, leases, type Store } from "../db/index.ts";
import { ipv4ToNumber } from "../lib/ipv4.ts";
import type { AppEvent, EventBus } from "./events.ts";

export interface LeaseRow {
  ip: string;
  mac: string;
  clientId: string | null;
  hostname: string | null;
  subnet: string;
  state: LeaseState;
  startsAt: number;
  expiresAt: number;
}

/** The events a lease change publishes; a renewal publishes none (a busy VLAN renews all day). */
const EVENT_OF: Record<string, string | undefined> = { granted: "lease.granted", released: "lease.released", declined: "lease.declined" };

export interface LeaseFilter {
  /** Only leases bound and unexpired now. */
  active?: boolean;
  mac?: string;
  /** Keyset: addresses after this one. */
  after?: string;
  limit: number;
}

export interface LeaseRecord extends LeaseRow {
  /** bound and unexpired at the time of the listing. */
  active: boolean;
}

/** A few milliseconds more on an ACK that already waits for a disk flush; a storm's commits per second drop to 200. */
const MIN_COMMIT_GAP_MS = 5;

interface PendingSave {
  lease: LeaseRow;
  change: string;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class LeaseService {
  private readonly upsert: Statement;
  private readonly commitBatch: (batch: PendingSave[]) => AppEvent[];
  private queue: PendingSave[] = [];
  private commits = 0;
  private lastCommitMs = -Infinity;

  constructor(
    private readonly store: Store,
    private readonly bus: EventBus,
    private readonly now: () => number = Date.now,
  ) {
    this.upsert = store.sqlite.prepare(
      `INSERT INTO leases (ip, ip_number, mac, client_id, hostname, subnet, state, starts_at, expires_at, updated_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
       ON CONFLICT (ip) DO UPDATE SET mac = ?3, client_id = ?4, hostname = ?5, subnet = ?6, state = ?7, starts_at = ?8,
         expires_at = ?9, updated_at = ?10`,
    );
    // Prepared statements in a bun:sqlite transaction, not drizzle: at 10k leases a second every microsecond per lease
    // shows. Writers share the one connection and run synchronously, so this never interleaves with another batch.
    const write = store.sqlite.transaction((batch: PendingSave[]) => {
      const at = this.now();
      const events: AppEvent[] = [];
      for (const { lease, change } of batch) {
        this.upsert.run(lease.ip, ipv4ToNumber(lease.ip), lease.mac, lease.clientId, lease.hostname, lease.subnet, lease.state, lease.startsAt, lease.expiresAt, at);
        const type = EVENT_OF[change];
        if (type) events.push(this.bus.record(type, `lease:${lease.ip}`, { ip: lease.ip, mac: lease.mac, hostname: lease.hostname, subnet: lease.subnet, expiresAt: lease.expiresAt }));
      }
      return events;
    });
    this.commitBatch = (batch) => write.immediate(batch);
  }

  private get db(): Db {
    return this.store.db;
  }

  /** Group commits so far, for the metrics. */
  get commitCount(): number {
    return this.commits;
  }

  /** Every lease row, for the DHCP server's pool at start. */
  all(): LeaseRow[] {
    return this.db
      .select({
        ip: leases.ip,
        mac: leases.mac,
        clientId: leases.clientId,
        hostname: leases.hostname,
        subnet: leases.subnet,
        state: leases.state,
        startsAt: leases.startsAt,
        expiresAt: leases.expiresAt,
      })
      .from(leases)
      .all();
  }

  /**
   * Durable once it resolves: the DHCP server sends its ACK only then. Saves queued in one turn of the event loop
   * share one transaction, so a boot storm costs one fsync per batch, never one per lease.
   */
  save(lease: LeaseRow, change: string): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.queue.push({ lease, change, resolve, reject }) > 1) return;
      // The fsync blocks this thread: in a storm, commit at most every MIN_COMMIT_GAP_MS so each one carries more leases.
      const wait = this.lastCommitMs + MIN_COMMIT_GAP_MS - performance.now();
      if (wait > 0) setTimeout(() => this.flush(), wait);
      else setImmediate(() => this.flush());
    });
  }

  /** Commits what is queued now; shutdown calls it so no lease the server already decided on is dropped. */
  flush(): void {
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    this.lastCommitMs = performance.now();
    let events: AppEvent[];
    try {
      events = this.commitBatch(batch);
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    this.commits++;
    for (const item of batch) item.resolve();
    for (const event of events) this.bus.deliver(event);
  }

  list(filter: LeaseFilter): { items: LeaseRecord[]; next: string | null } {
    const nowMs = this.now();
    const where: SQL[] = [];
    if (filter.active) where.push(eq(leases.state, "bound"), gt(leases.expiresAt, nowMs));
    if (filter.mac) where.push(eq(leases.mac, filter.mac));
    if (filter.after) where.push(gt(leases.ipNumber, ipv4ToNumber(filter.after)));
    const rows = this.db
      .select()
      .from(leases)
      .where(and(...where))
      .orderBy(asc(leases.ipNumber))
      .limit(filter.limit + 1)
      .all();
    const items = rows.slice(0, filter.limit).map(({ ipNumber: _n, updatedAt: _u, ...row }) => ({ ...row, active: row.state === "bound" && row.expiresAt > nowMs }));
    return { items, next: rows.length > filter.limit ? items.at(-1)!.ip : null };
  }
}
