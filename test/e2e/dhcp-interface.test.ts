// goosed answers DHCP on the interface it was told to serve and on no other: a client on a second network of the
// same host, in reach of goosed's sockets, gets no offer and is not even counted, while one on the served network is.
// The serving goosed's DHCP and TFTP metrics pass promtool; a second DHCP server or an interface without an address
// stops goosed with one line that says what to do.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { childEnv, MAIN, type RunningGoosed, startGoosed, type TempDir, tempDir } from "../support/goosed.ts";
import { NetLab, type Netns } from "../support/netns.ts";
import { requireTool } from "../support/tools.ts";

let dir: TempDir;
let lab: NetLab;
let goosed: RunningGoosed;
let served: Netns;
let other: Netns;
let busybox: string;
let serverNs: Netns;
let servedIf: string;

beforeAll(async () => {
  busybox = requireTool("busybox", "busybox-static");
  dir = tempDir("goosed-dhcp-iface-");
  lab = new NetLab();
  const server = await lab.namespace("srv");
  serverNs = server;
  served = await lab.namespace("lan");
  other = await lab.namespace("oth");
  const link = await lab.hostSubnet();
  await lab.veth({ ns: null, name: lab.ifname("ha"), address: `${link.host}/${link.prefix}` }, { ns: server, name: lab.ifname("ga"), address: `${link.peer}/${link.prefix}` });
  servedIf = lab.ifname("gs");
  await lab.veth({ ns: server, name: servedIf, address: "10.76.0.1/24" }, { ns: served, name: lab.ifname("cs") });
  await lab.veth({ ns: server, name: lab.ifname("go"), address: "10.76.1.1/24" }, { ns: other, name: lab.ifname("co") });
  goosed = await startGoosed({
    dataDir: join(dir.path, "data"),
    netns: server.name,
    httpHost: link.peer,
    args: ["--dhcp-mode", "full", "--dhcp-interface", servedIf, "--dhcp-range", "10.76.0.100-10.76.0.110"],
  });
}, 60_000);

afterAll(async () => {
  await goosed?.stop();
  await lab?.[Symbol.asyncDispose]();
  await dir?.[Symbol.asyncDispose]();
});

/** busybox udhcpc once: three DISCOVERs a second apart, then give up; the address it was offered, or null. */
async function tryLease(ns: Netns, iface: string): Promise<string | null> {
  const proc = ns.spawn([busybox, "udhcpc", "-f", "-q", "-n", "-t", "3", "-T", "1", "-i", iface, "-s", "/bin/true"]);
  const [stderr, stdout] = await Promise.all([new Response(proc.stderr).text(), new Response(proc.stdout).text(), proc.exited]);
  return /lease of (\S+) obtained/.exec(stderr + stdout)?.[1] ?? null;
}

const discoversSeen = async () => {
  const metrics = await (await fetch(`${goosed.url}/metrics`)).text();
  return Number(/^goosed_dhcp_packets_received_total\{type="discover"\} (\d+)$/m.exec(metrics)?.[1] ?? 0);
};

test("a client on another interface of goosed's host gets nothing; one on the served interface gets a lease", async () => {
  expect(await tryLease(other, lab.ifname("co"))).toBeNull();
  expect(await discoversSeen()).toBe(0);
  const ip = await tryLease(served, lab.ifname("cs"));
  expect(ip).toStartWith("10.76.0.1");
  expect(await discoversSeen()).toBeGreaterThanOrEqual(1);
  // Where DHCP answers, as the status page's Overview lists it.
  const ready = (await (await fetch(`${goosed.url}/readyz`)).json()) as { services: Record<string, { listen?: unknown }> };
  expect(ready.services.dhcp!.listen).toEqual({ interface: servedIf, address: "10.76.0.1", port: "67, 4011" });
}, 60_000);

test("the DHCP and TFTP metrics of a serving goosed pass promtool check metrics", async () => {
  const promtool = requireTool("promtool", "prometheus");
  const text = await (await fetch(`${goosed.url}/metrics`)).text();
  expect(text).toMatch(/^goosed_dhcp_pool_addresses\{subnet="10\.76\.0\.0\/24",state="used"\} \d+$/m);
  expect(text).toMatch(/^goosed_dhcp_replies_sent_total\{type="offer"\} [1-9]\d*$/m);
  expect(text).toMatch(/^goosed_tftp_errors_total\{reason="file-not-found"\} 0$/m);
  const proc = Bun.spawn([promtool, "check", "metrics"], { stdin: new TextEncoder().encode(text), stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  expect(`${out}${err}`.trim()).toBe("");
  expect(code).toBe(0);
});

/** A second goosed in goosed's namespace, run to its exit: what the operator sees when DHCP cannot start. */
async function serveFails(args: string[]): Promise<{ code: number; stderr: string }> {
  await using data = tempDir("goosed-dhcp-fail-");
  const proc = serverNs.spawn(["bun", MAIN, "serve", "--data-dir", data.path, "--http-port", "0", "--http-host", "127.0.0.1", "--log-format", "json", ...args], { env: childEnv() });
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  return { code, stderr };
}

test("a second DHCP server on the same host is refused in one line that says what to do, and goosed exits 1", async () => {
  const { code, stderr } = await serveFails(["--dhcp-mode", "full", "--dhcp-interface", servedIf, "--dhcp-range", "10.76.0.120-10.76.0.130", "--tftp-mode", "off"]);
  expect(code).toBe(1);
  expect(stderr).toStartWith("goosed: cannot listen on UDP port 67 (");
  expect(stderr).toContain("stop any other DHCP server on this host (dnsmasq, isc-dhcp-server, kea)");
  expect(stderr.trim().split("\n")).toHaveLength(1);
}, 30_000);

test("an interface without an address is a configuration error (exit 2) naming the setting and the fix", async () => {
  const { code, stderr } = await serveFails(["--dhcp-mode", "proxy", "--dhcp-interface", "nosuch0"]);
  expect(code).toBe(2);
  expect(stderr).toContain("dhcp.interface: nosuch0 has no IPv4 address");
  expect(stderr).toContain("e.g. ip addr add 10.0.0.1/24 dev nosuch0");
}, 30_000);
