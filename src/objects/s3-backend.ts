// Blobs in a bucket of an external S3 cluster (objects.backend: s3), under sha256/<digest>, through the minio client.
// A put streams to tmp/<random> while hashing and is copied server-side to its content address once checked.
import { randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import { Client, CopyDestinationOptions, CopySourceOptions } from "minio";
import { AppError, type FieldError, invalid } from "../lib/errors.ts";
import { type BlobBackend, type BlobRange, BlobWriteError, nextChunk, type PutOptions, refuseMismatch, refuseOverLength, type StoredBlob } from "./backend.ts";

export interface S3BackendSettings {
  endpoint: string;
  bucket: string;
  region: string;
  accessKey: string;
  secretKey: string;
}

const DIGEST = /^[0-9a-f]{64}$/;
// S3 bucket naming rules (AWS S3 "Bucket naming rules"), which the minio client also enforces before any request.
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const BLOB_PREFIX = "sha256/";
const TMP_PREFIX = "tmp/";
const MiB = 1024 * 1024;
// S3's multipart limits (AWS S3 "Multipart upload limits"): 10,000 parts of 5 MiB to 5 GiB, the last one smaller.
const MAX_PARTS = 10_000;
// One part is filled while the one before it uploads, so a put holds at most two parts whatever the stream's size:
// 32 MiB for the first 1,000 parts (16 GB). Without a size known in advance the part size doubles every 1,000
// parts up to 512 MiB, which carries a stream of about 2.9 TiB in 10,000 parts.
const FIRST_PART_BYTES = 16 * MiB;
const MAX_PART_BYTES = 512 * MiB;
const PARTS_PER_STEP = 1_000;
// CopyObject copies at most 5 GiB in one request on AWS S3 (CopyObject); larger blobs may need copying part by part.
const MAX_COPY_BYTES = 5 * 1024 * MiB;
// connect() gives up on an endpoint that does not answer its first request within this long.
const CONNECT_TIMEOUT_MS = 10_000;

type Source = ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

export class S3BlobBackend implements BlobBackend {
  readonly kind = "s3" as const;

  private constructor(
    private readonly client: Client,
    readonly bucket: string,
  ) {}

  /** Checks the settings, then that the endpoint answers, accepts the key and has the bucket; says what to fix if not. */
  static async connect(settings: S3BackendSettings): Promise<S3BlobBackend> {
    const url = checkSettings(settings);
    const client = new Client({
      endPoint: url.hostname.replace(/^\[|\]$/g, ""),
      port: url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port),
      useSSL: url.protocol === "https:",
      accessKey: settings.accessKey,
      secretKey: settings.secretKey,
      region: settings.region,
      // Path-style requests: an appliance-local cluster rarely has wildcard DNS for bucket subdomains.
      pathStyle: true,
    });
    const where = `the S3 endpoint ${settings.endpoint} (objects.s3.endpoint)`;
    let timer: Timer | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`)), CONNECT_TIMEOUT_MS);
    });
    let exists: boolean;
    try {
      exists = await Promise.race([client.bucketExists(settings.bucket), timeout]);
    } catch (err) {
      throw connectError(err, settings, where);
    } finally {
      clearTimeout(timer);
    }
    if (!exists) {
      throw new AppError({
        code: "objects-s3-bucket-missing",
        status: 500,
        title: "S3 bucket missing",
        detail: `${where} has no bucket ${settings.bucket} (objects.s3.bucket): create the bucket first, or name an existing one`,
      });
    }
    return new S3BlobBackend(client, settings.bucket);
  }

  async put(source: Source, options: PutOptions = {}): Promise<StoredBlob> {
    const { signal, expectedBytes } = options;
    const expectedSha256 = options.expectedSha256?.toLowerCase();
    const expectedMd5Hex = options.expectedMd5Hex?.toLowerCase();
    if (signal?.aborted) throw new BlobWriteError("aborted", "the upload was aborted", { cause: signal.reason });
    const iterator = source[Symbol.asyncIterator]();
    const tmpKey = `${TMP_PREFIX}${randomUUID()}`;
    let upload: MultipartUpload | null = null;
    let tmpWritten = false;
    try {
      // A second put of a blob we already hold only hashes, to check it.
      const onlyHash = expectedSha256 !== undefined && DIGEST.test(expectedSha256) && (await this.has(expectedSha256));
      const sha256 = new Bun.CryptoHasher("sha256");
      const md5 = options.md5 !== false || expectedMd5Hex !== undefined ? new Bun.CryptoHasher("md5") : null;
      let totalBytes = 0;
      let partBytes = Math.max(FIRST_PART_BYTES, expectedBytes === undefined ? 0 : Math.ceil(expectedBytes / MAX_PARTS / MiB) * MiB);
      let part: Buffer | null = onlyHash ? null : Buffer.allocUnsafe(partBytes);
      let spare: Buffer | null = null;
      let filled = 0;

      for (;;) {
        const next = await nextChunk(iterator, signal);
        if (next.done) break;
        const chunk = next.value;
        totalBytes += chunk.byteLength;
        refuseOverLength(totalBytes, options);
        sha256.update(chunk);
        md5?.update(chunk);
        if (part === null) continue;
        for (let offset = 0; offset < chunk.byteLength; ) {
          const n = Math.min(part.byteLength - filled, chunk.byteLength - offset);
          part.set(chunk.subarray(offset, offset + n), filled);
          filled += n;
          offset += n;
          if (filled === part.byteLength) {
            upload ??= await MultipartUpload.start(this.client, this.bucket, tmpKey);
            // send() returns once the part before this one is acknowledged, so that part's buffer is free again: two
            // buffers take turns rather than one allocation per part waiting for the collector.
            await upload.send(part);
            if (upload.sentParts % PARTS_PER_STEP === 0) partBytes = Math.min(partBytes * 2, MAX_PART_BYTES);
            const sent: Buffer = part;
            part = spare !== null && spare.byteLength === partBytes ? spare : Buffer.allocUnsafe(partBytes);
            spare = sent;
            filled = 0;
          }
        }
      }
      const digest = sha256.digest("hex");
      const md5Hex = md5 ? md5.digest("hex") : "";
      refuseMismatch({ digest, sizeBytes: totalBytes, md5Hex }, { expectedBytes, expectedSha256, expectedMd5Hex });
      const finalKey = keyOf(digest);
      if (onlyHash) {
        if (!(await this.touch(finalKey))) throw new BlobWriteError("io", `blob ${digest} was deleted while it was being put again; retry the upload`);
      } else if (upload === null) {
        // All of it fit in one part: its digest is known before a byte leaves, so it goes straight to its address.
        if (!(await this.touch(finalKey))) await this.client.putObject(this.bucket, finalKey, part!.subarray(0, filled), filled);
      } else {
        if (filled > 0) await upload.send(part!.subarray(0, filled));
        await upload.complete();
        upload = null;
        tmpWritten = true;
        if (!(await this.touch(finalKey))) await this.copy(tmpKey, finalKey, totalBytes);
        await this.client.removeObject(this.bucket, tmpKey);
        tmpWritten = false;
      }
      return { digest, sizeBytes: totalBytes, md5Hex };
    } catch (error) {
      iterator.return?.().catch(() => {});
      // Nothing of a refused or failed put stays behind: the open upload is aborted, a completed tmp/ object removed.
      await upload?.abort().catch(() => {});
      if (tmpWritten) await this.client.removeObject(this.bucket, tmpKey).catch(() => {});
      throw writeErrorOf(error, signal);
    }
  }

  async has(digest: string): Promise<boolean> {
    if (!DIGEST.test(digest)) return false;
    try {
      await this.client.statObject(this.bucket, keyOf(digest));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async read(digest: string, range?: BlobRange): Promise<ReadableStream<Uint8Array> | null> {
    if (!DIGEST.test(digest)) return null;
    try {
      const body = range
        ? await this.client.getPartialObject(this.bucket, keyOf(digest), range.start, range.end - range.start + 1)
        : await this.client.getObject(this.bucket, keyOf(digest));
      return webStreamOf(body);
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async delete(digest: string, unchangedSinceMs?: number): Promise<boolean> {
    if (!DIGEST.test(digest)) return false;
    if (unchangedSinceMs !== undefined) {
      // Two requests, so not atomic like the local store's: a put refreshing the blob in between loses the race.
      // The collector's grace period (an hour by default) is what keeps that from happening in practice.
      const stat = await this.client.statObject(this.bucket, keyOf(digest)).catch(() => null);
      if (!stat || stat.lastModified.getTime() > unchangedSinceMs) return false;
    }
    // DeleteObject succeeds on a missing key too.
    await this.client.removeObject(this.bucket, keyOf(digest));
    return true;
  }

  /** Every blob under sha256/, in key (so digest) order, with S3's LastModified as mtimeMs for the collector's grace. */
  async *list(): AsyncIterable<{ digest: string; sizeBytes: number; mtimeMs: number }> {
    for await (const item of this.client.listObjectsV2(this.bucket, BLOB_PREFIX, true)) {
      const name = (item as { name?: string }).name;
      if (name === undefined) continue;
      const digest = name.slice(BLOB_PREFIX.length);
      if (!DIGEST.test(digest)) continue;
      yield { digest, sizeBytes: item.size, mtimeMs: item.lastModified ? new Date(item.lastModified).getTime() : Date.now() };
    }
  }

  /**
   * Null: S3 has no cheap bucket size. Summing it means listing every key (one request per 1,000 blobs) for each
   * refresh of the store-size gauge; the catalog in SQLite knows what the objects add up to anyway.
   */
  async usedBytes(): Promise<null> {
    return null;
  }

  /**
   * Rewrites a stored blob's metadata onto itself, which refreshes its LastModified: a re-put counts as freshly
   * written, so the collector's grace period keeps off it until the metadata naming it has committed. False when
   * the blob is not stored: one request both asks and touches.
   */
  private async touch(key: string): Promise<boolean> {
    try {
      await this.client.copyObject(
        new CopySourceOptions({ Bucket: this.bucket, Object: key }),
        new CopyDestinationOptions({ Bucket: this.bucket, Object: key, MetadataDirective: "REPLACE" }),
      );
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  private async copy(fromKey: string, toKey: string, sizeBytes: number): Promise<void> {
    const source = new CopySourceOptions({ Bucket: this.bucket, Object: fromKey });
    const dest = new CopyDestinationOptions({ Bucket: this.bucket, Object: toKey });
    try {
      await this.client.copyObject(source, dest);
    } catch (err) {
      // goosed copies any size in one request (a copy is a new name for the same blob); S3 proper refuses more than
      // 5 GiB, which UploadPartCopy then copies in parts.
      if (sizeBytes <= MAX_COPY_BYTES) throw err;
      await this.client.composeObject(dest, [source]);
    }
  }
}

/** A multipart upload to a tmp/ key: parts go one at a time, each while the caller fills the next. */
class MultipartUpload {
  private readonly etags: Array<{ part: number; etag: string }> = [];
  private inFlight: Promise<void> = Promise.resolve();
  private failure: unknown = null;

  private constructor(
    private readonly client: Client,
    private readonly bucket: string,
    private readonly key: string,
    private readonly uploadId: string,
  ) {}

  static async start(client: Client, bucket: string, key: string): Promise<MultipartUpload> {
    return new MultipartUpload(client, bucket, key, await client.initiateNewMultipartUpload(bucket, key, {}));
  }

  get sentParts(): number {
    return this.etags.length;
  }

  /** Waits for the previous part, then starts this one without waiting for it. */
  async send(bytes: Buffer): Promise<void> {
    await this.inFlight;
    if (this.failure) throw this.failure;
    const partNumber = this.etags.length + 1;
    if (partNumber > MAX_PARTS) throw new BlobWriteError("too-large", `the content needs more than S3's ${MAX_PARTS} parts`);
    this.etags.push({ part: partNumber, etag: "" });
    const entry = this.etags.at(-1)!;
    this.inFlight = this.client
      .uploadPart({ bucketName: this.bucket, objectName: this.key, uploadID: this.uploadId, partNumber, headers: {} }, bytes)
      .then((result) => {
        entry.etag = result.etag;
      })
      .catch((error: unknown) => {
        this.failure = error;
      });
  }

  async complete(): Promise<void> {
    await this.inFlight;
    if (this.failure) throw this.failure;
    if (this.etags.some((e, i) => i < this.etags.length - 1 && e.etag === "")) throw new Error("a part was not acknowledged");
    await this.client.completeMultipartUpload(this.bucket, this.key, this.uploadId, this.etags);
  }

  async abort(): Promise<void> {
    await this.inFlight;
    await this.client.abortMultipartUpload(this.bucket, this.key, this.uploadId);
  }
}

