// DHCP benchmark: perfdhcp (Kea's load generator) runs full DORA exchanges from a client namespace against kea-dhcp4
// (memfile leases) and then goosed (SQLite leases) in a server namespace, at 2k, 5k and 10k offered exchanges/s, each
// server started afresh per rate and warmed up, every exchange a new MAC. Prints completed DORA/s, unanswered %, the
// goosed/Kea ratio and each server's CPU per DORA, then the leases left on disk: goosed's rows after SIGTERM must
// equal the ACKs it sent.
// Needs root, iproute2, ethtool, curl, kea-dhcp4-server and kea-admin (perfdhcp).
import { Database } from "bun:sqlite";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { command, NetLab, type Netns, type Spawned } from "../test/support/netns.ts";

const RATES = (process.env.RATES ?? "2000,5000,10000").split(",").map(Number);
const DURATION_SECONDS = Number(process.env.DURATION ?? 5);
/** `SERVERS=kea` measures the peer alone, `SERVERS=goosed` goosed alone. */
const SERVERS = new Set((process.env.SERVERS ?? "kea,goosed").split(","));
/** `PROFILE=<dir>`: goosed writes a CPU profile per rate there (bun --cpu-prof, with a markdown summary). */
const PROFILE_DIR = process.env.PROFILE ?? "";

// One /16 link, private and ours alone: the server at .0.1, perfdhcp at .0.2, the pool above both.
const SERVER_IP = "10.75.0.1";
const CLIENT_IP = "10.75.0.2";
const PREFIX = 16;
const POOL_FIRST = "10.75.1.0";
const POOL_LAST = "10.75.250.255";
const POOL_SIZE = 250 * 256;
const LEASE_SECONDS = 3600;

// perfdhcp counts clients up from this MAC (its generator is sequential), so with more clients than exchanges in a
// run every DISCOVER carries a MAC neither server has seen.
const BASE_MAC = "02:75:00:00:00:00";
// Before each measurement a warm-up of its own MACs: Bun's JIT compiles the hot path in the first seconds, and a DHCP
// server runs for months; both servers get the same warm-up, which also leaves each with a few thousand bound leases.
const WARMUP_MAC = "02:76:00:00:00:00";
const WARMUP_SECONDS = Number(process.env.WARMUP ?? 2);
const WARMUP_RATE = 1000;
const CLIENTS = 1_000_000;
/** perfdhcp's -W: after the last DISCOVER, wait as long as its drop time (-d, 1 s) for the answers still due. */
const EXIT_WAIT_US = 1_000_000;

const root = join(import.meta.dir, "..");
const dir = mkdtempSync(join(tmpdir(), "goosed-bench-dhcp-"));

function need(tool: string, debianPackage: string): void {
  if (!Bun.which(tool)) throw new Error(`${tool} is not installed; apt-get install ${debianPackage}`);
}

/** Drains a process's output into `lines` for good (a full pipe would stall it) and waits for a line that matches. */
function follow(stream: ReadableStream<Uint8Array>, lines: string[]) {
  const waiters: Array<{ match: (line: string) => boolean; resolve: (line: string) => void }> = [];
  const done = (async () => {
    const decoder = new TextDecoder();
    let rest = "";
    for await (const chunk of stream) {
      const parts = (rest + decoder.decode(chunk, { stream: true })).split("\n");
      rest = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        for (const w of waiters.filter((w) => w.match(line))) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  })();
  return {
    done,
    waitFor(match: (line: string) => boolean): Promise<string> {
      const seen = lines.find(match);
      return seen !== undefined ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ match, resolve }));
    },
  };
}

interface Running {
  proc: Spawned;
  output: string[];
}

