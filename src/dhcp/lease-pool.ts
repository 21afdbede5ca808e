// Which address a client gets: reservations, the client's own earlier lease, its requested address, then the pool.
// In memory and without I/O: the server saves what `commit` returns durably before it answers. Leases are keyed by
// MAC, whatever the client identifier, so a machine's PXE ROM, the iPXE it chains, its installer and its installed OS
// all hold one address (a boot storm does not burn two per machine).
import type { LeaseRow } from "../core/index.ts";
import { inNetwork, type Ipv4Network, ipv4ToNumber, numberToIpv4 } from "../lib/ipv4.ts";

/** A lease as core stores it; the pool works on the same rows it loads at start and hands back to be saved. */
export type Lease = LeaseRow;

export interface Subnet {
  network: Ipv4Network;
  /** First and last pool address, as numbers. */
  rangeStart: number;
  rangeEnd: number;
  leaseSeconds: number;
}

/** What goosed knows of a MAC: its machine's name, and the address reserved for it, if any. */
export interface Reservation {
  ip: string | null;
  hostname: string | null;
}

/** Machines' interfaces and the addresses operators reserved for them (core fills this from the machines table). */
export interface ReservationLookup {
  byMac(mac: string): Reservation | null;
  /** The MAC an address is reserved for, or null. */
  ownerOf(ip: string): string | null;
}

/** What a client asks for, as far as allocation cares. */
export interface ClientRef {
  mac: string;
  clientId: string | null;
  hostname: string | null;
}

export type Refusal = "wrong-network" | "address-taken" | "not-ours" | "reserved-elsewhere" | "unknown-client";
export type Granted = { ok: true; lease: Lease; hostname: string | null } | { ok: false; reason: Refusal };

/** How long an offered address is held for the client before it may go to another (RFC 2131 4.3.1 leaves it open). */
export const OFFER_HOLD_MS = 30_000;
/** A declined address is probably in use by a host goosed does not know; it stays out of the pool this long. */
export const DECLINE_QUARANTINE_MS = 3_600_000;

interface Hold {
  mac: string;
  untilMs: number;
}

export class LeasePool {
  private readonly byIp = new Map<number, Lease>();
  private readonly byMac = new Map<string, Lease>();
  private readonly holds = new Map<number, Hold>();
  private readonly heldFor = new Map<string, number>();
  private readonly cursors = new Map<Subnet, number>();

  constructor(
    readonly subnets: readonly Subnet[],
    private readonly reservations: ReservationLookup,
    existing: Iterable<Lease>,
  ) {
    for (const lease of existing) this.remember(lease);
  }

  /** The subnet an address (the interface's, or a relay's giaddr) lies in. */
  subnetOf(ip: string): Subnet | null {
    const n = ipv4ToNumber(ip);
    return this.subnets.find((s) => inNetwork(s.network, n)) ?? null;
  }

  leaseOf(mac: string): Lease | null {
    return this.byMac.get(mac) ?? null;
  }

  /** The address to offer, held for the client for OFFER_HOLD_MS; null when the pool is exhausted. */
  offer(subnet: Subnet, client: ClientRef, requested: string | null, nowMs: number): string | null {
    const ip = this.choose(subnet, client.mac, requested, nowMs);
    if (ip === null) return null;
    this.forgetOffer(client.mac);
    const n = ipv4ToNumber(ip);
    this.holds.set(n, { mac: client.mac, untilMs: nowMs + OFFER_HOLD_MS });
    this.heldFor.set(client.mac, n);
    return ip;
  }

  /** The client chose another server's offer (RFC 2131 4.3.2), or took ours: drop what we held for it. */
  forgetOffer(mac: string): void {
    const n = this.heldFor.get(mac);
    if (n === undefined) return;
    this.heldFor.delete(mac);
    if (this.holds.get(n)?.mac === mac) this.holds.delete(n);
  }

  /** Drops offers nobody took up; the server calls it now and then so a DISCOVER flood cannot grow memory. */
  sweep(nowMs: number): void {
    for (const [n, hold] of this.holds) {
      if (hold.untilMs > nowMs) continue;
      this.holds.delete(n);
      if (this.heldFor.get(hold.mac) === n) this.heldFor.delete(hold.mac);
    }
  }

  /**
   * A REQUEST for `ip` (selecting, init-reboot, renewing or rebinding). goosed is authoritative for its subnets: an
   * address that is free, or already this client's, is granted even without a record (a data directory restored from
   * an old backup must not strand clients); an address that is another's is refused so the client starts over.
   */
  request(subnet: Subnet, client: ClientRef, ip: string, nowMs: number): Granted {
    const n = ipv4ToNumber(ip);
    if (!inNetwork(subnet.network, n)) return { ok: false, reason: "wrong-network" };
    const reservation = this.reservationIn(subnet, client.mac);
    if (reservation && reservation.ip !== ip) return { ok: false, reason: "reserved-elsewhere" };
    if (!reservation) {
      if (n < subnet.rangeStart || n > subnet.rangeEnd) {
        // Outside the pool only a reservation (or a lease we made under an older range) justifies the address.
        const own = this.byIp.get(n);
        if (!own || own.mac !== client.mac) return { ok: false, reason: "not-ours" };
      }
      if (!this.freeFor(n, client.mac, nowMs, false)) return { ok: false, reason: "address-taken" };
    } else if (this.takenByOther(n, client.mac, nowMs)) {
      return { ok: false, reason: "address-taken" };
    }
    const previous = this.byMac.get(client.mac);
    const keepsStart = previous?.ip === ip && previous.state === "bound" && previous.expiresAt > nowMs;
    const lease: Lease = {
      ip,
      mac: client.mac,
      clientId: client.clientId,
      hostname: client.hostname ?? previous?.hostname ?? null,
      subnet: subnet.network.cidr,
      state: "bound",
      startsAt: keepsStart ? previous.startsAt : nowMs,
      expiresAt: nowMs + subnet.leaseSeconds * 1000,
    };
    this.forgetOffer(client.mac);
    this.remember(lease);
    return { ok: true, lease, hostname: this.hostnameOf(client.mac) };
  }

