// Boot-storm benchmark: wrk fires GET /boot/boot.ipxe for 10,000 distinct enrolled MACs, each with a pending run (so
// every answer is a per-MAC script carrying a fresh one-time token, committed before it is sent), at 1,000 connections
// and then 10,000; in the same run the same load goes to nginx serving a static iPXE script of the same size.
// Prints requests/s, p99 and the goosed/nginx ratio. Needs wrk and nginx (apt-get install wrk nginx-light).
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.ts";

const MACHINES = Number(process.env.MACHINES ?? 10_000);
const DURATION_SECONDS = Number(process.env.DURATION ?? 10);
const CONNECTIONS = [1_000, 10_000];
// The hard open-files limit of this shell: 10,000 connections need more than the usual soft 1,024.
const NOFILE = Number(Bun.spawnSync(["sh", "-c", "ulimit -Hn"]).stdout.toString().trim()) || 20_000;

const root = join(import.meta.dir, "..");
const dir = mkdtempSync(join(tmpdir(), "goosed-boot-storm-"));
// nginx's workers run as www-data: they must be able to read the static script under this directory.
chmodSync(dir, 0o755);
const children: Array<{ kill(signal?: number | NodeJS.Signals): void; exited: Promise<number> }> = [];

function need(tool: string): void {
  if (!Bun.which(tool)) throw new Error(`${tool} is not installed; apt-get install ${tool === "nginx" ? "nginx-light" : tool}`);
}

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await fetch(url).then((r) => r.ok, () => false)) return;
    await Bun.sleep(20);
  }
  throw new Error(`${url} did not answer within 10 s`);
}

/** A spawned server, with the open-files limit raised so it can hold 10,000 connections. */
function spawnServer(command: string[], cwd = root, env: Record<string, string> = {}, logPath?: string) {
  const proc = Bun.spawn(["sh", "-c", `ulimit -n ${NOFILE} && exec "$@"`, "sh", ...command], {
    cwd,
    env: { ...process.env, ...env } as Record<string, string>,
    stdout: logPath ? Bun.file(logPath) : "ignore",
    stderr: "inherit",
  });
  children.push(proc);
  return proc;
}

interface WrkResult {
  requestsPerSecond: number;
  p99Ms: number;
  requests: number;
  errors: string;
}

function toMs(value: string, unit: string): number {
  return Number(value) * ({ us: 0.001, ms: 1, s: 1000, m: 60_000 } as Record<string, number>)[unit]!;
}

async function wrk(url: string, connections: number, script: string): Promise<WrkResult> {
  const args = ["-t2", `-c${connections}`, `-d${DURATION_SECONDS}s`, "--timeout", "10s", "--latency", "-s", script, url];
  const proc = Bun.spawn(["sh", "-c", `ulimit -n ${NOFILE} && exec wrk "$@"`, "sh", ...args], { stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  if ((await proc.exited) !== 0) throw new Error(`wrk failed: ${err}${out}`);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s|m)\b/m.exec(out);
  const total = /(\d+) requests in/.exec(out);
  const socketErrors = /Socket errors: (.*)/.exec(out)?.[1] ?? "none";
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1];
  if (!rps || !p99 || !total) throw new Error(`cannot read wrk output:\n${out}`);
  return {
    requestsPerSecond: Number(rps[1]),
    p99Ms: toMs(p99[1]!, p99[2]!),
    requests: Number(total[1]),
    errors: `socket errors: ${socketErrors}${non2xx ? `; non-2xx: ${non2xx}` : ""}`,
  };
}

const macOf = (i: number) => `52:54:${[(i >> 24) & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255].map((b) => b.toString(16).padStart(2, "0")).join(":")}`;