/** Starts `argv` in `ns` and resolves once a line of its stdout matches `ready`; fails if it exits or 30 s pass. */
async function startServer(ns: Netns, argv: string[], ready: (line: string) => boolean, env: Record<string, string> = {}): Promise<Running & { readyLine: string }> {
  const proc = ns.spawn(argv, { env: { ...(process.env as Record<string, string>), ...env }, cwd: root });
  const output: string[] = [];
  const stdout = follow(proc.stdout, output);
  void follow(proc.stderr, output);
  const timeout = Bun.sleep(30_000).then(() => "timeout" as const);
  const readyLine = await Promise.race([stdout.waitFor(ready), proc.exited.then(() => "exited" as const), timeout]);
  if (readyLine === "exited" || readyLine === "timeout") {
    proc.kill("SIGKILL");
    throw new Error(`${argv[0]} ${readyLine === "exited" ? `exited ${proc.exitCode}` : "was not ready within 30 s"}:\n${output.slice(-20).join("\n")}`);
  }
  return { proc, output, readyLine };
}

async function stop(server: Running): Promise<void> {
  server.proc.kill("SIGTERM");
  const code = await server.proc.exited;
  if (code !== 0) throw new Error(`server exited ${code} on SIGTERM:\n${server.output.slice(-20).join("\n")}`);
}

interface Exchange {
  sent: number;
  received: number;
  drops: number;
  orphans: number;
  avgDelayMs: number;
}

interface PerfResult {
  discover: Exchange;
  request: Exchange;
  /** DORAs completed (ACKs received) per second of the offered period. */
  completedPerSecond: number;
  /** DISCOVERs that never got their ACK, in percent. */
  unansweredPercent: number;
}

function exchangeOf(report: string, name: string): Exchange {
  const section = report.split(`***Statistics for: ${name}***`)[1]?.split("***Statistics for:")[0];
  const field = (label: string) => {
    const m = section ? new RegExp(`^${label}: ([\\d.]+)`, "m").exec(section) : null;
    if (!m) throw new Error(`cannot read '${label}' of ${name} in perfdhcp's report:\n${report}`);
    return Number(m[1]);
  };
  return { sent: field("sent packets"), received: field("received packets"), drops: field("drops"), orphans: field("orphans"), avgDelayMs: field("avg delay") };
}

async function perfdhcp(client: Netns, rate: number, seconds = DURATION_SECONDS, baseMac = BASE_MAC): Promise<PerfResult> {
  const argv = ["perfdhcp", "-4", "-g", "single", "-r", String(rate), "-p", String(seconds), "-R", String(CLIENTS), "-b", `mac=${baseMac}`, "-W", String(EXIT_WAIT_US), "-l", CLIENT_IP, SERVER_IP];
  const result = await command(["ip", "netns", "exec", client.name, ...argv]);
  // 3: it ran, and some exchanges went unanswered; that is a figure, not a failure.
  if (result.code !== 0 && result.code !== 3) throw new Error(`${argv.join(" ")} exited ${result.code}: ${result.stderr}${result.stdout}`);
  const discover = exchangeOf(result.stdout, "DISCOVER-OFFER");
  const request = exchangeOf(result.stdout, "REQUEST-ACK");
  return {
    discover,
    request,
    completedPerSecond: request.received / seconds,
    unansweredPercent: discover.sent === 0 ? 100 : (100 * (discover.sent - request.received)) / discover.sent,
  };
}

/** The server namespace's UDP receive-buffer overflows so far: datagrams the kernel dropped because the server was busy. */
async function udpOverflows(ns: Netns): Promise<number> {
  const lines = (await ns.exec(["cat", "/proc/net/snmp"])).split("\n").filter((l) => l.startsWith("Udp: "));
  const [names, values] = lines.map((l) => l.split(/\s+/));
  const at = names?.indexOf("RcvbufErrors") ?? -1;
  return at < 0 ? 0 : Number(values?.[at] ?? 0);
}

// /proc/<pid>/stat counts CPU time in clock ticks (USER_HZ), 100 a second on Linux.
const CLOCK_TICKS_PER_SECOND = Number(Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim()) || 100;

