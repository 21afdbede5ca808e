// The allocator without sockets or clock: reservations, stickiness, holds, exhaustion, decline quarantine, release.
import { describe, expect, test } from "bun:test";
import { DECLINE_QUARANTINE_MS, LeasePool, OFFER_HOLD_MS, type Lease, type ReservationLookup, type Subnet } from "../../src/dhcp/lease-pool.ts";
import { ipv4ToNumber, networkOf } from "../../src/lib/ipv4.ts";

const NOW = 1_800_000_000_000;
const subnet = (first: string, last: string, leaseSeconds = 3600): Subnet => ({
  network: networkOf("10.9.0.1", 24),
  rangeStart: ipv4ToNumber(first),
  rangeEnd: ipv4ToNumber(last),
  leaseSeconds,
});
const reservations = (entries: Record<string, string> = {}): ReservationLookup => ({
  byMac: (mac) => (entries[mac] ? { ip: entries[mac]!, hostname: `host-${mac.slice(-2)}` } : null),
  ownerOf: (ip) => Object.entries(entries).find(([, r]) => r === ip)?.[0] ?? null,
});
const client = (n: number) => ({ mac: `52:54:00:00:00:${n.toString(16).padStart(2, "0")}`, clientId: null, hostname: null });

function bind(pool: LeasePool, s: Subnet, c: ReturnType<typeof client>, nowMs = NOW): Lease {
  const ip = pool.offer(s, c, null, nowMs);
  if (!ip) throw new Error("no offer");
  const granted = pool.request(s, c, ip, nowMs);
  if (!granted.ok) throw new Error(granted.reason);
  return granted.lease;
}

