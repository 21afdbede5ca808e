// dhclient, busybox udhcpc and dhcpcd against goosed's own DHCP server on one bridged segment built here: each gets a
// lease in the range, renews it at T1 by itself and releases it; clients at once never share an address; a reserved
// machine gets its reserved address, inside the range or outside it; an address another host answers on is declined.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ipv4ToNumber } from "../../src/lib/ipv4.ts";
import { api, REPO_ROOT, type RunningGoosed, runGoosed, startGoosed, type TempDir, tempDir } from "../support/goosed.ts";
import { json } from "../support/http.ts";
import { NetLab, type Netns, type Spawned } from "../support/netns.ts";
import { dataOf, type SseFrame, SseReader } from "../support/sse.ts";
import { requireTool } from "../support/tools.ts";
import { LineLog } from "../support/vm.ts";

const FIXTURES = join(REPO_ROOT, "test/fixtures/dhcp-clients");
const SERVER_IP = "10.74.0.1";
const PREFIX = 24;
const SUBNET = "10.74.0.0/24";
const RANGE_FIRST = "10.74.0.100";
const RANGE_LAST = "10.74.0.150";
// Short enough that every client renews by itself at T1, half of it (RFC 2131 4.4.5), while we watch; no shorter,
// because clients raise short leases: busybox udhcpc takes anything under 30 s as 30 s, dhcpcd under 20 s as 20 s, so
// with goosed's 10 s minimum both would first renew after goosed's lease had already run out.
const LEASE_SECONDS = 30;
// Bounds on waiting, never asserted durations. Binding takes dhcpcd longest: its RFC 5227 ARP probe alone is ~5 s.
const BIND_TIMEOUT_MS = 25_000;
// T1 is 15 s after the ACK; a renewal not seen by T2 (26.25 s) would have become a rebind.
const RENEW_TIMEOUT_MS = 26_000;
const SETTLE_TIMEOUT_MS = 10_000;
const POLL_MS = 200;
const TEST_TIMEOUT_MS = 90_000;

type Kind = "dhclient" | "udhcpc" | "dhcpcd";
const KINDS: Kind[] = ["dhclient", "udhcpc", "dhcpcd"];
/** The word each client's script logs when the client accepted a renewal ACK. */
const RENEW_EVENT: Record<Kind, string> = { dhclient: "RENEW", udhcpc: "renew", dhcpcd: "RENEW" };
// The scripts run `ip`; udhcpc and dhcpcd hand them our environment, so it must name where ip lives.
const SCRIPT_PATH = "/usr/sbin:/usr/bin:/sbin:/bin";

interface Lease {
  ip: string;
  mac: string;
  clientId: string | null;
  hostname: string | null;
  subnet: string;
  state: "bound" | "released" | "declined";
  active: boolean;
  startsAt: string;
  expiresAt: string;
}

/** One client machine: its own namespace, one veth to the segment's bridge, a fixed MAC so we know its leases. */
interface Station {
  kind: Kind;
  ns: Netns;
  iface: string;
  mac: string;
  hostname: string | null;
  dir: string;
  /** Where the client's script appends "<event> <address>". */
  eventsFile: string;
}

interface Client extends AsyncDisposable {
  station: Station;
  /** DHCPRELEASE, sent the client's own way. */
  release(): Promise<void>;
  /** What the client's script logged so far. */
  events(): string[];
  /** Its output and events, for a failure message. */
  report(): string;
}

let dir: TempDir;
let lab: NetLab;
let segment: Netns;
let bridge: string;
let goosed: RunningGoosed;
let leaseEvents: SseReader;
let stations = 0;
const tools = {} as Record<"dhclient" | "busybox" | "dhcpcd" | "unshare", string>;

