// The object store across a SIGKILL: an upload cut off mid-body leaves no object, no artifact and nothing in
// <data>/blobs/tmp once goosed restarts, and no partial blob under sha256/; an upload that was answered survives whole.
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Client } from "minio";
import { api, type RunningGoosed, startGoosed, type TempDir, tempDir } from "../support/goosed.ts";
import { json, problem } from "../support/http.ts";
import { createS3Key, freePort, patternedContent, type S3Key, s3Client, sha256Hex } from "../support/s3.ts";

// Two goosed start-ups per test and up to 64 MiB uploads hashed on both sides.
setDefaultTimeout(120_000);

const MiB = 1024 * 1024;
/** What the cut-off uploads announce; far more than is ever sent before the kill. */
const ANNOUNCED_BYTES = 512 * MiB;
/** Sent before the upload stalls: several of the blob writer's 4 MiB batches, so tmp/ has bytes on disk. */
const SENT_BEFORE_STALL = 24 * MiB;
const BUCKET = "crash";

interface Appliance {
  dir: TempDir;
  dataDir: string;
  s3Port: number;
  goosed: RunningGoosed;
  key: S3Key;
  client: Client;
}

let running: Appliance | null = null;

afterEach(async () => {
  await running?.goosed[Symbol.asyncDispose]();
  await running?.dir[Symbol.asyncDispose]();
  running = null;
});

async function startAppliance(): Promise<Appliance> {
  const dir = tempDir("goosed-objects-crash-");
  const dataDir = join(dir.path, "data");
  const s3Port = freePort();
  const goosed = await startGoosed({ dataDir, args: ["--objects-s3-port", String(s3Port)] });
  const key = await createS3Key(goosed, "crash");
  const client = s3Client(`http://127.0.0.1:${s3Port}`, key);
  await client.makeBucket(BUCKET);
  running = { dir, dataDir, s3Port, goosed, key, client };
  return running;
}

/** SIGKILL, then a new goosed on the same data directory and S3 port (the key and bucket live in its database). */
async function killAndRestart(appliance: Appliance): Promise<void> {
  await appliance.goosed.kill();
  appliance.goosed = await startGoosed({ dataDir: appliance.dataDir, args: ["--objects-s3-port", String(appliance.s3Port)] });
}

/**
 * A body that yields `sentBytes` in 1 MiB chunks and then stalls until the process at the other end dies: an
 * upload caught in the middle, whatever the machine's speed.
 */
function stallingBody(sentBytes: number): ReadableStream<Uint8Array> {
  const content = patternedContent(sentBytes, 7);
  const chunks = content.chunks()[Symbol.asyncIterator]();
  return new ReadableStream({
    async pull(controller) {
      const next = await chunks.next();
      if (!next.done) controller.enqueue(next.value);
      else await new Promise(() => {});
    },
  });
}

/** Resolves once <data>/blobs/tmp holds `count` files with bytes in them; polled, as nothing announces a write. */
async function tmpFilesWithBytes(dataDir: string, count: number): Promise<void> {
  const tmp = join(dataDir, "blobs", "tmp");
  const deadline = Date.now() + 60_000;
  for (;;) {
    let names: string[] = [];
    try {
      names = readdirSync(tmp);
    } catch {}
    const filled = names.filter((name) => (statSync(join(tmp, name), { throwIfNoEntry: false })?.size ?? 0) > 0);
    if (filled.length >= count) return;
    if (Date.now() > deadline) throw new Error(`${tmp} never held ${count} files with bytes: ${JSON.stringify(names)}`);
    await Bun.sleep(20);
  }
}

/** Every blob under <data>/blobs/sha256, with whether its bytes hash to its name. */
function blobsOnDisk(dataDir: string): Array<{ digest: string; sizeBytes: number; whole: boolean }> {
  const root = join(dataDir, "blobs", "sha256");
  const blobs: Array<{ digest: string; sizeBytes: number; whole: boolean }> = [];
  for (const prefix of readdirSync(root)) {
    for (const digest of readdirSync(join(root, prefix))) {
      const path = join(root, prefix, digest);
      blobs.push({ digest, sizeBytes: statSync(path).size, whole: sha256Hex(readFileSync(path)) === digest });
    }
  }
  return blobs;
}

