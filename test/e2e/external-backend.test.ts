// Issue 5's done-when: a second goosed configured with the first as its external S3 backend stores and serves
// artifacts through it. B keeps only metadata; its blobs are sha256/<digest> keys in A's bucket.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { json } from "../support/http.ts";
import { api, type RunningGoosed, runGoosed, startGoosed, type TempDir, tempDir } from "../support/goosed.ts";
import { createS3Key, freePort, listKeys, patternedContent, type S3Goosed, s3Client, sha256Hex, startS3Goosed } from "../support/s3.ts";

const BUCKET = "blobs";
const MiB = 1024 * 1024;

let a: S3Goosed;
let b: RunningGoosed;
let bDir: TempDir;
let bS3Port = 0;

function backendArgs(overrides: { bucket?: string; secretKey?: string } = {}): string[] {
  return [
    "--objects-backend",
    "s3",
    "--objects-s3-endpoint",
    a.endpoint,
    "--objects-s3-bucket",
    overrides.bucket ?? BUCKET,
    "--objects-s3-access-key",
    a.key.accessKey,
    "--objects-s3-secret-key",
    overrides.secretKey ?? a.key.secretKey,
  ];
}

beforeAll(async () => {
  a = await startS3Goosed([], "goosed-external-a-");
  await a.client.makeBucket(BUCKET);
  bDir = tempDir("goosed-external-b-");
  bS3Port = freePort();
  b = await startGoosed({ dataDir: join(bDir.path, "data"), args: [...backendArgs(), "--objects-s3-port", String(bS3Port)] });
});

afterAll(async () => {
  await b?.[Symbol.asyncDispose]();
  await bDir?.[Symbol.asyncDispose]();
  await a?.[Symbol.asyncDispose]();
});

test("B reports its blobs in A's bucket", async () => {
  const ready = await json(fetch(`${b.url}/readyz`), 200);
  expect(ready.services.objects.detail).toStartWith(`S3 bucket ${BUCKET} at ${a.endpoint}`);
});

test("an artifact added to B with the CLI is stored in A's bucket and served by B whole and by range", async () => {
  // Larger than a part (16 MiB), so B uploads to A in parts through tmp/ and copies it to its address.
  const content = patternedContent(24 * MiB + 123, 21);
  const file = join(bDir.path, "vmlinuz");
  writeFileSync(file, content.bytes());
  expect(await addArtifact(b, "vmlinuz-external", file, "kernel")).toMatchObject({ name: "vmlinuz-external", kind: "kernel", sizeBytes: content.sizeBytes, digest: content.sha256 });

  const whole = await fetch(`${b.url}/artifacts/vmlinuz-external`);
  expect(whole.status).toBe(200);
  // A remote blob is a stream body, which Bun 1.4 sends chunked whatever Content-Length says (see serve.ts).
  expect([String(content.sizeBytes), null]).toContain(whole.headers.get("content-length"));
  expect(sha256Hex(await whole.arrayBuffer())).toBe(content.sha256);

  const start = 16 * MiB - 5;
  const ranged = await fetch(`${b.url}/artifacts/vmlinuz-external`, { headers: { range: `bytes=${start}-${start + 9}` } });
  expect(ranged.status).toBe(206);
  expect(ranged.headers.get("content-range")).toBe(`bytes ${start}-${start + 9}/${content.sizeBytes}`);
  expect(new Uint8Array(await ranged.arrayBuffer())).toEqual(content.bytes().slice(start, start + 10));

  const suffix = await fetch(`${b.url}/artifacts/vmlinuz-external`, { headers: { range: "bytes=-7" } });
  expect(suffix.status).toBe(206);
  expect(new Uint8Array(await suffix.arrayBuffer())).toEqual(content.bytes().slice(-7));

  // A holds the blob under its content address, nothing in tmp/; B holds no blob of its own.
  const stat = await a.client.statObject(BUCKET, `sha256/${content.sha256}`);
  expect(stat.size).toBe(content.sizeBytes);
  expect(await listKeys(a.client, BUCKET, "tmp/")).toEqual([]);
  const bBlobs = join(b.dataDir, "blobs", "sha256");
  expect(existsSync(bBlobs) ? readdirSync(bBlobs) : []).toEqual([]);
});

test("an object put into B's own S3 API lands in A's bucket and B serves it back", async () => {
  const client = s3Client(`http://127.0.0.1:${bS3Port}`, await createS3Key(b, "b-test"));
  await client.makeBucket("isos");
  const body = Buffer.from("an object stored through B's S3 API\n");
  await client.putObject("isos", "notes.txt", body, body.length);
  const chunks: Buffer[] = [];
  for await (const chunk of await client.getObject("isos", "notes.txt")) chunks.push(chunk as Buffer);
  expect(Buffer.concat(chunks)).toEqual(body);
  expect(await listKeys(a.client, BUCKET, `sha256/${sha256Hex(body)}`)).toEqual([`sha256/${sha256Hex(body)}`]);
});

test("B's artifact API answers with the digest A stores", async () => {
  const artifact = await json(api(b, "/v1/artifacts/vmlinuz-external"), 200);
  expect(await a.client.statObject(BUCKET, `sha256/${artifact.digest}`)).toMatchObject({ size: artifact.sizeBytes });
});

test("goosed with a missing bucket or a wrong secret does not start, and says what to fix", async () => {
  await using dir = tempDir("goosed-external-bad-");
  const missing = await runGoosed(["serve", "--data-dir", join(dir.path, "one"), "--http-port", "0", "--http-host", "127.0.0.1", ...backendArgs({ bucket: "nope" })]);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toContain(`has no bucket nope (objects.s3.bucket): create the bucket first`);
  const refused = await runGoosed(["serve", "--data-dir", join(dir.path, "two"), "--http-port", "0", "--http-host", "127.0.0.1", ...backendArgs({ secretKey: "x".repeat(40) })]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain("check objects.s3.accessKey and objects.s3.secretKey");
});

/** `goosed artifact add <name> <file> --kind <kind> --json` against `goosed`. */
async function addArtifact(goosed: RunningGoosed, name: string, file: string, kind: string): Promise<Record<string, unknown>> {
  const added = await runGoosed(["artifact", "add", name, file, "--kind", kind, "--json"], { GOOSED_API: goosed.url, GOOSED_TOKEN: goosed.token });
  expect(added.stderr).toContain("100%");
  expect(added.code).toBe(0);
  return JSON.parse(added.stdout) as Record<string, unknown>;
}
