// S3BlobBackend against a real goosed serving S3 on its own port: blobs land under sha256/<digest>, every refusal
// leaves neither a tmp/ key nor an open multipart upload, and connect() says what to fix when it cannot start.
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { BlobWriteError, type PutOptions } from "../../src/objects/backend.ts";
import { S3BlobBackend } from "../../src/objects/s3-backend.ts";
import { AppError } from "../../src/lib/errors.ts";
import { freePort, listKeys, patternedContent, type S3Goosed, sha256Hex, startS3Goosed } from "../support/s3.ts";

const BUCKET = "blobs";
const MiB = 1024 * 1024;

let s3: S3Goosed;
let backend: S3BlobBackend;

beforeAll(async () => {
  s3 = await startS3Goosed([], "goosed-s3-backend-");
  await s3.client.makeBucket(BUCKET);
  backend = await S3BlobBackend.connect({ endpoint: s3.endpoint, bucket: BUCKET, region: "us-east-1", ...s3.key });
});

afterAll(async () => {
  await s3?.[Symbol.asyncDispose]();
});

const settings = () => ({ endpoint: s3.endpoint, bucket: BUCKET, region: "us-east-1", ...s3.key });

async function bytesOf(body: ReadableStream<Uint8Array> | Blob | null): Promise<Uint8Array> {
  if (body === null) throw new Error("expected content, got null");
  return new Uint8Array(await new Response(body).arrayBuffer());
}

function stream(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new Blob([bytes]).stream();
}

/** Multipart uploads goosed still holds open: a refused put must have aborted its own. */
function openUploads(): number {
  const db = new Database(join(s3.goosed.dataDir, "goosed.db"), { readonly: true });
  try {
    return db.query<{ n: number }, []>("SELECT count(*) AS n FROM multipart_uploads").get()!.n;
  } finally {
    db.close();
  }
}

describe("put, read, has, delete, list", () => {
  test("a small blob is stored at sha256/<digest> and read back whole and by range", async () => {
    const bytes = new TextEncoder().encode("vmlinuz for the external backend\n");
    const stored = await backend.put(stream(bytes));
    expect(stored).toEqual({ digest: sha256Hex(bytes), sizeBytes: bytes.byteLength, md5Hex: new Bun.CryptoHasher("md5").update(bytes).digest("hex") });
    expect(await listKeys(s3.client, BUCKET, `sha256/${stored.digest}`)).toEqual([`sha256/${stored.digest}`]);
    expect(await backend.has(stored.digest)).toBe(true);
    expect(await bytesOf(await backend.read(stored.digest))).toEqual(bytes);
    expect(await bytesOf(await backend.read(stored.digest, { start: 4, end: 10 }))).toEqual(bytes.slice(4, 11));
    expect(await bytesOf(await backend.read(stored.digest, { start: bytes.byteLength - 1, end: bytes.byteLength - 1 }))).toEqual(bytes.slice(-1));
  });

  test("an empty blob is stored too", async () => {
    const stored = await backend.put(stream(new Uint8Array(0)));
    expect(stored.digest).toBe(sha256Hex(new Uint8Array(0)));
    expect(stored.sizeBytes).toBe(0);
    expect(await bytesOf(await backend.read(stored.digest))).toEqual(new Uint8Array(0));
  });

  test("a 40 MiB stream goes up in parts through tmp/ and is copied to its address; nothing stays in tmp/", async () => {
    const content = patternedContent(40 * MiB, 7);
    const stored = await backend.put(content.chunks(), { expectedBytes: content.sizeBytes, expectedSha256: content.sha256, expectedMd5Hex: content.md5 });
    expect(stored).toEqual({ digest: content.sha256, sizeBytes: content.sizeBytes, md5Hex: content.md5 });
    expect(sha256Hex(await bytesOf(await backend.read(stored.digest)))).toBe(content.sha256);
    const range = await bytesOf(await backend.read(stored.digest, { start: 16 * MiB - 3, end: 16 * MiB + 2 }));
    expect(range).toEqual(content.bytes().slice(16 * MiB - 3, 16 * MiB + 3));
    expect(await listKeys(s3.client, BUCKET, "tmp/")).toEqual([]);
    expect(openUploads()).toBe(0);
  });

  test("identical content is stored once", async () => {
    const bytes = new TextEncoder().encode("stored once");
    const first = await backend.put(stream(bytes));
    const second = await backend.put(stream(bytes));
    const third = await backend.put(stream(bytes), { expectedSha256: first.digest });
    expect(second).toEqual(first);
    expect(third).toEqual(first);
    expect(await listKeys(s3.client, BUCKET, `sha256/${first.digest}`)).toEqual([`sha256/${first.digest}`]);
  });

  test("a missing or malformed digest reads as null and has() is false", async () => {
    const missing = "0".repeat(64);
    expect(await backend.read(missing)).toBeNull();
    expect(await backend.read(missing, { start: 0, end: 1 })).toBeNull();
    expect(await backend.has(missing)).toBe(false);
    expect(await backend.read("not-a-digest")).toBeNull();
    expect(await backend.has("../etc/passwd")).toBe(false);
  });

  test("delete removes the blob and is quiet about a missing one", async () => {
    const stored = await backend.put(stream(new TextEncoder().encode("to be deleted")));
    await backend.delete(stored.digest);
    expect(await backend.has(stored.digest)).toBe(false);
    expect(await backend.read(stored.digest)).toBeNull();
    await backend.delete(stored.digest);
  });

  test("list yields every blob under sha256/ with its size and LastModified, and nothing else", async () => {
    const a = await backend.put(stream(new TextEncoder().encode("list a")));
    const b = await backend.put(stream(new TextEncoder().encode("list bb")));
    // A key outside sha256/ and a malformed one inside it are not blobs.
    await s3.client.putObject(BUCKET, "other/file", Buffer.from("x"));
    await s3.client.putObject(BUCKET, "sha256/not-a-digest", Buffer.from("x"));
    const listed = [];
    for await (const blob of backend.list()) listed.push(blob);
    const digests = listed.map((l) => l.digest);
    expect(digests).toEqual([...digests].sort());
    expect(listed.find((l) => l.digest === a.digest)).toMatchObject({ sizeBytes: 6 });
    expect(listed.find((l) => l.digest === b.digest)).toMatchObject({ sizeBytes: 7 });
    expect(listed.every((l) => /^[0-9a-f]{64}$/.test(l.digest) && Math.abs(Date.now() - l.mtimeMs) < 600_000)).toBe(true);
  });

  test("usedBytes is null: summing a bucket costs a listing", async () => {
    expect(await backend.usedBytes()).toBeNull();
  });
});

