// What the DHCP server knows of a MAC: its machine's hostname and reserved address (the interface's `ip`). Read once
// into memory and re-read after any machine change (created, updated, imported, retired), so the per-packet lookup
// never touches SQLite.
import { eq, ne } from "drizzle-orm";
import { type Db, interfaces, machines } from "../db/index.ts";
import type { EventBus } from "./events.ts";

export interface Reservation {
  ip: string | null;
  hostname: string | null;
}

export class Reservations {
  private byMacMap: Map<string, Reservation> | null = null;
  private owners = new Map<string, string>();

  constructor(
    private readonly db: Db,
    bus: EventBus,
  ) {
    bus.subscribe((event) => {
      if (event.type.startsWith("machine.")) this.byMacMap = null;
    });
  }

  byMac(mac: string): Reservation | null {
    return this.load().get(mac) ?? null;
  }

  ownerOf(ip: string): string | null {
    this.load();
    return this.owners.get(ip) ?? null;
  }

  /** Every reserved address, for the dnsmasq export. */
  all(): Array<{ mac: string; ip: string; hostname: string | null }> {
    return [...this.load()].flatMap(([mac, r]) => (r.ip ? [{ mac, ip: r.ip, hostname: r.hostname }] : []));
  }

  private load(): Map<string, Reservation> {
    if (this.byMacMap) return this.byMacMap;
    const rows = this.db
      .select({ mac: interfaces.mac, ip: interfaces.ip, hostname: machines.hostname })
      .from(interfaces)
      .innerJoin(machines, eq(machines.id, interfaces.machineId))
      .where(ne(machines.state, "retired"))
      .all();
    this.byMacMap = new Map(rows.map((r) => [r.mac, { ip: r.ip, hostname: r.hostname }]));
    this.owners = new Map(rows.flatMap((r) => (r.ip ? [[r.ip, r.mac] as const] : [])));
    return this.byMacMap;
  }
}