beforeAll(async () => {
  tools.dhclient = requireTool("dhclient", "isc-dhcp-client");
  tools.busybox = requireTool("busybox", "busybox-static");
  tools.dhcpcd = requireTool("dhcpcd", "dhcpcd5");
  tools.unshare = requireTool("unshare", "util-linux");
  dir = tempDir("goosed-dhcp-clients-");
  lab = new NetLab();
  const server = await lab.namespace("gd");
  segment = await lab.namespace("lan");
  bridge = lab.ifname("br");
  await lab.bridge(segment, bridge);
  const link = await lab.hostSubnet();
  await lab.veth({ ns: null, name: lab.ifname("ha"), address: `${link.host}/${link.prefix}` }, { ns: server, name: lab.ifname("ga"), address: `${link.peer}/${link.prefix}` });
  const goosedIf = lab.ifname("gl");
  await lab.veth({ ns: server, name: goosedIf, address: `${SERVER_IP}/${PREFIX}` }, { ns: segment, name: lab.ifname("gb"), master: bridge });
  goosed = await startGoosed({
    dataDir: join(dir.path, "data"),
    netns: server.name,
    httpHost: link.peer,
    args: [
      ...["--dhcp-mode", "full", "--dhcp-interface", goosedIf, "--dhcp-range", `${RANGE_FIRST}-${RANGE_LAST}`],
      ...["--dhcp-router", SERVER_IP, "--dhcp-dns", SERVER_IP, "--dhcp-domain", "lab.test", "--dhcp-lease-seconds", String(LEASE_SECONDS)],
      // These clients boot nothing; TFTP would only be another listener to go wrong.
      ...["--tftp-mode", "off", "--log-level", "debug"],
    ],
  });
  leaseEvents = await SseReader.open(`${goosed.url}/v1/events?types=lease`, { authorization: `Bearer ${goosed.token}` });
}, 60_000);

afterAll(async () => {
  await leaseEvents?.[Symbol.asyncDispose]();
  await goosed?.stop();
  await lab?.[Symbol.asyncDispose]();
  await dir?.[Symbol.asyncDispose]();
});

/** A new client namespace on the segment whose interface has `mac`. */
async function station(kind: Kind, mac: string, hostname: string | null = null): Promise<Station> {
  const n = ++stations;
  // Namespace roles are letters only: the kind and a letter per station.
  const ns = await lab.namespace(`${kind}${String.fromCharCode(96 + n)}`);
  const iface = lab.ifname(`c${n}`);
  await lab.veth({ ns, name: iface }, { ns: segment, name: lab.ifname(`b${n}`), master: bridge });
  await ns.ip("link", "set", iface, "down");
  await ns.ip("link", "set", iface, "address", mac);
  await ns.ip("link", "set", iface, "up");
  const stationDir = join(dir.path, `${kind}-${n}`);
  mkdirSync(stationDir);
  return { kind, ns, iface, mac, hostname, dir: stationDir, eventsFile: join(stationDir, "events") };
}

/** Starts the station's client in the foreground with `extraArgs`; it configures the address (dhcpcd) or its script does. */
function startClient(s: Station, extraArgs: string[] = []): Client {
  const env = { PATH: SCRIPT_PATH, EVENTS_FILE: s.eventsFile };
  let proc: Spawned;
  let release: () => Promise<void>;
  if (s.kind === "dhclient") {
    const conf = join(s.dir, "dhclient.conf");
    writeFileSync(conf, s.hostname ? `send host-name "${s.hostname}";\n` : "");
    // dhclient runs its script with an environment of its own making; -e adds to it.
    const common = ["-4", "-cf", conf, "-sf", join(FIXTURES, "dhclient.sh"), "-pf", join(s.dir, "pid"), "-lf", join(s.dir, "leases"), "-e", `EVENTS_FILE=${s.eventsFile}`];
    proc = s.ns.spawn([tools.dhclient, "-d", "-v", ...common, ...extraArgs, s.iface], { env });
    // dhclient(8) -r: stops the running client named in the pid file and releases the lease in the lease file.
    release = async () => void (await s.ns.exec([tools.dhclient, "-r", "-v", ...common, s.iface]));
  } else if (s.kind === "udhcpc") {
    const hostname = s.hostname ? ["-x", `hostname:${s.hostname}`] : [];
    proc = s.ns.spawn([tools.busybox, "udhcpc", "-f", "-i", s.iface, "-s", join(FIXTURES, "udhcpc.sh"), ...hostname, ...extraArgs], { env });
    // udhcpc: SIGUSR2 releases the lease and deconfigures the interface; the process stays up, idle.
    release = async () => void proc.kill("SIGUSR2");
  } else {
    // dhcpcd keeps its pid file and control socket under /run/dhcpcd and its leases and DUID under /var/lib/dhcpcd,
    // the host's own directories; a private mount namespace gives it empty ones that vanish with it. unshare, sh and
    // dhcpcd each exec in place, so the spawned pid is dhcpcd's and our signals reach it.
    const hostname = s.hostname ? ["-h", s.hostname] : [];
    const dhcpcd = [tools.dhcpcd, "-B", "-4", "-f", "/dev/null", "--noipv4ll", "--script", join(FIXTURES, "dhcpcd.sh"), "--env", `EVENTS_FILE=${s.eventsFile}`];
    const privateDirs = 'mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /var/lib/dhcpcd && exec "$@"';
    proc = s.ns.spawn([tools.unshare, "--mount", "--propagation", "private", "sh", "-c", privateDirs, "sh", ...dhcpcd, ...hostname, ...extraArgs, s.iface], { env });
    // dhcpcd(8): SIGALRM releases the lease and exits.
    release = async () => void proc.kill("SIGALRM");
  }
  const output = [new LineLog(proc.stdout), new LineLog(proc.stderr)];
  const events = () => (existsSync(s.eventsFile) ? readFileSync(s.eventsFile, "utf8").split("\n").filter(Boolean) : []);
  return {
    station: s,
    release,
    events,
    report: () => {
      const lines = output.flatMap((log) => log.lines).sort((a, b) => a.atMs - b.atMs);
      const goosedLines = goosed.logs.filter((entry) => entry.component === "dhcp").slice(-30);
      return [
        `${s.kind} ${s.mac} on ${s.iface} (exit ${proc.exitCode ?? proc.signalCode ?? "running"}):`,
        ...lines.map((line) => `  ${line.text}`),
        `script events: ${events().join(", ")}`,
        "goosed dhcp log:",
        ...goosedLines.map((entry) => `  ${JSON.stringify(entry)}`),
      ].join("\n");
    },
    [Symbol.asyncDispose]: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      await proc.exited;
      await Promise.all(output.map((log) => log.ended));
    },
  };
}