/** CPU seconds (user + system) the process has used, by thread name: a cost that other load on the machine hardly skews. */
function cpuByThread(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${task}/comm`, "utf8").trim();
      const fields = readFileSync(`/proc/${pid}/task/${task}/stat`, "utf8").split(") ")[1]!.split(" ");
      // After "pid (comm) ": state is field 3 of proc(5), utime 14 and stime 15.
      byName.set(name, (byName.get(name) ?? 0) + (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND);
    } catch {
      // A thread that ended while we looked; its time is gone from the process's total too.
    }
  }
  return byName;
}

/** Nanoseconds the thread has spent runnable but waiting for a CPU (schedstat's second field, see sched-stats.rst). */
function runQueueWaitNs(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[1]);
}

interface Durable {
  rows: number;
  macs: number;
}

interface Measured {
  perf: PerfResult;
  /** Datagrams to the server dropped by its kernel because its socket's receive buffer was full. */
  overflows: number;
  /** The server's CPU time during the run, per completed DORA. */
  cpuMicrosPerDora: number;
  /** CPU seconds during the run by thread name, busiest first. */
  threads: Array<[string, number]>;
  /** Seconds the server's main thread was ready to run but waited for a CPU: high when the machine was busy. */
  waitedSeconds: number;
}

interface ServerRun extends Measured {
  /** Leases found on disk after the server stopped. */
  durable: Durable;
  /** ACKs the server says it sent (goosed's metrics); null for Kea, whose memfile writes one row per ACK. */
  acksSent: number | null;
  notes: string[];
}

/** One perfdhcp run against the server `pid`, with what the server's kernel dropped and the CPU it spent. */
async function measure(server: Netns, client: Netns, rate: number, pid: number): Promise<Measured> {
  if (WARMUP_SECONDS > 0) await perfdhcp(client, WARMUP_RATE, WARMUP_SECONDS, WARMUP_MAC);
  const overflowsBefore = await udpOverflows(server);
  const before = cpuByThread(pid);
  const waitBefore = runQueueWaitNs(pid);
  const perf = await perfdhcp(client, rate);
  const waitedSeconds = (runQueueWaitNs(pid) - waitBefore) / 1e9;
  const threads = [...cpuByThread(pid)].map(([name, seconds]): [string, number] => [name, seconds - (before.get(name) ?? 0)]).sort((a, b) => b[1] - a[1]);
  const cpu = threads.reduce((sum, [, seconds]) => sum + seconds, 0);
  const overflows = (await udpOverflows(server)) - overflowsBefore;
  return { perf, overflows, threads, waitedSeconds, cpuMicrosPerDora: perf.request.received > 0 ? (cpu * 1e6) / perf.request.received : Number.NaN };
}

async function runKea(server: Netns, client: Netns, device: string, rate: number): Promise<ServerRun> {
  const runDir = mkdtempSync(join(dir, "kea-"));
  const leaseFile = join(runDir, "leases.csv");
  const config = {
    Dhcp4: {
      // perfdhcp acts as a relay (giaddr, port 67, unicast): plain UDP sockets take it, no raw packet filter needed.
      "interfaces-config": { interfaces: [device], "dhcp-socket-type": "udp" },
      // persist: every lease change is appended to the CSV before the reply is sent; lfc-interval 0: no cleanup runs.
      "lease-database": { type: "memfile", persist: true, name: leaseFile, "lfc-interval": 0 },
      "multi-threading": { "enable-multi-threading": false },
      "valid-lifetime": LEASE_SECONDS,
      subnet4: [{ id: 1, subnet: `10.75.0.0/${PREFIX}`, pools: [{ pool: `${POOL_FIRST} - ${POOL_LAST}` }] }],
      // WARN keeps Kea's per-lease INFO lines (DHCP4_LEASE_ALLOC) out of the measurement; dhcp4 at INFO says when it is up.
      loggers: [
        { name: "kea-dhcp4", output_options: [{ output: "stdout" }], severity: "WARN" },
        { name: "kea-dhcp4.dhcp4", output_options: [{ output: "stdout" }], severity: "INFO" },
      ],
    },
  };
  writeFileSync(join(runDir, "kea-dhcp4.json"), JSON.stringify(config, null, 2));
  const kea = await startServer(server, ["kea-dhcp4", "-c", join(runDir, "kea-dhcp4.json")], (line) => line.includes("DHCP4_STARTED"), {
    KEA_PIDFILE_DIR: runDir,
    KEA_LOCKFILE_DIR: runDir,
  });
  let measured: Measured;
  try {
    measured = await measure(server, client, rate, kea.proc.pid);
  } finally {
    await stop(kea);
  }
  // The CSV's first line is its header; each later line one lease written.
  const rows = readFileSync(leaseFile, "utf8").trim().split("\n").slice(1);
  const durable = { rows: rows.length, macs: new Set(rows.map((r) => r.split(",")[1])).size };
  return { ...measured, durable, acksSent: null, notes: [] };
}

function metric(text: string, name: string, labels: string): number {
  const line = text.split("\n").find((l) => l.startsWith(labels ? `${name}{${labels}} ` : `${name} `));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

async function runGoosed(server: Netns, client: Netns, device: string, rate: number): Promise<ServerRun> {
  const dataDir = mkdtempSync(join(dir, "goosed-"));
  const profile = PROFILE_DIR ? ["--cpu-prof", "--cpu-prof-md", `--cpu-prof-dir=${join(PROFILE_DIR, `goosed-${rate}`)}`] : [];
  const argv = [
    process.execPath, ...profile, "src/main.ts", "serve", "--data-dir", dataDir, "--http-port", "0", "--log-format", "json",
    "--dhcp-mode", "full", "--dhcp-interface", device, "--dhcp-range", `${POOL_FIRST}-${POOL_LAST}`, "--dhcp-lease-seconds", String(LEASE_SECONDS),
  ];
  const goosed = await startServer(server, argv, (line) => line.includes('"goosed ready"'), { GOOSED_CONFIG: "/dev/null" });
  let measured: Measured;
  let metrics: string;
  try {
    measured = await measure(server, client, rate, goosed.proc.pid);
    const port = (JSON.parse(goosed.readyLine) as { port: number }).port;
    metrics = await server.exec(["curl", "-sf", `http://127.0.0.1:${port}/metrics`]);
  } finally {
    await stop(goosed);
  }
  const notes = metrics
    .split("\n")
    .filter((l) => l.startsWith("goosed_dhcp_packets_dropped_total{") || l.startsWith("goosed_dhcp_pool_exhausted_total "))
    .filter((l) => Number(l.split(" ").at(-1)) > 0);
  const commits = metric(metrics, "goosed_dhcp_lease_commits_total", "");
  const acks = metric(metrics, "goosed_dhcp_replies_sent_total", 'type="ack"');
  notes.push(`${commits} group commits (${commits > 0 ? (acks / commits).toFixed(1) : "—"} ACKs per commit)`);
  const errors = goosed.output.filter((l) => l.includes('"level":"error"') || l.includes('"level":"warn"'));
  if (errors.length > 0) notes.push(`${errors.length} warning/error line(s) logged; the first: ${errors[0]}`);
  const db = new Database(join(dataDir, "goosed.db"), { readonly: true });
  const durable = db.query("SELECT count(*) AS rows, count(DISTINCT mac) AS macs FROM leases").get() as Durable;
  db.close();
  return { ...measured, durable, acksSent: acks, notes };
}

