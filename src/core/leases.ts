// DHCP leases in SQLite: the DHCP server's durable store (group-committed with the other boot-path writes, so a boot
// storm costs one fsync per batch, never one per lease), the lease events, and the listing operators read.
import type { Statement } from "bun:sqlite";
import { and, asc, eq, gt, type SQL } from "drizzle-orm";
import { type Db, type LeaseState, leases, type Store } from "../db/index.ts";
import { ipv4ToNumber } from "../lib/ipv4.ts";
import type { EventBus } from "./events.ts";
import type { WriteBatch } from "./write-batch.ts";

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

export class LeaseService {
  private readonly upsert: Statement;

  constructor(
    private readonly store: Store,
    private readonly batch: WriteBatch,
    private readonly bus: EventBus,
    private readonly now: () => number = Date.now,
  ) {
    this.upsert = store.sqlite.prepare(
      `INSERT INTO leases (ip, ip_number, mac, client_id, hostname, subnet, state, starts_at, expires_at, updated_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
       ON CONFLICT (ip) DO UPDATE SET mac = ?3, client_id = ?4, hostname = ?5, subnet = ?6, state = ?7, starts_at = ?8,
         expires_at = ?9, updated_at = ?10`,
    );
  }

  private get db(): Db {
    return this.store.db;
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

  /** Durable once it resolves: the DHCP server sends its ACK only then. */
  save(lease: LeaseRow, change: string): Promise<void> {
    return this.batch.write((tx) => {
      const at = this.now();
      this.upsert.run(lease.ip, ipv4ToNumber(lease.ip), lease.mac, lease.clientId, lease.hostname, lease.subnet, lease.state, lease.startsAt, lease.expiresAt, at);
      const type = EVENT_OF[change];
      if (type) {
        const event = this.bus.record(tx, type, `lease:${lease.ip}`, { ip: lease.ip, mac: lease.mac, hostname: lease.hostname, subnet: lease.subnet, expiresAt: lease.expiresAt });
        this.batch.onCommit(() => this.bus.deliver(event));
      }
    });
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