describe("refusals leave nothing behind", () => {
  const small = patternedContent(100_000, 3);
  // Larger than one part (16 MiB), so the refusal comes with a multipart upload open or completed.
  const large = patternedContent(20 * MiB, 5);
  const cases: Array<{ name: string; content: typeof small; options: () => PutOptions; reason: string }> = [
    { name: "small, too large", content: small, options: () => ({ maxBytes: 99_999 }), reason: "too-large" },
    { name: "small, more bytes than announced", content: small, options: () => ({ expectedBytes: 99_000 }), reason: "size-mismatch" },
    { name: "small, fewer bytes than announced", content: small, options: () => ({ expectedBytes: 100_001 }), reason: "size-mismatch" },
    { name: "small, sha256 mismatch", content: small, options: () => ({ expectedSha256: "ab".repeat(32) }), reason: "sha256-mismatch" },
    { name: "small, md5 mismatch", content: small, options: () => ({ expectedMd5Hex: "cd".repeat(16) }), reason: "md5-mismatch" },
    { name: "small, aborted", content: small, options: () => ({ signal: AbortSignal.abort() }), reason: "aborted" },
    { name: "multipart, too large after the first part", content: large, options: () => ({ maxBytes: 17 * MiB }), reason: "too-large" },
    { name: "multipart, more bytes than announced", content: large, options: () => ({ expectedBytes: 19 * MiB }), reason: "size-mismatch" },
    { name: "multipart, fewer bytes than announced", content: large, options: () => ({ expectedBytes: 21 * MiB }), reason: "size-mismatch" },
    { name: "multipart, sha256 mismatch", content: large, options: () => ({ expectedSha256: "ab".repeat(32) }), reason: "sha256-mismatch" },
    { name: "multipart, sha256 mismatch of a stored blob", content: large, options: () => ({ expectedSha256: STORED_DIGEST }), reason: "sha256-mismatch" },
    { name: "multipart, md5 mismatch", content: large, options: () => ({ expectedMd5Hex: "cd".repeat(16) }), reason: "md5-mismatch" },
  ];
  let STORED_DIGEST = "";

  beforeAll(async () => {
    STORED_DIGEST = (await backend.put(stream(new TextEncoder().encode("a blob that is stored")))).digest;
  });

  test.each(cases)("$name: $reason", async ({ content, options, reason }) => {
    const error = await backend.put(content.chunks(), options()).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BlobWriteError);
    expect((error as BlobWriteError).reason).toBe(reason as BlobWriteError["reason"]);
    expect(await listKeys(s3.client, BUCKET, "tmp/")).toEqual([]);
    expect(await backend.has(content.sha256)).toBe(false);
    expect(openUploads()).toBe(0);
  });

  test("aborted mid-stream: the open multipart upload is aborted", async () => {
    const controller = new AbortController();
    const content = patternedContent(40 * MiB, 11);
    async function* slowAfterTwentyMiB() {
      let sent = 0;
      for await (const chunk of content.chunks()) {
        yield chunk;
        sent += chunk.byteLength;
        if (sent === 20 * MiB) {
          controller.abort(new Error("client went away"));
          await new Promise(() => {});
        }
      }
    }
    const error = await backend.put(slowAfterTwentyMiB(), { signal: controller.signal }).catch((e: unknown) => e);
    expect((error as BlobWriteError).reason).toBe("aborted");
    expect(await listKeys(s3.client, BUCKET, "tmp/")).toEqual([]);
    expect(openUploads()).toBe(0);
  });
});