const pct = (n: number) => `${n.toFixed(2)}%`;

function printRun(name: string, run: ServerRun): void {
  const { perf, durable } = run;
  console.log(
    `  ${name.padEnd(18)} ${perf.completedPerSecond.toFixed(0).padStart(6)} DORA/s   unanswered ${pct(perf.unansweredPercent).padStart(7)}` +
      `   drops D-O ${perf.discover.drops} R-A ${perf.request.drops}, orphans ${perf.discover.orphans + perf.request.orphans}` +
      `   avg ${perf.discover.avgDelayMs.toFixed(1)}+${perf.request.avgDelayMs.toFixed(1)} ms   receive-buffer overflows ${run.overflows}`,
  );
  const acks = run.acksSent === null ? "" : `, ACKs sent ${run.acksSent}${run.acksSent === durable.rows ? " (equal)" : " (NOT equal)"}`;
  const busiest = run.threads.filter(([, seconds]) => seconds >= 0.05).map(([name, seconds]) => `${name} ${seconds.toFixed(2)}`);
  console.log(`  ${"".padEnd(18)} server CPU ${run.cpuMicrosPerDora.toFixed(0)} µs per completed DORA (CPU s by thread: ${busiest.join(", ") || "none"}; main thread waited ${run.waitedSeconds.toFixed(2)} s for a CPU)`);
  console.log(`  ${"".padEnd(18)} leases on disk after stop: ${durable.rows} rows, ${durable.macs} distinct MACs${acks}`);
  for (const note of run.notes) console.log(`  ${"".padEnd(18)} ${note}`);
}