async function main(): Promise<void> {
  need("wrk");
  need("nginx");

  // goosed with 10,000 enrolled machines, each with a pending run.
  const goosedPort = freePort();
  const dataDir = join(dir, "goosed-data");
  const goosedLog = join(dir, "goosed.log");
  spawnServer(
    ["bun", "src/main.ts", "serve", "--data-dir", dataDir, "--http-port", String(goosedPort), "--http-host", "127.0.0.1", "--log-level", "warn", "--log-format", "json"],
    root,
    { GOOSED_CONFIG: "/dev/null" },
    goosedLog,
  );
  const goosedUrl = `http://127.0.0.1:${goosedPort}`;
  await waitFor(`${goosedUrl}/healthz`);
  const token = (await Bun.file(join(dataDir, "admin-token")).text()).trim();
  const call = async (path: string, body: unknown) => {
    const r = await fetch(`${goosedUrl}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!r.ok) throw new Error(`POST ${path}: ${r.status} ${await r.text()}`);
    return r.json();
  };
  await call("/v1/groups", { name: "storm" });
  await call("/v1/profiles", { name: "rocky9", osFamily: "rhel", kernel: "rocky9/vmlinuz", initrd: ["rocky9/initrd.img"], installTemplate: "kickstart" });
  const macs = Array.from({ length: MACHINES }, (_, i) => macOf(i + 1));
  const csv = ["mac,hostname,group,profile", ...macs.map((mac, i) => `${mac},storm-${i + 1},storm,rocky9`)].join("\n");
  await call("/v1/machines/import", { format: "csv", content: csv });
  console.log(`enrolled ${MACHINES} machines; starting a run on each ...`);
  for (let i = 0; i < macs.length; i += 64) {
    await Promise.all(macs.slice(i, i + 64).map((mac) => call(`/v1/machines/${mac}/provision`, {})));
  }

  // wrk cycles through every MAC; nginx ignores the query string and serves its one static file.
  const macFile = join(dir, "macs.txt");
  writeFileSync(macFile, `${macs.join("\n")}\n`);
  const script = join(dir, "boot.lua");
  writeFileSync(
    script,
    `local macs = {}
for line in io.lines("${macFile}") do macs[#macs + 1] = line end
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "/boot/boot.ipxe?mac=" .. macs[(i % #macs) + 1] .. "&arch=x86_64")
end
`,
  );
  const sample = await (await fetch(`${goosedUrl}/boot/boot.ipxe?mac=${macs[0]}&arch=x86_64`)).text();

  const nginxPort = freePort();
  const nginxRoot = join(dir, "nginx");
  mkdirSync(join(nginxRoot, "html/boot"), { recursive: true });
  mkdirSync(join(nginxRoot, "logs"), { recursive: true });
  writeFileSync(join(nginxRoot, "html/boot/boot.ipxe"), sample);
  writeFileSync(
    join(nginxRoot, "nginx.conf"),
    `worker_processes auto;
daemon off;
pid ${nginxRoot}/nginx.pid;
error_log ${nginxRoot}/logs/error.log warn;
events { worker_connections ${Math.floor(NOFILE / 2)}; }
http {
  access_log off;
  default_type text/plain;
  client_body_temp_path ${nginxRoot}/tmp;
  proxy_temp_path ${nginxRoot}/tmp;
  fastcgi_temp_path ${nginxRoot}/tmp;
  uwsgi_temp_path ${nginxRoot}/tmp;
  scgi_temp_path ${nginxRoot}/tmp;
  server {
    listen 127.0.0.1:${nginxPort} backlog=4096;
    root ${nginxRoot}/html;
    add_header cache-control no-store;
  }
}
`,
  );
  spawnServer(["nginx", "-p", nginxRoot, "-c", join(nginxRoot, "nginx.conf")]);
  const nginxUrl = `http://127.0.0.1:${nginxPort}`;
  await waitFor(`${nginxUrl}/boot/boot.ipxe`);

  console.log(`response: ${sample.length} bytes of iPXE script with a fresh boot token; ${DURATION_SECONDS} s per measurement, wrk -t2`);
  for (const connections of CONNECTIONS) {
    const peer = await wrk(nginxUrl, connections, script);
    const ours = await wrk(goosedUrl, connections, script);
    console.log(`\n${connections} connections`);
    console.log(`  nginx (static file)       ${peer.requestsPerSecond.toFixed(0).padStart(7)} req/s   p99 ${peer.p99Ms.toFixed(1)} ms   ${peer.errors}`);
    console.log(`  goosed (per-MAC + token)  ${ours.requestsPerSecond.toFixed(0).padStart(7)} req/s   p99 ${ours.p99Ms.toFixed(1)} ms   ${ours.errors}`);
    console.log(`  ratio goosed/nginx        ${(ours.requestsPerSecond / peer.requestsPerSecond).toFixed(2)}x`);
    if (ours.errors.includes("non-2xx")) {
      const errors = (await Bun.file(goosedLog).text()).split("\n").filter((l) => l.includes('"level":"error"'));
      console.log(`  goosed logged ${errors.length} error(s); the first: ${errors[0] ?? "(none)"}`);
    }
  }
  const metrics = await (await fetch(`${goosedUrl}/metrics`)).text();
  const line = (name: string) => metrics.split("\n").find((l) => l.startsWith(name))?.split(" ").at(-1);
  console.log(`\ngroup commit: ${line("goosed_boot_tokens_written_total")} boot tokens in ${line("goosed_boot_token_commits_total")} commits`);
}

try {
  await main();
} finally {
  for (const child of children) child.kill("SIGTERM");
  await Promise.all(children.map((c) => c.exited));
  rmSync(dir, { recursive: true, force: true });
}
