// Object PUT throughput: a 1 GiB file into a real goosed, as an artifact upload (sha256) and as an S3 PutObject
// (sha256 + MD5 for the ETag), both with curl over loopback, against `cp` of the same file on the same filesystem,
// with and without an fsync of the copy (goosed's 201 and 200 come only once the blob is fsynced). Needs curl and
// python3 with botocore (for the presigned URL).
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "bun";
import { type RunningGoosed, startGoosed, uploadArtifact } from "./goosed-server.ts";

const SIZE_BYTES = Number(process.env.SIZE_MIB ?? 1024) * 1024 * 1024;
const REPEAT = Number(process.env.REPEAT ?? 3);
/** An upload or copy that takes longer than this is stuck, not slow: the whole run stays bounded. */
const STEP_TIMEOUT_SECONDS = 120;
const BUCKET = "bench";

/** Runs a command to completion within STEP_TIMEOUT_SECONDS; its stdout. */
async function run(command: string[], env?: Record<string, string>): Promise<string> {
  const child = spawn(command, { stdout: "pipe", stderr: "pipe", env: env ? { ...process.env, ...env } : undefined });
  const killer = setTimeout(() => child.kill("SIGKILL"), STEP_TIMEOUT_SECONDS * 1000);
  const [out, errors, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(killer);
  if (exitCode !== 0) throw new Error(`${command.join(" ")} exited ${exitCode}: ${errors}`);
  return out;
}

/** Seconds a command takes, wall clock, process start included. */
async function timed(command: string[]): Promise<number> {
  const started = performance.now();
  await run(command);
  return (performance.now() - started) / 1000;
}

/** A presigned PUT URL per key (and the bucket created first), from botocore: what an S3 SDK would send. */
async function presignedPuts(goosed: RunningGoosed, keys: string[]): Promise<string[]> {
  const response = await fetch(`${goosed.url}/v1/s3/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${goosed.token}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "bench" }),
  });
  if (response.status !== 201) throw new Error(`creating an S3 key: ${response.status} ${await response.text()}`);
  const key = (await response.json()) as { accessKeyId: string; secretAccessKey: string };
  const script = `
import json, sys, botocore.session, botocore.config
c = botocore.session.get_session().create_client('s3', endpoint_url=sys.argv[1], region_name='us-east-1',
    aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3], config=botocore.config.Config(signature_version='s3v4'))
c.create_bucket(Bucket=sys.argv[4])
print(json.dumps([c.generate_presigned_url('put_object', Params={'Bucket': sys.argv[4], 'Key': k}, ExpiresIn=3600) for k in sys.argv[5:]]))
`;
  const out = await run(["python3", "-c", script, `${goosed.url}/s3`, key.accessKeyId, key.secretAccessKey, BUCKET, ...keys], { AWS_CONFIG_FILE: "/dev/null" });
  return JSON.parse(out) as string[];
}

/** curl -T to a presigned URL: seconds from first byte to goosed's 200, which comes once the blob is durable. */
async function putPresigned(url: string, file: string): Promise<number> {
  const out = await run(["curl", "-sS", "--max-time", String(STEP_TIMEOUT_SECONDS), "-o", "/dev/null", "-w", "%{http_code} %{time_total}", "-H", "Expect:", "-T", file, url]);
  const [status, seconds] = out.trim().split(" ").map(Number) as [number, number];
  if (status !== 200) throw new Error(`PutObject: status ${status}`);
  return seconds;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

async function main(): Promise<void> {
  if (!Bun.which("curl")) throw new Error("curl is not installed; apt-get install curl");
  // Source, copies and goosed's data directory on one filesystem.
  const dir = mkdtempSync(join(tmpdir(), "goosed-objects-put-"));
  let goosed: RunningGoosed | null = null;
  try {
    const source = join(dir, "source.bin");
    const copies = join(dir, "copies");
    mkdirSync(copies);
    const chunk = new Uint8Array(64 * 1024 * 1024);
    for (let i = 0; i < chunk.length; i += 65536) crypto.getRandomValues(chunk.subarray(i, i + 65536));
    const fd = openSync(source, "w");
    for (let at = 0; at < SIZE_BYTES; at += chunk.length) writeSync(fd, chunk.subarray(0, Math.min(chunk.length, SIZE_BYTES - at)));
    closeSync(fd);

    goosed = await startGoosed(join(dir, "goosed-data"));
    const s3Urls = await presignedPuts(goosed, Array.from({ length: REPEAT + 1 }, (_, i) => `object-${i}`));

    // Each measurement starts alike: the source in the page cache (just written) with new first bytes, so no put
    // finds its blob already stored, and nothing dirty left by the one before (sync).
    let round = 0;
    const fresh = async () => {
      const head = openSync(source, "r+");
      writeSync(head, new TextEncoder().encode(`round ${++round} ${Date.now()}`.padEnd(32)), 0, 32, 0);
      closeSync(head);
      rmSync(copies, { recursive: true, force: true });
      mkdirSync(copies);
      await run(["sync"]);
    };
    const methods: { name: string; measure: (i: number) => Promise<number> }[] = [
      { name: "(a) cp", measure: (i) => timed(["cp", source, join(copies, `copy-${i}`)]) },
      { name: "(b) cp + sync (fsync of the copy)", measure: (i) => timed(["sh", "-c", 'cp "$1" "$2" && sync "$2"', "sh", source, join(copies, `copy-${i}`)]) },
      { name: "(c) goosed artifact PUT (sha256)", measure: (i) => uploadArtifact(goosed!, `big-${i}`, source, STEP_TIMEOUT_SECONDS) },
      { name: "(d) goosed S3 PutObject (sha256 + MD5)", measure: (i) => putPresigned(s3Urls[i + 1] as string, source) },
    ];
    // One untimed upload warms goosed's JIT and MD5 thread.
    await fresh();
    await putPresigned(s3Urls[0] as string, source);

    const seconds = new Map<string, number[]>(methods.map((m) => [m.name, []]));
    for (let i = 0; i < REPEAT; i++) {
      for (const m of methods) {
        await fresh();
        seconds.get(m.name)!.push(await m.measure(i));
      }
    }
    const rate = (name: string) => SIZE_BYTES / median(seconds.get(name)!) / 1e6;
    const cp = rate(methods[0]!.name);
    const cpSync = rate(methods[1]!.name);
    console.log(`${SIZE_BYTES / 1024 / 1024} MiB file, same filesystem, median of ${REPEAT}, MB/s = 10^6 bytes/s`);
    console.log("| method | MB/s | ÷ (a) cp | ÷ (b) cp + sync | runs (s) |");
    console.log("| --- | ---: | ---: | ---: | --- |");
    for (const m of methods) {
      const r = rate(m.name);
      console.log(`| ${m.name} | ${r.toFixed(0)} | ${(r / cp).toFixed(2)}× | ${(r / cpSync).toFixed(2)}× | ${seconds.get(m.name)!.map((s) => s.toFixed(2)).join(", ")} |`);
    }
  } finally {
    await goosed?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
