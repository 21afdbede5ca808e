// Lease storage on a real SQLite file: durable upserts through the group commit, events for what operators care
// about (not renewals), listing by address with filters and paging, and reservations that follow machine changes.
import { describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { type LeaseRow, SYSTEM_ACTOR } from "../../src/core/index.ts";
import { openTestCore, testLease } from "../support/core.ts";

const HOUR = 3_600_000;
const lease = testLease;

describe("LeaseService", () => {
  test("a saved lease is on disk once save resolves, seen by another connection", async () => {
    await using t = openTestCore();
    await t.core.leases.save(lease("10.9.0.100", "52:54:00:00:00:01", { hostname: "a" }), "granted");
    const other = new Database(join(t.dataDir, "goosed.db"), { readonly: true });
    expect(other.query("SELECT ip, mac, hostname, state FROM leases").all()).toEqual([{ ip: "10.9.0.100", mac: "52:54:00:00:00:01", hostname: "a", state: "bound" }]);
    other.close();
  });

  test("granted, released and declined publish events; a renewal does not", async () => {
    await using t = openTestCore();
    const first = lease("10.9.0.100", "52:54:00:00:00:01");
    await t.core.leases.save(first, "granted");
    await t.core.leases.save({ ...first, expiresAt: first.expiresAt + HOUR }, "renewed");
    await t.core.leases.save({ ...first, state: "released" }, "released");
    await t.core.leases.save(lease("10.9.0.101", "52:54:00:00:00:02", { state: "declined" }), "declined");
    expect(t.events.filter((e) => e.type.startsWith("lease.")).map((e) => [e.type, e.subject])).toEqual([
      ["lease.granted", "lease:10.9.0.100"],
      ["lease.released", "lease:10.9.0.100"],
      ["lease.declined", "lease:10.9.0.101"],
    ]);
  });

  test("listing sorts by address numerically, filters active and by MAC, and pages by address", async () => {
    await using t = openTestCore();
    const now = Date.now();
    await Promise.all([
      t.core.leases.save(lease("10.9.0.9", "52:54:00:00:00:09"), "granted"),
      t.core.leases.save(lease("10.9.0.10", "52:54:00:00:00:10"), "granted"),
      t.core.leases.save(lease("10.9.0.100", "52:54:00:00:00:64", { expiresAt: now - 1 }), "granted"),
      t.core.leases.save(lease("10.9.0.11", "52:54:00:00:00:11", { state: "released" }), "released"),
    ]);
    const all = t.core.leases.list({ limit: 10 });
    expect(all.items.map((l) => [l.ip, l.active])).toEqual([
      ["10.9.0.9", true],
      ["10.9.0.10", true],
      ["10.9.0.11", false],
      ["10.9.0.100", false],
    ]);
    expect(t.core.leases.list({ limit: 10, active: true }).items.map((l) => l.ip)).toEqual(["10.9.0.9", "10.9.0.10"]);
    expect(t.core.leases.list({ limit: 10, mac: "52:54:00:00:00:10" }).items.map((l) => l.ip)).toEqual(["10.9.0.10"]);
    const first = t.core.leases.list({ limit: 2 });
    expect(first.next).toBe("10.9.0.10");
    expect(t.core.leases.list({ limit: 2, after: first.next! }).items.map((l) => l.ip)).toEqual(["10.9.0.11", "10.9.0.100"]);
  });

  test("reservations and machine names follow machines: added, changed and retired", async () => {
    await using t = openTestCore();
    const { core } = t;
    const machine = core.machines.create({ hostname: "web-01", interfaces: [{ mac: "52:54:00:00:00:01", ip: "10.9.0.20" }] }, SYSTEM_ACTOR);
    expect(core.reservations.byMac("52:54:00:00:00:01")).toEqual({ ip: "10.9.0.20", hostname: "web-01" });
    expect(core.reservations.ownerOf("10.9.0.20")).toBe("52:54:00:00:00:01");
    core.machines.update(String(machine.id), { interfaces: [{ mac: "52:54:00:00:00:01", ip: "10.9.0.21" }] }, SYSTEM_ACTOR);
    expect(core.reservations.byMac("52:54:00:00:00:01")?.ip).toBe("10.9.0.21");
    expect(core.reservations.ownerOf("10.9.0.20")).toBeNull();
    core.machines.create({ hostname: "db-01", interfaces: [{ mac: "52:54:00:00:00:02" }] }, SYSTEM_ACTOR);
    expect(core.reservations.byMac("52:54:00:00:00:02")).toEqual({ ip: null, hostname: "db-01" });
    expect(core.reservations.all()).toEqual([{ mac: "52:54:00:00:00:01", ip: "10.9.0.21", hostname: "web-01" }]);
    core.machines.retire(String(machine.id), SYSTEM_ACTOR);
    expect(core.reservations.byMac("52:54:00:00:00:01")).toBeNull();
  });
});