function keyOf(digest: string): string {
  return `${BLOB_PREFIX}${digest}`;
}

function checkSettings(settings: S3BackendSettings): URL {
  const errors: FieldError[] = [];
  let url: URL | null = null;
  if (settings.endpoint === "") {
    errors.push({ path: "/objects/s3/endpoint", message: "set the URL of the S3 endpoint, e.g. http://minio.lab:9000" });
  } else {
    try {
      url = new URL(settings.endpoint);
    } catch {
      errors.push({ path: "/objects/s3/endpoint", message: `${JSON.stringify(settings.endpoint)} is not a URL; write it as http://host:port` });
    }
    if (url && url.protocol !== "http:" && url.protocol !== "https:") {
      errors.push({ path: "/objects/s3/endpoint", message: `must be an http:// or https:// URL such as http://minio.lab:9000, not ${settings.endpoint}` });
    } else if (url && url.hostname === "") {
      errors.push({ path: "/objects/s3/endpoint", message: "must name a host, e.g. http://minio.lab:9000" });
    } else if (url && (url.pathname !== "/" || url.search !== "" || url.username !== "" || url.password !== "")) {
      // The minio client signs requests for the endpoint's root: a path prefix cannot be honoured.
      errors.push({ path: "/objects/s3/endpoint", message: "must be only scheme, host and port (no path, query or credentials), e.g. http://minio.lab:9000" });
    }
  }
  if (settings.bucket === "") {
    errors.push({ path: "/objects/s3/bucket", message: "set the bucket that holds goosed's blobs" });
  } else if (!BUCKET_NAME.test(settings.bucket) || settings.bucket.includes("..")) {
    errors.push({
      path: "/objects/s3/bucket",
      message: `${JSON.stringify(settings.bucket)} is not an S3 bucket name: 3 to 63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit`,
    });
  }
  if (settings.accessKey === "") errors.push({ path: "/objects/s3/accessKey", message: "set the access key goosed signs with" });
  if (settings.secretKey === "") errors.push({ path: "/objects/s3/secretKey", message: "set the secret key of objects.s3.accessKey" });
  if (errors.length > 0 || url === null) {
    throw invalid(`objects.backend is s3 but its settings are incomplete: ${errors.map((e) => `${e.path}: ${e.message}`).join("; ")}`, errors);
  }
  return url;
}