async function main(lab: NetLab): Promise<void> {
  need("ip", "iproute2");
  need("ethtool", "ethtool");
  need("curl", "curl");
  need("kea-dhcp4", "kea-dhcp4-server");
  need("perfdhcp", "kea-admin");
  if (!RATES.every((rate) => Number.isInteger(rate) && rate > 0)) throw new Error(`RATES must be positive whole exchanges per second, e.g. 2000,5000; got ${process.env.RATES}`);
  const tooMany = RATES.filter((rate) => rate * DURATION_SECONDS + WARMUP_RATE * WARMUP_SECONDS > POOL_SIZE);
  if (tooMany.length > 0) throw new Error(`${tooMany.join(", ")}/s for ${DURATION_SECONDS} s needs more than the pool's ${POOL_SIZE} addresses; lower DURATION`);

  const server = await lab.namespace("dsrv");
  const client = await lab.namespace("dcli");
  const device = lab.ifname("dsv");
  await lab.veth({ ns: server, name: device, address: `${SERVER_IP}/${PREFIX}` }, { ns: client, name: lab.ifname("dcl"), address: `${CLIENT_IP}/${PREFIX}` });

  const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  console.log(
    `perfdhcp at ${CLIENT_IP} (relay, giaddr ${CLIENT_IP}) → ${SERVER_IP}; ${DURATION_SECONDS} s per measurement after a ${WARMUP_SECONDS} s warm-up at ${WARMUP_RATE}/s, ` +
      "every exchange a new MAC, each server started afresh for each rate",
  );
  console.log(`load average before: ${load}`);
  const summary: string[] = [];
  const figure = (run: ServerRun | null, f: (run: ServerRun) => string) => (run ? f(run) : "—");
  for (const rate of RATES) {
    console.log(`\n${rate} offered DORA/s`);
    const kea = SERVERS.has("kea") ? await runKea(server, client, device, rate) : null;
    if (kea) printRun("kea-dhcp4 memfile", kea);
    const ours = SERVERS.has("goosed") ? await runGoosed(server, client, device, rate) : null;
    if (ours) printRun("goosed SQLite", ours);
    const ratio = kea && ours ? `${(ours.perf.completedPerSecond / kea.perf.completedPerSecond).toFixed(2)}x` : "—";
    if (kea && ours) console.log(`  ratio goosed/kea   ${ratio}`);
    summary.push(
      `| ${rate} | ${figure(kea, (r) => r.perf.completedPerSecond.toFixed(0))} | ${figure(kea, (r) => pct(r.perf.unansweredPercent))} ` +
        `| ${figure(ours, (r) => r.perf.completedPerSecond.toFixed(0))} | ${figure(ours, (r) => pct(r.perf.unansweredPercent))} | ${ratio} ` +
        `| ${figure(kea, (r) => r.cpuMicrosPerDora.toFixed(0))} | ${figure(ours, (r) => r.cpuMicrosPerDora.toFixed(0))} | ${figure(ours, (r) => `${r.durable.rows} / ${r.acksSent}`)} |`,
    );
  }
  console.log("\n| offered/s | Kea DORA/s | Kea unanswered | goosed DORA/s | goosed unanswered | goosed/Kea | Kea CPU µs/DORA | goosed CPU µs/DORA | goosed lease rows / ACKs sent |");
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const row of summary) console.log(row);
}

const lab = new NetLab();
let cleaned: Promise<void> | null = null;
const cleanup = () => (cleaned ??= lab[Symbol.asyncDispose]().finally(() => rmSync(dir, { recursive: true, force: true })));
// Ctrl-C mid-run still removes the namespaces and the servers in them.
process.once("SIGINT", () => void cleanup().finally(() => process.exit(130)));
try {
  await main(lab);
} finally {
  await cleanup();
}