describe("LeasePool", () => {
  test("two clients never share an address, and each keeps its own on the next DISCOVER", () => {
    const s = subnet("10.9.0.100", "10.9.0.104");
    const pool = new LeasePool([s], reservations(), []);
    const a = bind(pool, s, client(1));
    const b = bind(pool, s, client(2));
    expect(a.ip).not.toBe(b.ip);
    expect(pool.offer(s, client(1), null, NOW + 1000)).toBe(a.ip);
    expect(pool.offer(s, client(2), "10.9.0.100", NOW + 1000)).toBe(b.ip);
  });

  test("an offered address is held for its client until OFFER_HOLD_MS passes", () => {
    const s = subnet("10.9.0.100", "10.9.0.100");
    const pool = new LeasePool([s], reservations(), []);
    expect(pool.offer(s, client(1), null, NOW)).toBe("10.9.0.100");
    expect(pool.offer(s, client(2), null, NOW + OFFER_HOLD_MS - 1)).toBeNull();
    expect(pool.request(s, client(2), "10.9.0.100", NOW + 1)).toEqual({ ok: false, reason: "address-taken" });
    expect(pool.offer(s, client(2), null, NOW + OFFER_HOLD_MS)).toBe("10.9.0.100");
  });

  test("an exhausted pool makes no offer; an expired lease is reused only after never-used addresses", () => {
    const s = subnet("10.9.0.100", "10.9.0.101", 60);
    const pool = new LeasePool([s], reservations(), []);
    bind(pool, s, client(1));
    bind(pool, s, client(2));
    expect(pool.offer(s, client(3), null, NOW + 1000)).toBeNull();
    const later = NOW + 61_000;
    const reused = pool.offer(s, client(3), null, later);
    expect(["10.9.0.100", "10.9.0.101"]).toContain(reused!);
  });

  test("a reserved machine always gets its reserved address, and nobody else does", () => {
    const s = subnet("10.9.0.100", "10.9.0.101");
    const owner = client(7);
    const pool = new LeasePool([s], reservations({ [owner.mac]: "10.9.0.100" }), []);
    expect(pool.offer(s, client(1), "10.9.0.100", NOW)).toBe("10.9.0.101");
    expect(pool.request(s, client(2), "10.9.0.100", NOW)).toEqual({ ok: false, reason: "address-taken" });
    expect(pool.offer(s, owner, "10.9.0.101", NOW)).toBe("10.9.0.100");
    expect(pool.request(s, owner, "10.9.0.101", NOW)).toEqual({ ok: false, reason: "reserved-elsewhere" });
    const granted = pool.request(s, owner, "10.9.0.100", NOW);
    expect(granted.ok && granted.hostname).toBe("host-07");
  });

  test("a reservation outside the range is granted; an unreserved address outside it is not ours", () => {
    const s = subnet("10.9.0.100", "10.9.0.110");
    const owner = client(7);
    const pool = new LeasePool([s], reservations({ [owner.mac]: "10.9.0.20" }), []);
    expect(pool.request(s, owner, "10.9.0.20", NOW).ok).toBe(true);
    expect(pool.request(s, client(1), "10.9.0.21", NOW)).toEqual({ ok: false, reason: "not-ours" });
    expect(pool.request(s, client(1), "10.9.1.5", NOW)).toEqual({ ok: false, reason: "wrong-network" });
  });

  test("a declined address is quarantined, then comes back", () => {
    const s = subnet("10.9.0.100", "10.9.0.100");
    const pool = new LeasePool([s], reservations(), []);
    const lease = bind(pool, s, client(1));
    expect(pool.decline(client(1).mac, lease.ip, NOW + 10)?.state).toBe("declined");
    expect(pool.offer(s, client(1), null, NOW + 20)).toBeNull();
    expect(pool.offer(s, client(2), null, NOW + 20)).toBeNull();
    expect(pool.offer(s, client(2), null, NOW + 10 + DECLINE_QUARANTINE_MS)).toBe(lease.ip);
  });

  test("a released address goes to another client only when no never-used one is left, and back to its owner first", () => {
    const s = subnet("10.9.0.100", "10.9.0.101");
    const pool = new LeasePool([s], reservations(), []);
    const lease = bind(pool, s, client(1));
    expect(pool.release(client(1).mac, lease.ip, NOW + 5)?.state).toBe("released");
    expect(pool.release(client(2).mac, lease.ip, NOW + 5)).toBeNull();
    const other = pool.offer(s, client(2), null, NOW + 6);
    expect(other).not.toBe(lease.ip);
    expect(pool.offer(s, client(1), null, NOW + 7)).toBe(lease.ip);
  });

  test("renewing keeps the lease's start and moves its expiry", () => {
    const s = subnet("10.9.0.100", "10.9.0.100", 100);
    const pool = new LeasePool([s], reservations(), []);
    const lease = bind(pool, s, client(1));
    const renewed = pool.request(s, client(1), lease.ip, NOW + 50_000);
    expect(renewed).toEqual({ ok: true, lease: { ...lease, expiresAt: NOW + 150_000 }, hostname: null });
  });

  test("leases loaded at start are honoured", () => {
    const s = subnet("10.9.0.100", "10.9.0.101");
    const existing: Lease = { ip: "10.9.0.100", mac: client(1).mac, clientId: null, hostname: "a", subnet: "10.9.0.0/24", state: "bound", startsAt: NOW - 10, expiresAt: NOW + 1000 };
    const pool = new LeasePool([s], reservations(), [existing]);
    expect(pool.offer(s, client(2), "10.9.0.100", NOW)).toBe("10.9.0.101");
    expect(pool.offer(s, client(1), null, NOW)).toBe("10.9.0.100");
    expect(pool.usedIn(s, NOW)).toBe(1);
  });

  test("a client that chose another server's offer frees what we held", () => {
    const s = subnet("10.9.0.100", "10.9.0.100");
    const pool = new LeasePool([s], reservations(), []);
    pool.offer(s, client(1), null, NOW);
    pool.forgetOffer(client(1).mac);
    expect(pool.offer(s, client(2), null, NOW + 1)).toBe("10.9.0.100");
  });
});