const artifactPut = (goosed: RunningGoosed, name: string, body: Blob | ReadableStream<Uint8Array>, sizeBytes: number) =>
  fetch(`${goosed.url}/v1/artifacts/${name}?kind=iso`, {
    method: "PUT",
    headers: { authorization: `Bearer ${goosed.token}`, "content-type": "application/octet-stream", "content-length": String(sizeBytes) },
    body,
  });

async function s3Error(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
  throw new Error("expected an S3 error, the request succeeded");
}

async function objectBytes(client: Client, key: string): Promise<Buffer> {
  return Buffer.concat(await Array.fromAsync(await client.getObject(BUCKET, key)));
}

describe("SIGKILL in the middle of a large PUT", () => {
  test("after a restart the artifact and the object are absent, tmp/ is empty, no blob is partial, and the same PUTs succeed", async () => {
    const appliance = await startAppliance();
    const presigned = await appliance.client.presignedPutObject(BUCKET, "images/big.iso", 600);
    const uploads = [
      artifactPut(appliance.goosed, "big-iso", stallingBody(SENT_BEFORE_STALL), ANNOUNCED_BYTES),
      fetch(presigned, { method: "PUT", headers: { "content-length": String(ANNOUNCED_BYTES) }, body: stallingBody(SENT_BEFORE_STALL) }),
    ].map((upload) => upload.then((response) => `answered ${response.status}`, () => "cut off"));
    await tmpFilesWithBytes(appliance.dataDir, 2);
    await killAndRestart(appliance);
    expect(await Promise.all(uploads)).toEqual(["cut off", "cut off"]);

    const { goosed, client } = appliance;
    await problem(api(goosed, "/v1/artifacts/big-iso"), 404);
    expect((await fetch(`${goosed.url}/artifacts/big-iso`, { method: "HEAD" })).status).toBe(404);
    expect(await s3Error(client.getObject(BUCKET, "images/big.iso"))).toBe("NoSuchKey");
    expect(await s3Error(client.statObject(BUCKET, "images/big.iso"))).toBe("NotFound");
    expect(readdirSync(join(appliance.dataDir, "blobs", "tmp"))).toEqual([]);
    expect(blobsOnDisk(appliance.dataDir).filter((b) => !b.whole)).toEqual([]);

    const content = patternedContent(64 * MiB + 321, 8);
    const created = await json(artifactPut(goosed, "big-iso", new Blob([content.bytes()]), content.sizeBytes), 201);
    expect(created).toMatchObject({ name: "big-iso", kind: "iso", sizeBytes: content.sizeBytes, digest: content.sha256 });
    const served = await fetch(`${goosed.url}/artifacts/big-iso`);
    expect(served.status).toBe(200);
    expect(sha256Hex(await served.arrayBuffer())).toBe(content.sha256);

    const again = await fetch(presigned, { method: "PUT", body: new Blob([content.bytes()]) });
    expect(again.status).toBe(200);
    expect(sha256Hex(await objectBytes(client, "images/big.iso"))).toBe(content.sha256);
    expect(blobsOnDisk(appliance.dataDir)).toEqual([{ digest: content.sha256, sizeBytes: content.sizeBytes, whole: true }]);
  });
});

describe("SIGKILL right after a PUT was answered", () => {
  test("after a restart the artifact and the object are there and whole", async () => {
    const appliance = await startAppliance();
    const artifact = patternedContent(9 * MiB + 5, 11);
    const object = patternedContent(7 * MiB + 3, 12);
    await json(artifactPut(appliance.goosed, "answered-iso", new Blob([artifact.bytes()]), artifact.sizeBytes), 201);
    await appliance.client.putObject(BUCKET, "answered.img", Buffer.from(object.bytes()));
    await killAndRestart(appliance);

    const { goosed, client } = appliance;
    expect(await json(api(goosed, "/v1/artifacts/answered-iso"), 200)).toMatchObject({ sizeBytes: artifact.sizeBytes, digest: artifact.sha256 });
    const served = await fetch(`${goosed.url}/artifacts/answered-iso`);
    expect(served.status).toBe(200);
    expect(sha256Hex(await served.arrayBuffer())).toBe(artifact.sha256);
    expect((await client.statObject(BUCKET, "answered.img")).size).toBe(object.sizeBytes);
    expect(sha256Hex(await objectBytes(client, "answered.img"))).toBe(object.sha256);
    expect(readdirSync(join(appliance.dataDir, "blobs", "tmp"))).toEqual([]);
    expect(blobsOnDisk(appliance.dataDir).every((b) => b.whole)).toBe(true);
  });
});
