// goosed's S3 API on the wire, for what stock clients do not send: aws-chunked uploads (and a tampered chunk),
// Content-MD5 and x-amz-content-sha256 that lie, bodies over the size limit, conditional reads, copies, batch
// deletes, listings page by page, and sub-resources goosed does not implement. Every refusal leaves nothing stored.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { type S3Goosed, startS3Goosed } from "../support/s3.ts";
import { chunkedBody, signRequest } from "../support/sigv4-sign.ts";

setDefaultTimeout(30_000);

const LIMIT = 4 * 1024 * 1024;
let s3: S3Goosed;

const sha256 = (data: Uint8Array | string) => createHash("sha256").update(data).digest("hex");
const md5Base64 = (data: Uint8Array) => createHash("md5").update(data).digest("base64");

/** A signed request to goosed's S3 port; `payloadHash` defaults to the body's real sha256. */
function send(method: string, path: string, options: { body?: Uint8Array; headers?: Record<string, string>; payloadHash?: string } = {}) {
  const url = `${s3.endpoint}${path}`;
  const body = options.body ?? new Uint8Array();
  const signed = signRequest(method, url, options.headers ?? {}, options.payloadHash ?? sha256(body), s3.key);
  return fetch(url, { method, headers: signed.headers, body: method === "GET" || method === "HEAD" ? undefined : body });
}

async function s3Error(response: Response, status: number, code: string): Promise<string> {
  const text = await response.text();
  expect({ status: response.status, code: /<Code>([^<]+)<\/Code>/.exec(text)?.[1] }).toEqual({ status, code });
  return text;
}

const blobFiles = () => readdirSync(join(s3.dir.path, "data", "blobs", "sha256"), { recursive: true }).filter((name) => String(name).length > 3).length;
const tmpFiles = () => readdirSync(join(s3.dir.path, "data", "blobs", "tmp"));

beforeAll(async () => {
  s3 = await startS3Goosed(["--objects-max-object-bytes", String(LIMIT)], "goosed-s3-api-");
  expect((await send("PUT", "/wire")).status).toBe(200);
});

afterAll(async () => {
  await s3?.[Symbol.asyncDispose]();
});