describe("connect", () => {
  async function connectError(overrides: Partial<ReturnType<typeof settings>>): Promise<AppError> {
    const error = await S3BlobBackend.connect({ ...settings(), ...overrides }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }

  test("an endpoint nothing listens on is unreachable, and the message names the setting", async () => {
    const endpoint = `http://127.0.0.1:${freePort()}`;
    const error = await connectError({ endpoint });
    expect(error.code).toBe("objects-s3-unreachable");
    expect(error.detail).toBe(`cannot reach the S3 endpoint ${endpoint} (objects.s3.endpoint): ECONNREFUSED; check the URL and port and that the S3 service is running`);
  });

  test("a wrong secret is refused credentials", async () => {
    const error = await connectError({ secretKey: `${s3.key.secretKey.slice(1)}x` });
    expect(error.code).toBe("objects-s3-credentials-refused");
    expect(error.detail).toBe(
      `the S3 endpoint ${s3.endpoint} (objects.s3.endpoint) refused the key ${s3.key.accessKey} for bucket ${BUCKET}: check objects.s3.accessKey and objects.s3.secretKey, and that the key may use the bucket`,
    );
  });

  test("an unknown access key is refused credentials", async () => {
    const error = await connectError({ accessKey: "AKIANOSUCHKEY0000000" });
    expect(error.code).toBe("objects-s3-credentials-refused");
  });

  test("a missing bucket says to create it", async () => {
    const error = await connectError({ bucket: "no-such-bucket" });
    expect(error.code).toBe("objects-s3-bucket-missing");
    expect(error.detail).toBe(`the S3 endpoint ${s3.endpoint} (objects.s3.endpoint) has no bucket no-such-bucket (objects.s3.bucket): create the bucket first, or name an existing one`);
  });

  const invalidCases = [
    { name: "empty endpoint", overrides: { endpoint: "" }, path: "/objects/s3/endpoint", message: "set the URL of the S3 endpoint, e.g. http://minio.lab:9000" },
    { name: "not a URL", overrides: { endpoint: "minio.lab:9000" }, path: "/objects/s3/endpoint", message: "must be an http:// or https:// URL such as http://minio.lab:9000, not minio.lab:9000" },
    { name: "no scheme, no port", overrides: { endpoint: "minio" }, path: "/objects/s3/endpoint", message: '"minio" is not a URL; write it as http://host:port' },
    { name: "ftp scheme", overrides: { endpoint: "ftp://minio.lab:21" }, path: "/objects/s3/endpoint", message: "must be an http:// or https:// URL such as http://minio.lab:9000, not ftp://minio.lab:21" },
    {
      name: "a path prefix",
      overrides: { endpoint: "http://goosed.lab:8080/s3" },
      path: "/objects/s3/endpoint",
      message: "must be only scheme, host and port (no path, query or credentials), e.g. http://minio.lab:9000",
    },
    { name: "empty bucket", overrides: { bucket: "" }, path: "/objects/s3/bucket", message: "set the bucket that holds goosed's blobs" },
    {
      name: "a bucket name S3 refuses",
      overrides: { bucket: "Goosed_Blobs" },
      path: "/objects/s3/bucket",
      message: '"Goosed_Blobs" is not an S3 bucket name: 3 to 63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit',
    },
    { name: "empty access key", overrides: { accessKey: "" }, path: "/objects/s3/accessKey", message: "set the access key goosed signs with" },
    { name: "empty secret key", overrides: { secretKey: "" }, path: "/objects/s3/secretKey", message: "set the secret key of objects.s3.accessKey" },
  ];

  test.each(invalidCases)("settings: $name", async ({ overrides, path, message }) => {
    const error = await connectError(overrides);
    expect(error.code).toBe("validation-failed");
    expect(error.errors).toEqual([{ path, message }]);
    expect(error.detail).toBe(`objects.backend is s3 but its settings are incomplete: ${path}: ${message}`);
  });
});