/** Polls `probe` until it gives a value, for at most `timeoutMs`; the error names what never came and shows `context`. */
async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined, context: () => string = () => ""): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms\n${context()}`);
    await Bun.sleep(POLL_MS);
  }
}

/** The IPv4 address on the station's interface as the kernel has it: what the client really configured. */
async function addressOf(s: Station): Promise<{ ip: string; prefix: number } | null> {
  const match = /\binet (\d+\.\d+\.\d+\.\d+)\/(\d+)/.exec(await s.ns.ip("-4", "-o", "addr", "show", "dev", s.iface));
  return match ? { ip: match[1]!, prefix: Number(match[2]) } : null;
}

const boundAddress = (client: Client) =>
  until(`address on ${client.station.kind}'s ${client.station.iface}`, BIND_TIMEOUT_MS, async () => (await addressOf(client.station)) ?? undefined, client.report);

const byAddress = <T extends { ip: string }>(items: T[]) => [...items].sort((a, b) => ipv4ToNumber(a.ip) - ipv4ToNumber(b.ip));

const inRange = (ip: string) => ipv4ToNumber(ip) >= ipv4ToNumber(RANGE_FIRST) && ipv4ToNumber(ip) <= ipv4ToNumber(RANGE_LAST);

async function leasesOf(mac: string): Promise<Lease[]> {
  return (await json<{ items: Lease[] }>(api(goosed, `/v1/leases?mac=${mac}`), 200)).items;
}

/** goosed's lease for `mac` at `ip` once `accept` holds for it. */
function leaseWhen(client: Client, ip: string, what: string, accept: (lease: Lease) => boolean, timeoutMs = SETTLE_TIMEOUT_MS): Promise<Lease> {
  const mac = client.station.mac;
  return until(`${what} lease of ${ip} for ${mac}`, timeoutMs, async () => (await leasesOf(mac)).find((l) => l.ip === ip && accept(l)), client.report);
}

/** The renewal goosed recorded: same lease, later expiry, once the client renewed by itself at T1. */
async function renewal(client: Client, granted: Lease): Promise<Lease> {
  const renewed = await leaseWhen(client, granted.ip, "renewed", (l) => Date.parse(l.expiresAt) > Date.parse(granted.expiresAt), RENEW_TIMEOUT_MS);
  // A renewal keeps the lease's start: a client that started over with DISCOVER would show a new startsAt.
  expect(renewed).toEqual({ ...granted, expiresAt: renewed.expiresAt });
  // ...and the client took the ACK: its script ran its renew event with the same address.
  const word = `${RENEW_EVENT[client.station.kind]} ${granted.ip}`;
  await until(`${word} from ${client.station.kind}'s script`, SETTLE_TIMEOUT_MS, () => (client.events().includes(word) ? true : undefined), client.report);
  return renewed;
}

