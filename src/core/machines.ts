// Machines and their interfaces: create, change, retire, look up by id / hostname / MAC, and bulk import.
import { and, type AnyColumn, asc, count, desc, eq, inArray, lt, ne, or, type SQL, sql } from "drizzle-orm";
import {
  type BootPolicy,
  type Db,
  groups,
  interfaces,
  leases,
  MACHINE_STATES,
  type MachineState,
  machineFacts,
  machines,
  profiles,
  runs,
  type Tx,
} from "../db/index.ts";
import { AppError, conflict, type FieldError, invalid, notFound } from "../lib/errors.ts";
import { parseIpv4 } from "../lib/ipv4.ts";
import { MAC_SPELLINGS, parseMac } from "../lib/mac.ts";
import type { Actor } from "./actor.ts";
import { recordAudit } from "./audit.ts";
import type { BootChanges } from "./boot-changes.ts";
import type { EventBus } from "./events.ts";
import { type Page, pageOf } from "./page.ts";

export interface InterfaceInput {
  mac: string;
  ip?: string | null;
}

export interface MachineInput {
  hostname?: string | null;
  serial?: string | null;
  arch?: string | null;
  labels?: Record<string, string>;
  group?: string | null;
  profile?: string | null;
  bootPolicy?: BootPolicy | null;
  vars?: Record<string, unknown>;
  interfaces?: InterfaceInput[];
}

export interface MachineRecord {
  id: number;
  hostname: string | null;
  serial: string | null;
  arch: string | null;
  labels: Record<string, string>;
  group: string | null;
  profile: string | null;
  state: MachineState;
  bootPolicy: BootPolicy | null;
  vars: Record<string, unknown>;
  interfaces: Array<{ mac: string; ip: string | null }>;
  activeRun: { id: number; state: string } | null;
  lastSeenAt: number | null;
  lastSource: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface MachineFilter {
  /** Part of a hostname, serial, MAC (any spelling) or IP address (static, or of a lease). */
  search?: string;
  state?: MachineState;
  group?: string;
  label?: string;
  before?: number;
  limit: number;
}

export interface ImportRow {
  /** Where the row came from, for error messages: a CSV line number or a JSON array index. */
  where: string;
  input: MachineInput;
  /** Problems found while reading the row (a short CSV row), reported with the rest. */
  problems?: FieldError[];
}

/** Last-seen times are kept to the minute: a machine that boots in a loop, or an agent's heartbeat, is not a write each. */
export const LAST_SEEN_RESOLUTION_MS = 60_000;

// RFC 1123 host names, optionally dotted; a DHCP option 12 and a kernel command line both accept these.
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const ARCH = /^[a-z0-9_-]{1,32}$/;

export class MachineService {
  constructor(
    private readonly db: Db,
    private readonly bus: EventBus,
    private readonly changes: BootChanges,
    private readonly now: () => number = Date.now,
  ) {}

  /** A machine by numeric id, hostname or any of its MACs (in any accepted spelling). */
  resolveId(ref: string | number, db: Db | Tx = this.db): number {
    const text = String(ref).trim();
    let row: { id: number } | undefined;
    if (/^\d+$/.test(text)) row = db.select({ id: machines.id }).from(machines).where(eq(machines.id, Number(text))).get();
    else {
      const mac = parseMac(text);
      row = mac
        ? db.select({ id: interfaces.machineId }).from(interfaces).where(eq(interfaces.mac, mac)).get()
        : (db
            .select({ id: machines.id })
            .from(machines)
            .where(and(eq(machines.hostname, text.toLowerCase()), ne(machines.state, "retired")))
            .get() ?? db.select({ id: machines.id }).from(machines).where(eq(machines.hostname, text.toLowerCase())).orderBy(desc(machines.id)).get());
    }
    if (!row) throw notFound("machine", text);
    return row.id;
  }

  get(ref: string | number, db: Db | Tx = this.db): MachineRecord {
    const id = this.resolveId(ref, db);
    return this.records(db, [id])[0]!;
  }

