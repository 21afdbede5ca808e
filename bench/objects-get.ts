// Object GET throughput: the same 1 GiB file from nginx (sendfile) and from a real goosed's /artifacts/<name>, fetched
// by curl over loopback with 1 and 8 concurrent streams, whole and as one Range; MB/s per server and goosed/nginx, plus
// the goosed process's peak RSS (a sendfile'd body never enters JS memory). Needs nginx-light and curl.
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Subprocess, spawn } from "bun";
import { freePort } from "./free-port.ts";
import { type RunningGoosed, startGoosed, uploadArtifact } from "./goosed-server.ts";

const SIZE_BYTES = Number(process.env.SIZE_MIB ?? 1024) * 1024 * 1024;
const REPEAT = Number(process.env.REPEAT ?? 3);
/** A fetch that takes longer than this is stuck, not slow: the whole run stays bounded. */
const CURL_TIMEOUT_SECONDS = 120;

interface Case {
  name: string;
  streams: number;
  /** A curl --range value, or null for the whole object. */
  range: string | null;
  bytesPerStream: number;
}

const CASES: Case[] = [
  { name: "whole, 1 stream", streams: 1, range: null, bytesPerStream: SIZE_BYTES },
  { name: "whole, 8 streams", streams: 8, range: null, bytesPerStream: SIZE_BYTES },
  { name: "second half (Range), 1 stream", streams: 1, range: `${SIZE_BYTES / 2}-`, bytesPerStream: SIZE_BYTES / 2 },
  { name: "second half (Range), 8 streams", streams: 8, range: `${SIZE_BYTES / 2}-`, bytesPerStream: SIZE_BYTES / 2 },
];

/** Where goosed serves the object: the artifact route machines fetch, no credentials. */
function goosedUrl(goosed: RunningGoosed): string {
  return `${goosed.url}/artifacts/big`;
}

async function waitForAnswer(url: string, process: Subprocess, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (process.exitCode !== null) throw new Error(`${what} exited ${process.exitCode}`);
    try {
      await fetch(url, { method: "HEAD" });
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${what} did not answer on ${url}: ${error}`);
      await Bun.sleep(50);
    }
  }
}

/** One curl fetch: bytes received and seconds taken, as curl itself measures them. */
async function fetchOnce(url: string, range: string | null): Promise<{ bytes: number; seconds: number }> {
  const args = ["curl", "-s", "-S", "--max-time", String(CURL_TIMEOUT_SECONDS), "-o", "/dev/null", "-w", "%{http_code} %{size_download} %{time_total}"];
  if (range) args.push("--range", range);
  const child = spawn([...args, url], { stdout: "pipe", stderr: "pipe" });
  const [out, errors, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (exitCode !== 0) throw new Error(`curl ${url} exited ${exitCode}: ${errors}`);
  const [status, bytes, seconds] = out.trim().split(" ").map(Number) as [number, number, number];
  if (status !== (range ? 206 : 200)) throw new Error(`${url}: status ${status}`);
  return { bytes, seconds };
}

/** MB/s (10^6 bytes) of `streams` concurrent fetches: all bytes over the slowest fetch's time; the median of REPEAT. */
async function measure(url: string, c: Case): Promise<number> {
  const rates: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    const results = await Promise.all(Array.from({ length: c.streams }, () => fetchOnce(url, c.range)));
    const bytes = results.reduce((n, r) => n + r.bytes, 0);
    if (bytes !== c.bytesPerStream * c.streams) throw new Error(`${url} ${c.name}: ${bytes} bytes, expected ${c.bytesPerStream * c.streams}`);
    rates.push(bytes / Math.max(...results.map((r) => r.seconds)) / 1e6);
  }
  return rates.sort((a, b) => a - b)[Math.floor(rates.length / 2)] as number;
}

function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) / 1024;
}

async function main(): Promise<void> {
  const nginxBinary = Bun.which("nginx") ?? "/usr/sbin/nginx";
  if (!Bun.which("curl")) throw new Error("curl is not installed; apt-get install curl");
  const dir = mkdtempSync(join(tmpdir(), "goosed-objects-bench-"));
  const children: Subprocess[] = [];
  let goosed: RunningGoosed | null = null;
  try {
    const www = join(dir, "www");
    mkdirSync(www);
    const file = join(www, "object.bin");
    const chunk = new Uint8Array(64 * 1024 * 1024);
    for (let i = 0; i < chunk.length; i += 65536) crypto.getRandomValues(chunk.subarray(i, i + 65536));
    writeFileSync(file, "");
    for (let at = 0; at < SIZE_BYTES; at += chunk.length) appendFileSync(file, chunk.subarray(0, Math.min(chunk.length, SIZE_BYTES - at)));

    // One worker against Bun's one JS thread; sendfile and tcp_nopush as a static file server runs nginx.
    const nginxPort = freePort();
    const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `${t}_temp_path ${dir}/${t};`).join(" ");
    writeFileSync(
      join(dir, "nginx.conf"),
      `daemon off; master_process off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 64; }
http {
  access_log off; ${temp}
  default_type application/octet-stream; sendfile on; tcp_nopush on;
  server { listen 127.0.0.1:${nginxPort}; root ${www}; }
}
`,
    );
    const nginx = spawn([nginxBinary, "-p", dir, "-e", `${dir}/error.log`, "-c", `${dir}/nginx.conf`], { stdout: "ignore", stderr: "inherit" });
    children.push(nginx);
    const nginxUrl = `http://127.0.0.1:${nginxPort}/object.bin`;
    await waitForAnswer(nginxUrl, nginx, "nginx");

    goosed = await startGoosed(join(dir, "goosed-data"));
    await uploadArtifact(goosed, "big", file, CURL_TIMEOUT_SECONDS);
    const url = goosedUrl(goosed);
    const rssBefore = peakRssMiB(goosed.proc.pid);

    // Both read the file from the page cache: one untimed fetch each puts it there and warms goosed's JIT.
    await fetchOnce(nginxUrl, null);
    await fetchOnce(url, null);

    console.log(`${SIZE_BYTES / 1024 / 1024} MiB object, curl over loopback, median of ${REPEAT}, MB/s = 10^6 bytes/s`);
    console.log("| case | nginx MB/s | goosed MB/s | goosed/nginx |");
    console.log("| --- | ---: | ---: | ---: |");
    for (const c of CASES) {
      const nginxRate = await measure(nginxUrl, c);
      const goosedRate = await measure(url, c);
      console.log(`| ${c.name} | ${nginxRate.toFixed(0)} | ${goosedRate.toFixed(0)} | ${(goosedRate / nginxRate).toFixed(2)}× |`);
    }
    console.log(`goosed peak RSS: ${rssBefore.toFixed(0)} MiB after the upload, ${peakRssMiB(goosed.proc.pid).toFixed(0)} MiB after serving`);
  } finally {
    await goosed?.stop();
    for (const child of children) child.kill();
    await Promise.all(children.map((c) => c.exited));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