/** The lease event of `type` for `mac`, from the stream opened when goosed started. */
function leaseEvent(type: string, mac: string, ip: string): Promise<SseFrame> {
  const matches = (f: SseFrame) => f.event === type && dataOf(f).data?.mac === mac && dataOf(f).data?.ip === ip;
  return until(`${type} event for ${mac} at ${ip}`, SETTLE_TIMEOUT_MS, () => leaseEvents.frames.find(matches), () => JSON.stringify(leaseEvents.frames));
}

// The three run at once, so their T1 waits overlap; each has its own station and MAC.
describe("each client", () => {
  test.concurrent.each(KINDS.map((kind, i) => ({ kind, mac: `52:54:00:74:00:0${i + 1}` })))(
    "$kind gets a lease in the range, renews it at T1 by itself and releases it",
    async ({ kind, mac }) => {
      const s = await station(kind, mac, `${kind}-one`);
      await using client = startClient(s);

      const bound = await boundAddress(client);
      expect(bound.prefix).toBe(PREFIX);
      expect(inRange(bound.ip)).toBe(true);
      const granted = await leaseWhen(client, bound.ip, "bound", (l) => l.state === "bound");
      const { clientId: _clientId, ...grantedView } = granted;
      expect(grantedView).toEqual({
        ip: bound.ip,
        mac,
        hostname: `${kind}-one`,
        subnet: SUBNET,
        state: "bound",
        active: true,
        startsAt: expect.any(String),
        expiresAt: expect.any(String),
      });
      expect(Date.parse(granted.expiresAt) - Date.parse(granted.startsAt)).toBe(LEASE_SECONDS * 1000);
      expect(dataOf(await leaseEvent("lease.granted", mac, bound.ip)).subject).toBe(`lease:${bound.ip}`);
      // The client took goosed's options as configured (its script logs them).
      const options = `options router=${SERVER_IP} dns=${SERVER_IP} domain=lab.test lease=${LEASE_SECONDS}`;
      await until(`"${options}" from ${kind}'s script`, SETTLE_TIMEOUT_MS, () => (client.events().includes(options) ? true : undefined), client.report);

      await renewal(client, granted);
      expect(await addressOf(s)).toEqual(bound);

      await client.release();
      const released = await leaseWhen(client, bound.ip, "released", (l) => l.state === "released");
      expect({ ip: released.ip, mac: released.mac, state: released.state, active: released.active }).toEqual({ ip: bound.ip, mac, state: "released", active: false });
      await leaseEvent("lease.released", mac, bound.ip);
      await until(`${kind} to deconfigure ${s.iface}`, SETTLE_TIMEOUT_MS, async () => ((await addressOf(s)) === null ? true : undefined), client.report);
    },
    TEST_TIMEOUT_MS,
  );
});

describe("clients together", () => {
  test(
    "dhclient, udhcpc and dhcpcd started at once get three different addresses, as goosed and its CLI show",
    async () => {
      await using stack = new AsyncDisposableStack();
      const all = await Promise.all(KINDS.map((kind, i) => station(kind, `52:54:00:74:00:1${i + 1}`, `${kind}-together`)));
      const clients = all.map((s) => stack.use(startClient(s)));
      const bound = await Promise.all(clients.map(boundAddress));
      const ips = bound.map((b) => b.ip);
      expect(new Set(ips).size).toBe(clients.length);
      expect(ips.every(inRange)).toBe(true);

      // goosed agrees: each address is bound to its own MAC and to no other.
      const { items: active } = await json<{ items: Lease[] }>(api(goosed, "/v1/leases?active=true"), 200);
      for (const [i, client] of clients.entries()) {
        expect(active.filter((l) => l.ip === ips[i]).map((l) => l.mac)).toEqual([client.station.mac]);
      }


      // The CLI view shows the same three leases.
      const cli = await runGoosed(["lease", "list", "--active", "--json"], { GOOSED_API: goosed.url, GOOSED_TOKEN: goosed.token });
      expect(cli.stderr).toBe("");
      expect(cli.code).toBe(0);
      const listed = (JSON.parse(cli.stdout) as Lease[]).filter((l) => ips.includes(l.ip)).map((l) => ({ ip: l.ip, mac: l.mac }));
      expect(listed).toEqual(byAddress(clients.map((c, i) => ({ ip: ips[i]!, mac: c.station.mac }))));
    },
    TEST_TIMEOUT_MS,
  );
});

