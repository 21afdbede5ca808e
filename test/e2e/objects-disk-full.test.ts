// A full disk, end to end: goosed's data directory on a 48 MiB tmpfs; uploads larger than the free space are refused
// (S3: InsufficientStorage saying the disk is full; the artifact API: 507 disk-full), tmp/ is left empty, and goosed
// keeps serving and accepts a small upload afterwards. Mounting needs root, which CI has.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Client } from "minio";
import { type RunningGoosed, startGoosed, type TempDir, tempDir } from "../support/goosed.ts";
import { json, problem } from "../support/http.ts";
import { createS3Key, freePort, patternedContent, s3Client, sha256Hex } from "../support/s3.ts";

setDefaultTimeout(60_000);

const MiB = 1024 * 1024;
const TMPFS_BYTES = 48 * MiB;
/** Larger than the whole tmpfs, so no arrangement of what is already stored leaves room for it. */
const TOO_BIG_BYTES = 60 * MiB;
const BUCKET = "full";

let dir: TempDir;
let dataDir = "";
let mounted = false;
let goosed: RunningGoosed;
let client: Client;

async function run(command: string[]): Promise<void> {
  const proc = Bun.spawn(command, { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`${command.join(" ")} exited ${code}: ${stderr}`);
}

beforeAll(async () => {
  if (process.getuid?.() !== 0) {
    throw new Error("the disk-full test mounts a tmpfs as goosed's data directory, which needs root; run it as root (CI does)");
  }
  dir = tempDir("goosed-disk-full-");
  dataDir = join(dir.path, "data");
  mkdirSync(dataDir);
  await run(["mount", "-t", "tmpfs", "-o", `size=${TMPFS_BYTES}`, "goosed-disk-full", dataDir]);
  mounted = true;
  const s3Port = freePort();
  goosed = await startGoosed({ dataDir, args: ["--objects-s3-port", String(s3Port)] });
  client = s3Client(`http://127.0.0.1:${s3Port}`, await createS3Key(goosed, "full"));
  await client.makeBucket(BUCKET);
});

afterAll(async () => {
  try {
    await goosed?.[Symbol.asyncDispose]();
  } finally {
    if (mounted) await run(["umount", dataDir]);
    await dir?.[Symbol.asyncDispose]();
  }
});

const tmpEntries = () => readdirSync(join(dataDir, "blobs", "tmp"));

test("an S3 PUT larger than the free space is InsufficientStorage saying the disk is full; tmp/ is left empty", async () => {
  // 507, not 503: the minio client gives up at once and shows goosed's message, rather than retrying into a full disk.
  const content = patternedContent(TOO_BIG_BYTES, 31);
  const refused = await client.putObject(BUCKET, "too-big.img", Buffer.from(content.bytes())).then(
    () => null,
    (error: { code?: string; message?: string }) => error,
  );
  expect(refused?.code).toBe("InsufficientStorage");
  expect(refused?.message).toContain("no space left");
  expect(tmpEntries()).toEqual([]);
  await expect(client.statObject(BUCKET, "too-big.img")).rejects.toMatchObject({ code: "NotFound" });
});

test("PUT /v1/artifacts/<name> larger than the free space is a 507 disk-full problem; tmp/ is left empty", async () => {
  const content = patternedContent(TOO_BIG_BYTES, 32);
  const refused = await problem(
    fetch(`${goosed.url}/v1/artifacts/too-big?kind=iso`, {
      method: "PUT",
      headers: { authorization: `Bearer ${goosed.token}`, "content-type": "application/octet-stream" },
      body: new Blob([content.bytes()]),
    }),
    507,
  );
  expect(refused).toMatchObject({ type: "/problems/disk-full", status: 507, title: "Disk full" });
  expect(refused.detail).toContain("no space left");
  expect(tmpEntries()).toEqual([]);
  expect((await fetch(`${goosed.url}/artifacts/too-big`)).status).toBe(404);
});

test("afterwards goosed answers /healthz and small uploads succeed through S3 and the artifact API", async () => {
  expect((await fetch(`${goosed.url}/healthz`)).status).toBe(200);
  const small = patternedContent(2 * MiB + 7, 33);
  await client.putObject(BUCKET, "small.img", Buffer.from(small.bytes()));
  expect(sha256Hex(Buffer.concat(await Array.fromAsync(await client.getObject(BUCKET, "small.img"))))).toBe(small.sha256);

  const created = await json(
    fetch(`${goosed.url}/v1/artifacts/small?kind=other`, { method: "PUT", headers: { authorization: `Bearer ${goosed.token}` }, body: new Blob([small.bytes()]) }),
    201,
  );
  expect(created).toMatchObject({ name: "small", sizeBytes: small.sizeBytes, digest: small.sha256 });
  expect(sha256Hex(await (await fetch(`${goosed.url}/artifacts/small`)).arrayBuffer())).toBe(small.sha256);
  expect(tmpEntries()).toEqual([]);
});