  /** DHCPRELEASE: the address stays the client's first choice next time, but is free for others now. */
  release(mac: string, ip: string, nowMs: number): Lease | null {
    const lease = this.byIp.get(ipv4ToNumber(ip));
    if (!lease || lease.mac !== mac || lease.state !== "bound") return null;
    const released: Lease = { ...lease, state: "released", expiresAt: nowMs };
    this.remember(released);
    return released;
  }

  /** DHCPDECLINE: another host answers on the address; quarantine it. */
  decline(mac: string, ip: string, nowMs: number): Lease | null {
    const n = ipv4ToNumber(ip);
    const subnet = this.subnets.find((s) => inNetwork(s.network, n));
    const lease = this.byIp.get(n);
    if (!subnet || (lease && lease.mac !== mac)) return null;
    const declined: Lease = {
      ip,
      mac,
      clientId: lease?.clientId ?? null,
      hostname: null,
      subnet: subnet.network.cidr,
      state: "declined",
      startsAt: nowMs,
      expiresAt: nowMs + DECLINE_QUARANTINE_MS,
    };
    this.forgetOffer(mac);
    this.byMac.delete(mac);
    this.remember(declined);
    return declined;
  }

  /** Addresses of the subnet's pool bound to a client right now, for the utilisation metric. */
  usedIn(subnet: Subnet, nowMs: number): number {
    let used = 0;
    for (const [n, lease] of this.byIp) {
      if (n >= subnet.rangeStart && n <= subnet.rangeEnd && lease.state !== "released" && lease.expiresAt > nowMs) used++;
    }
    return used;
  }

  private remember(lease: Lease): void {
    const n = ipv4ToNumber(lease.ip);
    const before = this.byIp.get(n);
    if (before && before.mac !== lease.mac && this.byMac.get(before.mac) === before) this.byMac.delete(before.mac);
    const old = this.byMac.get(lease.mac);
    if (old && old.ip !== lease.ip && lease.state !== "declined") this.byIp.delete(ipv4ToNumber(old.ip));
    this.byIp.set(n, lease);
    if (lease.state !== "declined") this.byMac.set(lease.mac, lease);
  }

  /** The name of the machine a MAC belongs to, handed out as option 12. */
  hostnameOf(mac: string): string | null {
    return this.reservations.byMac(mac)?.hostname ?? null;
  }

  private reservationIn(subnet: Subnet, mac: string): { ip: string } | null {
    const ip = this.reservations.byMac(mac)?.ip;
    return ip && inNetwork(subnet.network, ipv4ToNumber(ip)) ? { ip } : null;
  }

  private choose(subnet: Subnet, mac: string, requested: string | null, nowMs: number): string | null {
    const reservation = this.reservationIn(subnet, mac);
    if (reservation) return this.takenByOther(ipv4ToNumber(reservation.ip), mac, nowMs) ? this.fromPool(subnet, mac, nowMs) : reservation.ip;
    const own = this.byMac.get(mac);
    if (own && own.subnet === subnet.network.cidr && this.inRange(subnet, own.ip) && this.freeFor(ipv4ToNumber(own.ip), mac, nowMs, false)) return own.ip;
    if (requested && this.inRange(subnet, requested) && this.freeFor(ipv4ToNumber(requested), mac, nowMs, false)) return requested;
    return this.fromPool(subnet, mac, nowMs);
  }

  private inRange(subnet: Subnet, ip: string): boolean {
    const n = ipv4ToNumber(ip);
    return n >= subnet.rangeStart && n <= subnet.rangeEnd;
  }

  /**
   * Never-used addresses first, from a cursor that moves on (so consecutive clients do not collide on one address),
   * then addresses whose earlier holder's lease has run out.
   */
  private fromPool(subnet: Subnet, mac: string, nowMs: number): string | null {
    const size = subnet.rangeEnd - subnet.rangeStart + 1;
    const start = this.cursors.get(subnet) ?? 0;
    for (const reuse of [false, true]) {
      for (let i = 0; i < size; i++) {
        const offset = (start + i) % size;
        const n = subnet.rangeStart + offset;
        if (this.freeFor(n, mac, nowMs, reuse)) {
          this.cursors.set(subnet, (offset + 1) % size);
          return numberToIpv4(n);
        }
      }
    }
    return null;
  }

  /** Whether `n` may go to `mac`: not another's lease, hold, reservation or quarantine; `reuse` allows expired ones. */
  private freeFor(n: number, mac: string, nowMs: number, reuse: boolean): boolean {
    if (this.takenByOther(n, mac, nowMs)) return false;
    const owner = this.reservations.ownerOf(numberToIpv4(n));
    if (owner !== null && owner !== mac) return false;
    const lease = this.byIp.get(n);
    if (!lease || lease.mac === mac) return lease?.state !== "declined" || lease.expiresAt <= nowMs;
    return reuse;
  }

  private takenByOther(n: number, mac: string, nowMs: number): boolean {
    const hold = this.holds.get(n);
    if (hold && hold.mac !== mac && hold.untilMs > nowMs) return true;
    const lease = this.byIp.get(n);
    if (!lease || lease.expiresAt <= nowMs) return false;
    return lease.state === "declined" || (lease.state === "bound" && lease.mac !== mac);
  }
}