test("an aws-chunked upload is stored whole once every chunk signature checks out", async () => {
  const data = randomBytes(200_000);
  const url = `${s3.endpoint}/wire/chunked.bin`;
  const signed = signRequest("PUT", url, { "content-encoding": "aws-chunked", "x-amz-decoded-content-length": String(data.byteLength) }, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", s3.key);
  const put = await fetch(url, { method: "PUT", headers: signed.headers, body: chunkedBody(data, 65536, signed.seed) });
  expect(put.status).toBe(200);
  expect(put.headers.get("etag")).toBe(`"${createHash("md5").update(data).digest("hex")}"`);
  const got = await send("GET", "/wire/chunked.bin");
  expect(sha256(new Uint8Array(await got.arrayBuffer()))).toBe(sha256(data));
});

test("a chunk whose data was changed after signing is refused, and nothing is stored", async () => {
  const before = blobFiles();
  const data = randomBytes(100_000);
  const url = `${s3.endpoint}/wire/tampered.bin`;
  const signed = signRequest("PUT", url, { "content-encoding": "aws-chunked", "x-amz-decoded-content-length": String(data.byteLength) }, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", s3.key);
  const body = chunkedBody(data, 65536, signed.seed);
  // Flip one byte of the second chunk's data.
  body[body.byteLength - 200] = body[body.byteLength - 200]! ^ 0xff;
  await s3Error(await fetch(url, { method: "PUT", headers: signed.headers, body }), 403, "SignatureDoesNotMatch");
  await s3Error(await send("GET", "/wire/tampered.bin"), 404, "NoSuchKey");
  expect(blobFiles()).toBe(before);
  expect(tmpFiles()).toEqual([]);
});

test("Content-MD5 that does not match is BadDigest, one that is not an MD5 is InvalidDigest", async () => {
  const data = randomBytes(5000);
  await s3Error(await send("PUT", "/wire/md5.bin", { body: data, headers: { "content-md5": md5Base64(randomBytes(10)) } }), 400, "BadDigest");
  await s3Error(await send("PUT", "/wire/md5.bin", { body: data, headers: { "content-md5": "not-an-md5" } }), 400, "InvalidDigest");
  expect((await send("PUT", "/wire/md5.bin", { body: data, headers: { "content-md5": md5Base64(data) } })).status).toBe(200);
  expect(tmpFiles()).toEqual([]);
});

test("a body that does not hash to its signed x-amz-content-sha256 is refused and not stored", async () => {
  const data = randomBytes(5000);
  await s3Error(await send("PUT", "/wire/lying.bin", { body: data, payloadHash: sha256("something else") }), 400, "XAmzContentSHA256Mismatch");
  expect((await send("HEAD", "/wire/lying.bin")).status).toBe(404);
  expect(tmpFiles()).toEqual([]);
});

test("a body over objects.maxObjectBytes is EntityTooLarge, and none of it is kept", async () => {
  const data = randomBytes(LIMIT + 1);
  await s3Error(await send("PUT", "/wire/big.bin", { body: data, payloadHash: "UNSIGNED-PAYLOAD" }), 400, "EntityTooLarge");
  expect(tmpFiles()).toEqual([]);
});

test("GetObject honours If-None-Match, If-Modified-Since and Range, and says InvalidRange past the end", async () => {
  const data = randomBytes(10_000);
  const put = await send("PUT", "/wire/cond.bin", { body: data, headers: { "content-type": "application/x-test", "x-amz-meta-origin": "lab" } });
  const etag = put.headers.get("etag")!;
  const head = await send("HEAD", "/wire/cond.bin");
  expect(head.headers.get("content-type")).toBe("application/x-test");
  expect(head.headers.get("x-amz-meta-origin")).toBe("lab");
  expect(head.headers.get("content-length")).toBe("10000");
  expect((await send("GET", "/wire/cond.bin", { headers: { "if-none-match": etag } })).status).toBe(304);
  expect((await send("GET", "/wire/cond.bin", { headers: { "if-modified-since": new Date(Date.now() + 60_000).toUTCString() } })).status).toBe(304);
  const ranged = await send("GET", "/wire/cond.bin", { headers: { range: "bytes=100-199" } });
  expect(ranged.status).toBe(206);
  expect(Buffer.from(await ranged.arrayBuffer())).toEqual(data.subarray(100, 200));
  const past = await send("GET", "/wire/cond.bin", { headers: { range: "bytes=20000-" } });
  expect(past.headers.get("content-range")).toBe("bytes */10000");
  await s3Error(past, 416, "InvalidRange");
  await s3Error(await send("GET", "/wire/cond.bin", { headers: { "if-match": '"nope"' } }), 412, "PreconditionFailed");
});

test("CopyObject copies by content address, and REPLACE takes the new metadata", async () => {
  const data = randomBytes(3000);
  await send("PUT", "/wire/orig.bin", { body: data, headers: { "x-amz-meta-a": "1" } });
  const before = blobFiles();
  const copied = await send("PUT", "/wire/copy.bin", { headers: { "x-amz-copy-source": "/wire/orig.bin" } });
  expect(copied.status).toBe(200);
  expect(await copied.text()).toContain("<CopyObjectResult");
  expect(blobFiles()).toBe(before);
  const replaced = await send("PUT", "/wire/copy2.bin", { headers: { "x-amz-copy-source": "wire/orig.bin", "x-amz-metadata-directive": "REPLACE", "x-amz-meta-b": "2" } });
  expect(replaced.status).toBe(200);
  const head = await send("HEAD", "/wire/copy2.bin");
  expect([head.headers.get("x-amz-meta-a"), head.headers.get("x-amz-meta-b")]).toEqual([null, "2"]);
  expect(sha256(new Uint8Array(await (await send("GET", "/wire/copy.bin")).arrayBuffer()))).toBe(sha256(data));
  await s3Error(await send("PUT", "/wire/copy3.bin", { headers: { "x-amz-copy-source": "/wire/absent" } }), 404, "NoSuchKey");
});

test("DeleteObjects deletes a batch and reports each key; missing keys count as deleted, as in S3", async () => {
  for (const key of ["d1", "d2"]) await send("PUT", `/wire/${key}`, { body: randomBytes(10) });
  const body = new TextEncoder().encode(
    `<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>d1</Key></Object><Object><Key>d2</Key></Object><Object><Key>never</Key></Object></Delete>`,
  );
  const deleted = await send("POST", "/wire?delete", { body, headers: { "content-md5": md5Base64(body) } });
  expect(deleted.status).toBe(200);
  const text = await deleted.text();
  expect(text.match(/<Deleted>/g)?.length).toBe(3);
  expect((await send("HEAD", "/wire/d1")).status).toBe(404);
  await s3Error(await send("POST", "/wire?delete", { body: new TextEncoder().encode("<Delete><Object>") }), 400, "MalformedXML");
});

test("ListObjectsV2 pages by continuation token and rolls keys under the delimiter into common prefixes", async () => {
  await send("PUT", "/listing");
  const keys = ["a/1", "a/2", "b/1", "c", "d", "e/x/y"];
  for (const key of keys) await send("PUT", `/listing/${key}`, { body: randomBytes(1) });
  const seen: string[] = [];
  let token: string | undefined;
  for (let page = 0; page < 10; page++) {
    const query = `list-type=2&delimiter=%2F&max-keys=2${token ? `&continuation-token=${encodeURIComponent(token)}` : ""}`;
    const text = await (await send("GET", `/listing?${query}`)).text();
    seen.push(...[...text.matchAll(/<Key>([^<]+)<\/Key>|<Prefix>([^<]+)<\/Prefix>/g)].map((m) => m[1] ?? m[2]!).filter(Boolean));
    token = /<NextContinuationToken>([^<]+)</.exec(text)?.[1];
    if (!/<IsTruncated>true</.test(text)) break;
  }
  expect(seen).toEqual(["a/", "b/", "c", "d", "e/"]);
  const under = await (await send("GET", "/listing?list-type=2&prefix=a%2F")).text();
  expect([...under.matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => m[1])).toEqual(["a/1", "a/2"]);
});

test("bucket errors: a bad name, a bucket that exists, a bucket that is not empty, a region goosed is not", async () => {
  await s3Error(await send("PUT", "/No_Such"), 400, "InvalidBucketName");
  await s3Error(await send("PUT", "/wire"), 409, "BucketAlreadyOwnedByYou");
  await s3Error(await send("DELETE", "/wire"), 409, "BucketNotEmpty");
  const elsewhere = new TextEncoder().encode(`<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>`);
  await s3Error(await send("PUT", "/elsewhere", { body: elsewhere }), 400, "InvalidLocationConstraint");
  expect(await (await send("GET", "/wire?location")).text()).toContain("<LocationConstraint");
  await send("PUT", "/empty");
  expect((await send("DELETE", "/empty")).status).toBe(204);
  await s3Error(await send("GET", "/empty?list-type=2"), 404, "NoSuchBucket");
});

test("unsigned requests are AccessDenied; unimplemented sub-resources are NotImplemented, not a wrong answer", async () => {
  await s3Error(await fetch(`${s3.endpoint}/wire/cond.bin`), 403, "AccessDenied");
  await s3Error(await send("GET", "/wire?acl"), 501, "NotImplemented");
  await s3Error(await send("PUT", "/wire/cond.bin?tagging", { body: new Uint8Array() }), 501, "NotImplemented");
  // The appliance still answers after every refusal above.
  expect((await fetch(`${s3.goosed.url}/healthz`)).status).toBe(200);
});

test("an artifact upload over objects.maxObjectBytes is a 413 problem naming the setting, and none of it is kept", async () => {
  const refused = await fetch(`${s3.goosed.url}/v1/artifacts/too-big?kind=iso`, {
    method: "PUT",
    headers: { authorization: `Bearer ${s3.goosed.token}` },
    body: randomBytes(LIMIT + 1),
  });
  expect(refused.status).toBe(413);
  expect(await refused.json()).toMatchObject({ type: "/problems/artifact-too-large", detail: expect.stringContaining("objects.maxObjectBytes") });
  expect(tmpFiles()).toEqual([]);
});