describe("reservations", () => {
  test(
    "a reserved machine gets exactly its reserved address, outside the range or inside it, and keeps it when renewing",
    async () => {
      const reserved: Array<{ kind: Kind; mac: string; ip: string }> = [
        { kind: "dhclient", mac: "52:54:00:74:00:21", ip: "10.74.0.20" },
        { kind: "udhcpc", mac: "52:54:00:74:00:22", ip: "10.74.0.140" },
        { kind: "dhcpcd", mac: "52:54:00:74:00:23", ip: "10.74.0.21" },
      ];
      for (const r of reserved) {
        await json(api(goosed, "/v1/machines", { body: { hostname: `reserved-${r.kind}`, interfaces: [{ mac: r.mac, ip: r.ip }] } }), 201);
      }
      await using stack = new AsyncDisposableStack();
      const clients = await Promise.all(reserved.map(async (r) => stack.use(startClient(await station(r.kind, r.mac)))));
      const bound = await Promise.all(clients.map(boundAddress));
      expect(bound).toEqual(reserved.map((r) => ({ ip: r.ip, prefix: PREFIX })));

      const granted = await Promise.all(clients.map((client, i) => leaseWhen(client, reserved[i]!.ip, "bound", (l) => l.state === "bound")));
      expect(granted.map((l) => ({ ip: l.ip, mac: l.mac, subnet: l.subnet, active: l.active }))).toEqual(
        reserved.map((r) => ({ ip: r.ip, mac: r.mac, subnet: SUBNET, active: true })),
      );
      await Promise.all(clients.map((client, i) => renewal(client, granted[i]!)));
      expect(await Promise.all(clients.map((c) => addressOf(c.station)))).toEqual(bound);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "a client asking for another machine's reserved address gets a pool address instead",
    async () => {
      const taken = "10.74.0.141";
      await json(api(goosed, "/v1/machines", { body: { hostname: "reserved-absent", interfaces: [{ mac: "52:54:00:74:00:32", ip: taken }] } }), 201);
      // udhcpc -r puts the address in DISCOVER's option 50 (RFC 2132 9.1).
      await using client = startClient(await station("udhcpc", "52:54:00:74:00:31"), ["-r", taken]);
      const bound = await boundAddress(client);
      expect(bound.ip).not.toBe(taken);
      expect(inRange(bound.ip)).toBe(true);
      expect((await leasesOf("52:54:00:74:00:31")).map((l) => ({ ip: l.ip, state: l.state }))).toEqual([{ ip: bound.ip, state: "bound" }]);
    },
    TEST_TIMEOUT_MS,
  );
});

describe("decline", () => {
  test(
    "udhcpc declines an address another host answers ARP for; goosed quarantines it and hands out another",
    async () => {
      const squatted = "10.74.0.130";
      const squatter = await lab.namespace("squatter");
      await lab.veth({ ns: squatter, name: lab.ifname("sq"), address: `${squatted}/${PREFIX}` }, { ns: segment, name: lab.ifname("sb"), master: bridge });
      const mac = "52:54:00:74:00:41";
      // -r asks for the squatted address; -a checks the acknowledged address with ARP and declines it on a reply
      // (RFC 2131 4.4.1); -A 2 starts over 2 s after declining instead of udhcpc's default 20.
      await using client = startClient(await station("udhcpc", mac), ["-r", squatted, "-a", "-A", "2"]);

      await leaseEvent("lease.declined", mac, squatted);
      const bound = await boundAddress(client);
      expect(bound.ip).not.toBe(squatted);
      expect(inRange(bound.ip)).toBe(true);
      expect(client.events()).toContain(`bound ${bound.ip}`);
      expect(client.events()).not.toContain(`bound ${squatted}`);
      // goosed lists leases by address.
      const leases = (await leasesOf(mac)).map((l) => ({ ip: l.ip, state: l.state, active: l.active }));
      expect(leases).toEqual(
        byAddress([
          { ip: squatted, state: "declined" as const, active: false },
          { ip: bound.ip, state: "bound" as const, active: true },
        ]),
      );
    },
    TEST_TIMEOUT_MS,
  );
});