  list(filter: MachineFilter): Page<MachineRecord> {
    const where: SQL[] = [];
    if (filter.state) where.push(eq(machines.state, filter.state));
    if (filter.group) {
      const group = this.db.select({ id: groups.id }).from(groups).where(eq(groups.name, filter.group)).get();
      if (!group) return { items: [], next: null };
      where.push(eq(machines.groupId, group.id));
    }
    if (filter.before !== undefined) where.push(lt(machines.id, filter.before));
    if (filter.search?.trim()) where.push(this.matching(filter.search.trim()));
    let ids = this.db
      .select({ id: machines.id, labels: machines.labels })
      .from(machines)
      .where(and(...where))
      .orderBy(desc(machines.id))
      .all();
    if (filter.label) {
      const cut = filter.label.indexOf("=");
      const [key, value] = cut < 0 ? [filter.label, undefined] : [filter.label.slice(0, cut), filter.label.slice(cut + 1)];
      ids = ids.filter((m) => (value === undefined ? key in m.labels : m.labels[key] === value));
    }
    const page = pageOf(ids.slice(0, filter.limit + 1), filter.limit);
    const records = new Map(this.records(this.db, page.items.map((m) => m.id)).map((r) => [r.id, r]));
    return { items: page.items.map((m) => records.get(m.id)!), next: page.next };
  }

  private matching(search: string): SQL {
    const text = search.toLowerCase();
    // MACs are stored lowercase with colons; an operator pastes them with dashes, dots (5254.0012.3456) or nothing.
    const hex = text.replace(/[-.:]/g, "");
    const like = (column: AnyColumn | SQL, value: string) => sql`${column} LIKE ${`%${value.replace(/[\\%_]/g, "\\$&")}%`} ESCAPE '\\'`;
    const byInterface = this.db
      .select({ id: interfaces.machineId })
      .from(interfaces)
      .leftJoin(leases, eq(leases.mac, interfaces.mac))
      .where(or(...(/^[0-9a-f]+$/.test(hex) ? [like(sql`replace(${interfaces.mac}, ':', '')`, hex)] : []), like(interfaces.ip, text), like(leases.ip, text)));
    return or(like(machines.hostname, text), like(machines.serial, search), inArray(machines.id, byInterface))!;
  }

  /** How many machines are in each state; every state is present, zero when none are in it. */
  countByState(): Record<MachineState, number> {
    const counts = Object.fromEntries(MACHINE_STATES.map((s) => [s, 0])) as Record<MachineState, number>;
    const rows = this.db.select({ state: machines.state, count: count() }).from(machines).groupBy(machines.state).all();
    for (const row of rows) counts[row.state] = row.count;
    return counts;
  }

  create(input: MachineInput, actor: Actor): MachineRecord {
    const at = this.now();
    const { record, event } = this.db.transaction((tx) => {
      const id = this.insert(tx, input, "ready", at, "");
      recordAudit(tx, actor, "machine.create", `machine:${id}`, { ...input }, at);
      const record = this.get(id, tx);
      return { record, event: this.bus.record("machine.created", `machine:${id}`, { hostname: record.hostname, state: record.state }) };
    });
    this.bus.deliver(event);
    return record;
  }

  update(ref: string, input: MachineInput, actor: Actor): MachineRecord {
    const at = this.now();
    const { record, event } = this.db.transaction((tx) => {
      const id = this.resolveId(ref, tx);
      const before = this.get(id, tx);
      const errors: FieldError[] = [];
      const fields = this.columns(tx, input, errors, "", id);
      if (input.interfaces) this.checkInterfaces(tx, input.interfaces, errors, "", id);
      if (errors.length > 0) throw rejection(`machine ${ref} was not changed`, errors);
      tx.update(machines).set({ ...fields, updatedAt: at }).where(eq(machines.id, id)).run();
      this.changes.machineChanged(id);
      if (input.interfaces) {
        tx.delete(interfaces).where(eq(interfaces.machineId, id)).run();
        this.insertInterfaces(tx, id, input.interfaces);
      }
      recordAudit(tx, actor, "machine.update", `machine:${id}`, { before: summary(before), changes: { ...input } }, at);
      const record = this.get(id, tx);
      return { record, event: this.bus.record("machine.updated", `machine:${id}`, { hostname: record.hostname, state: record.state }) };
    });
    this.bus.deliver(event);
    return record;
  }

