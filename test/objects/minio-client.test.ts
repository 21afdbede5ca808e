// The minio npm client, as a lab's tooling would use it, against goosed's S3 API on its own port: single PUTs, a
// multipart upload, stat, list, range reads, delete and a presigned GET fetched without the client.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Readable } from "node:stream";
import { listKeys, patternedContent, type S3Goosed, s3Client, sha256Hex, startS3Goosed } from "../support/s3.ts";

const BUCKET = "lab-tools";
const MiB = 1024 * 1024;

let s3: S3Goosed;

beforeAll(async () => {
  s3 = await startS3Goosed([], "goosed-minio-");
  await s3.client.makeBucket(BUCKET);
});

afterAll(async () => {
  await s3?.[Symbol.asyncDispose]();
});

async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

test("bucketExists sees the bucket and not another", async () => {
  expect(await s3.client.bucketExists(BUCKET)).toBe(true);
  expect(await s3.client.bucketExists("no-such-bucket")).toBe(false);
});

test("putObject of a buffer, then statObject, getObject and getPartialObject", async () => {
  const body = Buffer.from("#!ipxe\nchain http://goosed/boot.ipxe\n");
  const put = await s3.client.putObject(BUCKET, "scripts/boot.ipxe", body, body.length, { "Content-Type": "text/plain", "x-amz-meta-owner": "lab" });
  const md5 = new Bun.CryptoHasher("md5").update(body).digest("hex");
  expect(put.etag).toBe(md5);
  const stat = await s3.client.statObject(BUCKET, "scripts/boot.ipxe");
  expect({ size: stat.size, etag: stat.etag, owner: stat.metaData.owner, type: stat.metaData["content-type"] }).toEqual({ size: body.length, etag: md5, owner: "lab", type: "text/plain" });
  expect(await readAll(await s3.client.getObject(BUCKET, "scripts/boot.ipxe"))).toEqual(body);
  expect(await readAll(await s3.client.getPartialObject(BUCKET, "scripts/boot.ipxe", 7, 5))).toEqual(body.subarray(7, 12));
});

test("putObject of a stream with its size", async () => {
  const content = patternedContent(3 * MiB, 2);
  await s3.client.putObject(BUCKET, "streams/three-mib", Readable.from(content.chunks()), content.sizeBytes);
  expect(sha256Hex(await readAll(await s3.client.getObject(BUCKET, "streams/three-mib")))).toBe(content.sha256);
});

test("a 20 MiB object goes up in 5 MiB parts and comes back whole", async () => {
  const client = s3Client(s3.endpoint, s3.key, { partSize: 5 * MiB });
  const content = patternedContent(20 * MiB, 9);
  const put = await client.putObject(BUCKET, "isos/twenty-mib.iso", Readable.from(content.chunks()), content.sizeBytes);
  // A multipart ETag: the MD5 of the parts' MD5s, then the part count.
  expect(put.etag).toMatch(/^[0-9a-f]{32}-4$/);
  const stat = await client.statObject(BUCKET, "isos/twenty-mib.iso");
  expect(stat.size).toBe(content.sizeBytes);
  expect(sha256Hex(await readAll(await client.getObject(BUCKET, "isos/twenty-mib.iso")))).toBe(content.sha256);
  const tail = await readAll(await client.getPartialObject(BUCKET, "isos/twenty-mib.iso", 20 * MiB - 10));
  expect(tail).toEqual(Buffer.from(content.bytes().slice(20 * MiB - 10)));
});

test("listObjectsV2 lists keys recursively, by prefix and by delimiter", async () => {
  for (const key of ["tree/a", "tree/b/c", "tree/b/d", "treetop"]) await s3.client.putObject(BUCKET, key, Buffer.from(key));
  expect(await listKeys(s3.client, BUCKET, "tree")).toEqual(["tree/a", "tree/b/c", "tree/b/d", "treetop"]);
  expect(await listKeys(s3.client, BUCKET, "tree/b/")).toEqual(["tree/b/c", "tree/b/d"]);
  const shallow: Array<{ name?: string; prefix?: string; size: number }> = [];
  for await (const item of s3.client.listObjectsV2(BUCKET, "tree/", false)) shallow.push(item as { name?: string; prefix?: string; size: number });
  expect(shallow.map((i) => i.name ?? i.prefix)).toEqual(["tree/a", "tree/b/"]);
  expect(shallow.find((i) => i.name === "tree/a")?.size).toBe(6);
});

test("listObjectsV2 pages through more keys than one answer holds", async () => {
  const keys = Array.from({ length: 1_005 }, (_, i) => `many/${String(i).padStart(5, "0")}`);
  for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((key) => s3.client.putObject(BUCKET, key, Buffer.from(key))));
  expect(await listKeys(s3.client, BUCKET, "many/")).toEqual(keys);
});

test("removeObject deletes, and statObject then says NotFound", async () => {
  await s3.client.putObject(BUCKET, "gone", Buffer.from("soon gone"));
  await s3.client.removeObject(BUCKET, "gone");
  const error = await s3.client.statObject(BUCKET, "gone").catch((e: unknown) => e);
  expect((error as { code?: string }).code).toBe("NotFound");
  const get = await s3.client.getObject(BUCKET, "gone").catch((e: unknown) => e);
  expect((get as { code?: string }).code).toBe("NoSuchKey");
});

test("a presigned GET is fetched without the client, whole and by range", async () => {
  const content = patternedContent(2 * MiB + 17, 4);
  await s3.client.putObject(BUCKET, "presigned/initrd.img", Buffer.from(content.bytes()));
  const url = await s3.client.presignedGetObject(BUCKET, "presigned/initrd.img", 600);
  const whole = await fetch(url);
  expect(whole.status).toBe(200);
  expect(sha256Hex(await whole.arrayBuffer())).toBe(content.sha256);
  const part = await fetch(url, { headers: { range: "bytes=100-199" } });
  expect(part.status).toBe(206);
  expect(new Uint8Array(await part.arrayBuffer())).toEqual(content.bytes().slice(100, 200));
  // The signature covers the path: the same query on another key is refused.
  const other = await fetch(url.replace("presigned/initrd.img", "presigned/other"));
  expect(other.status).toBe(403);
});
