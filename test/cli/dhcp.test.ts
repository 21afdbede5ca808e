// `goosed lease list` and `goosed dhcp export-dnsmasq` against a real goosed (DHCP off, as beside dnsmasq).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { type CliHarness, startCli } from "./harness.ts";

let h: CliHarness;

beforeAll(async () => {
  h = await startCli();
  const added = await h.cli("machine", "add", "--hostname", "web-01", "--mac", "52:54:00:00:00:01", "--ip", "10.0.0.20");
  if (added.code !== 0) throw new Error(added.stderr);
  // Leases arrive only through DHCP; here a second connection writes them, as goosed's own writer would.
  const db = new Database(join(h.goosed.dataDir, "goosed.db"));
  const now = Date.now();
  const insert = db.prepare(
    "INSERT INTO leases (ip, ip_number, mac, client_id, hostname, subnet, state, starts_at, expires_at, updated_at) VALUES (?, ?, ?, NULL, ?, '10.0.0.0/24', ?, ?, ?, ?)",
  );
  insert.run("10.0.0.101", 0x0a000065, "52:54:00:00:00:02", "node02", "bound", now - 60_000, now + 3_540_000, now);
  insert.run("10.0.0.100", 0x0a000064, "52:54:00:00:00:03", null, "released", now - 120_000, now - 60_000, now);
  db.close();
});
afterAll(async () => {
  await h[Symbol.asyncDispose]();
});

describe("goosed lease list", () => {
  test("lists leases by address with their state", async () => {
    const { stdout, code } = await h.cli("lease", "list");
    expect(code).toBe(0);
    const rows = stdout.trim().split("\n").map((l) => l.split(/\s{2,}/));
    expect(rows.map((r) => r.slice(0, 4))).toEqual([
      ["IP", "MAC", "HOSTNAME", "STATE"],
      ["10.0.0.100", "52:54:00:00:00:03", "-", "released"],
      ["10.0.0.101", "52:54:00:00:00:02", "node02", "bound"],
    ]);
  });

  test("--active and --mac filter; a bad MAC is one clear line", async () => {
    const active = await h.json<Array<{ ip: string }>>("lease", "list", "--active");
    expect(active.map((l) => l.ip)).toEqual(["10.0.0.101"]);
    const byMac = await h.json<Array<{ ip: string }>>("lease", "list", "--mac", "52-54-00-00-00-03");
    expect(byMac.map((l) => l.ip)).toEqual(["10.0.0.100"]);
    const bad = await h.cli("lease", "list", "--mac", "nope");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('goosed: mac: "nope" is not a MAC address\n');
  });
});

describe("goosed dhcp export-dnsmasq", () => {
  test("full mode names the pool, the boot script at goosed's address and the reservation", async () => {
    const { stdout, code } = await h.cli("dhcp", "export-dnsmasq", "--interface", "eth1", "--range", "10.0.0.100-10.0.0.199", "--server", "10.0.0.1");
    expect(code).toBe(0);
    expect(stdout).toContain("dhcp-range=10.0.0.100,10.0.0.199,3600s\n");
    expect(stdout).toContain(`dhcp-boot=tag:ipxe,${h.goosed.url}/boot/boot.ipxe?mac=\${mac}&arch=\${buildarch}\n`);
    expect(stdout).toContain("dhcp-boot=tag:!ipxe,tag:bios,undionly.kpxe,,10.0.0.1\n");
    expect(stdout).toContain("dhcp-host=52:54:00:00:00:01,10.0.0.20,web-01\n");
  });

  test("what is missing is said in one line with the flag to add", async () => {
    expect(await h.cli("dhcp", "export-dnsmasq", "--range", "10.0.0.100-10.0.0.199")).toEqual({
      stdout: "",
      stderr: "goosed: name dnsmasq's interface: ?interface=eth1 (goosed export-dnsmasq --interface eth1)\n",
      code: 1,
    });
    const proxy = await h.cli("dhcp", "export-dnsmasq", "--mode", "proxy", "--interface", "eth1");
    expect(proxy.stderr).toBe("goosed: proxy mode needs the lab network's address: ?network=10.0.0.0 (--network)\n");
    const mode = await h.cli("dhcp", "export-dnsmasq", "--mode", "relay");
    expect(mode.code).toBe(2);
  });
});