  /** Retired machines keep their history but boot nothing goosed offers; a new machine may take their MACs. */
  retire(ref: string, actor: Actor): MachineRecord {
    const at = this.now();
    const { record, event } = this.db.transaction((tx) => {
      const id = this.resolveId(ref, tx);
      const active = tx.select({ id: runs.id }).from(runs).where(and(eq(runs.machineId, id), eq(runs.active, 1))).get();
      if (active) throw conflict("run-active", `machine ${ref} has run ${active.id} in progress; cancel it first with goosed machine cancel ${ref}`);
      const macs = tx.select({ mac: interfaces.mac }).from(interfaces).where(eq(interfaces.machineId, id)).all().map((i) => i.mac);
      tx.update(machines).set({ state: "retired", updatedAt: at }).where(eq(machines.id, id)).run();
      this.changes.machineChanged(id);
      tx.delete(interfaces).where(eq(interfaces.machineId, id)).run();
      recordAudit(tx, actor, "machine.retire", `machine:${id}`, { macs }, at);
      const record = this.get(id, tx);
      return { record, event: this.bus.record("machine.retired", `machine:${id}`, { hostname: record.hostname, macs }) };
    });
    this.bus.deliver(event);
    return record;
  }

  /**
   * All rows or none: every row is checked (and checked against the others) before anything is written, and a
   * failure names each bad row. `dryRun` checks and reports without writing.
   */
  import(rows: ImportRow[], options: { dryRun: boolean }, actor: Actor): { created: number; machines: MachineRecord[] } {
    const at = this.now();
    const errors: FieldError[] = [];
    // What earlier rows claimed: a MAC, hostname or reserved IP may appear on one row only.
    const claimed = new Map<string, string>();
    for (const row of rows) {
      const rowErrors: FieldError[] = [...(row.problems ?? [])];
      this.columns(this.db, row.input, rowErrors, "", null);
      this.checkInterfaces(this.db, row.input.interfaces ?? [], rowErrors, "", null);
      const claims = [
        ...(row.input.interfaces ?? []).flatMap((iface) => [
          { path: "/interfaces", what: "MAC", value: parseMac(iface.mac) },
          { path: "/interfaces", what: "IP", value: iface.ip ? parseIpv4(iface.ip) : null },
        ]),
        { path: "/hostname", what: "hostname", value: row.input.hostname?.toLowerCase() ?? null },
      ];
      for (const { path, what, value } of claims) {
        if (!value) continue;
        const first = claimed.get(`${what} ${value}`);
        if (first) rowErrors.push({ path, message: `${what} ${value} is also on ${first}` });
        else claimed.set(`${what} ${value}`, row.where);
      }
      for (const e of rowErrors) {
        const field = e.path.replace(/^\//, "");
        errors.push({ path: row.where, message: field ? `${field}: ${e.message}` : e.message });
      }
    }
    if (errors.length > 0) {
      const bad = new Set(errors.map((e) => e.path)).size;
      throw invalid(`${bad} of ${rows.length} row(s) are bad; nothing was imported`, errors);
    }
    if (options.dryRun) return { created: 0, machines: [] };
    const { records, event } = this.db.transaction((tx) => {
      const ids = rows.map((row) => this.insert(tx, row.input, "ready", at, row.where));
      recordAudit(tx, actor, "machine.import", `machines:${ids.length}`, { count: ids.length, ids }, at);
      return { records: this.records(tx, ids), event: this.bus.record("machine.imported", `machines:${ids.length}`, { count: ids.length }) };
    });
    this.bus.deliver(event);
    return { created: records.length, machines: records };
  }

  /** The newest facts snapshot an agent posted, or null when none has. */
  latestFacts(ref: string): { at: number; facts: Record<string, unknown> } | null {
    const id = this.resolveId(ref);
    return (
      this.db
        .select({ at: machineFacts.at, facts: machineFacts.facts })
        .from(machineFacts)
        .where(eq(machineFacts.machineId, id))
        .orderBy(desc(machineFacts.id))
        .limit(1)
        .get() ?? null
    );
  }

  /** Inserts a checked machine; `where` prefixes error paths (a CSV line) when called for an import row. */
  insert(tx: Tx, input: MachineInput, state: MachineState, at: number, where: string): number {
    const errors: FieldError[] = [];
    const fields = this.columns(tx, input, errors, where, null);
    this.checkInterfaces(tx, input.interfaces ?? [], errors, where, null);
    if (errors.length > 0) throw rejection("machine was not created", errors);
    const row = tx
      .insert(machines)
      .values({ labels: {}, vars: {}, ...fields, state, createdAt: at, updatedAt: at })
      .returning({ id: machines.id })
      .get();
    this.insertInterfaces(tx, row.id, input.interfaces ?? []);
    return row.id;
  }

  private insertInterfaces(tx: Tx, machineId: number, list: InterfaceInput[]): void {
    list.forEach((iface, position) => {
      tx.insert(interfaces)
        .values({ mac: parseMac(iface.mac)!, ip: iface.ip ? parseIpv4(iface.ip) : null, machineId, position })
        .run();
    });
  }

  /** Checks the scalar fields and turns names into ids; problems are appended to `errors`. */
  private columns(db: Db | Tx, input: MachineInput, errors: FieldError[], where: string, self: number | null) {
    const fields: Partial<typeof machines.$inferInsert> = {};
    const at = (path: string) => `${where}/${path}`;
    if (input.hostname !== undefined) {
      if (input.hostname !== null && !HOSTNAME.test(input.hostname)) {
        errors.push({ path: at("hostname"), message: `${JSON.stringify(input.hostname)} is not a valid host name (letters, digits, hyphens, dots)` });
      } else fields.hostname = input.hostname?.toLowerCase() ?? null;
    }
    if (input.serial !== undefined) fields.serial = input.serial || null;
    if (input.arch !== undefined) {
      if (input.arch && !ARCH.test(input.arch)) errors.push({ path: at("arch"), message: `${JSON.stringify(input.arch)} is not an architecture name` });
      else fields.arch = input.arch || null;
    }
    if (input.labels !== undefined) fields.labels = input.labels;
    if (input.vars !== undefined) fields.vars = input.vars;
    if (input.bootPolicy !== undefined) fields.bootPolicy = input.bootPolicy;
    if (input.group !== undefined) {
      if (input.group === null || input.group === "") fields.groupId = null;
      else {
        const group = db.select({ id: groups.id }).from(groups).where(eq(groups.name, input.group)).get();
        if (!group) errors.push({ path: at("group"), message: `no group named ${input.group}; create it with goosed group add` });
        else fields.groupId = group.id;
      }
    }
    if (input.profile !== undefined) {
      if (input.profile === null || input.profile === "") fields.profileId = null;
      else {
        const profile = db.select({ id: profiles.id }).from(profiles).where(eq(profiles.name, input.profile)).get();
        if (!profile) errors.push({ path: at("profile"), message: `no profile named ${input.profile}; see goosed profile list` });
        else fields.profileId = profile.id;
      }
    }
    if (fields.hostname) {
      const owner = db
        .select({ id: machines.id })
        .from(machines)
        .where(and(eq(machines.hostname, fields.hostname), ne(machines.state, "retired")))
        .get();
      if (owner && owner.id !== self) errors.push({ path: at("hostname"), message: `hostname ${fields.hostname} belongs to machine ${owner.id}` });
    }
    return fields;
  }

  /** MACs parse and belong to no other machine; reserved IPs parse and are not reserved twice. */
  private checkInterfaces(db: Db | Tx, list: InterfaceInput[], errors: FieldError[], where: string, self: number | null): void {
    const macs = new Set<string>();
    const ips = new Set<string>();
    list.forEach((iface, i) => {
      const mac = parseMac(iface.mac);
      const path = `${where}/interfaces/${i}`;
      if (!mac) {
        errors.push({ path: `${path}/mac`, message: `${JSON.stringify(iface.mac)} is not a MAC address; write it as ${MAC_SPELLINGS}` });
        return;
      }
      if (macs.has(mac)) errors.push({ path: `${path}/mac`, message: `MAC ${mac} is listed twice` });
      macs.add(mac);
      const owner = db
        .select({ id: machines.id, hostname: machines.hostname })
        .from(interfaces)
        .innerJoin(machines, eq(machines.id, interfaces.machineId))
        .where(eq(interfaces.mac, mac))
        .get();
      if (owner && owner.id !== self) errors.push({ path: `${path}/mac`, message: `MAC ${mac} belongs to machine ${owner.id}${owner.hostname ? ` (${owner.hostname})` : ""}` });
      if (iface.ip) {
        const ip = parseIpv4(iface.ip);
        if (!ip) errors.push({ path: `${path}/ip`, message: `${JSON.stringify(iface.ip)} is not an IPv4 address` });
        else if (ips.has(ip)) errors.push({ path: `${path}/ip`, message: `${ip} is listed twice` });
        else {
          ips.add(ip);
          const holder = db.select({ id: interfaces.machineId }).from(interfaces).where(eq(interfaces.ip, ip)).get();
          if (holder && holder.id !== self) errors.push({ path: `${path}/ip`, message: `${ip} is reserved for machine ${holder.id}` });
        }
      }
    });
  }

  private records(db: Db | Tx, ids: number[]): MachineRecord[] {
    if (ids.length === 0) return [];
    const rows = db
      .select({ machine: machines, group: groups.name, profile: profiles.name })
      .from(machines)
      .leftJoin(groups, eq(groups.id, machines.groupId))
      .leftJoin(profiles, eq(profiles.id, machines.profileId))
      .where(inArray(machines.id, ids))
      .all();
    const ifaces = db.select().from(interfaces).where(inArray(interfaces.machineId, ids)).orderBy(asc(interfaces.position)).all();
    const active = db
      .select({ id: runs.id, machineId: runs.machineId, state: runs.state })
      .from(runs)
      .where(and(inArray(runs.machineId, ids), eq(runs.active, 1)))
      .all();
    const byId = new Map(
      rows.map(({ machine, group, profile }) => [
        machine.id,
        {
          ...machine,
          group: group ?? null,
          profile: profile ?? null,
          interfaces: ifaces.filter((i) => i.machineId === machine.id).map((i) => ({ mac: i.mac, ip: i.ip })),
          activeRun: active.find((r) => r.machineId === machine.id) ?? null,
        },
      ]),
    );
    return ids.map((id) => {
      const { groupId: _g, profileId: _p, ...record } = byId.get(id)!;
      return { ...record, activeRun: record.activeRun ? { id: record.activeRun.id, state: record.activeRun.state } : null };
    });
  }
}

const TAKEN = / (belongs to|is reserved for) machine /;

/** Something already owned by another machine is a conflict (409 naming the owner), anything else a bad field (422). */
function rejection(what: string, errors: FieldError[]): AppError {
  if (errors.every((e) => TAKEN.test(e.message))) {
    return new AppError({ code: "already-owned", status: 409, title: "Already owned by another machine", detail: `${what}: ${errors.map((e) => e.message).join("; ")}` });
  }
  return invalid(`${what}; see errors`, errors);
}

const summary = (m: MachineRecord) => ({ hostname: m.hostname, group: m.group, profile: m.profile, state: m.state, macs: m.interfaces.map((i) => i.mac) });