function connectError(err: unknown, settings: S3BackendSettings, where: string): AppError {
  const code = (err as { code?: string } | null)?.code ?? "";
  const message = (err as Error | null)?.message ?? String(err);
  if (code === "AccessDenied" || code === "InvalidAccessKeyId" || code === "SignatureDoesNotMatch" || code === "Forbidden") {
    return new AppError({
      code: "objects-s3-credentials-refused",
      status: 500,
      title: "S3 credentials refused",
      detail: `${where} refused the key ${settings.accessKey} for bucket ${settings.bucket}: check objects.s3.accessKey and objects.s3.secretKey, and that the key may use the bucket`,
      cause: err,
    });
  }
  if (code === "AuthorizationHeaderMalformed" || code === "InvalidRegion") {
    return new AppError({
      code: "objects-s3-region-refused",
      status: 500,
      title: "S3 region refused",
      detail: `${where} does not answer for region ${settings.region}: set objects.s3.region to the cluster's region`,
      cause: err,
    });
  }
  const network = ["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "ECONNRESET", "ETIMEDOUT", "ConnectionRefused"];
  if (network.includes(code) || /no answer within/.test(message)) {
    return new AppError({
      code: "objects-s3-unreachable",
      status: 503,
      title: "S3 endpoint unreachable",
      detail: `cannot reach ${where}: ${code || message}; check the URL and port and that the S3 service is running`,
      cause: err,
    });
  }
  return new AppError({
    code: "objects-s3-connect-failed",
    status: 500,
    title: "S3 endpoint refused",
    detail: `${where} failed the bucket check for ${settings.bucket}: ${[code, message].filter(Boolean).join(": ") || "no reason given"}; check objects.s3.endpoint, objects.s3.region and objects.s3.bucket`,
    cause: err,
  });
}

function isNotFound(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === "NoSuchKey" || code === "NotFound";
}

function writeErrorOf(error: unknown, signal: AbortSignal | undefined): BlobWriteError {
  if (error instanceof BlobWriteError) return error;
  if (signal?.aborted) return new BlobWriteError("aborted", "the upload was aborted", { cause: error });
  const code = (error as { code?: string } | null)?.code;
  const detail = code ? `${code}: ${(error as Error).message}` : ((error as Error)?.message ?? String(error));
  return new BlobWriteError("io", `writing the blob to S3 failed: ${detail}`, { cause: error });
}

/** The node Readable minio hands back, as a web stream that pulls (so backpressure holds) and destroys it on cancel. */
function webStreamOf(body: Readable): ReadableStream<Uint8Array> {
  const iterator = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await iterator.next();
      if (next.done) controller.close();
      else controller.enqueue(new Uint8Array(next.value.buffer, next.value.byteOffset, next.value.byteLength));
    },
    cancel(reason) {
      body.destroy(reason instanceof Error ? reason : undefined);
    },
  });
}

