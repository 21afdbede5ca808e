// The S3 API: path-style requests under a prefix (/s3 on the HTTP port, nothing on the S3 port), signed with SigV4,
// answered from the catalog and the blob backend. Bodies stream: nothing is held whole in memory, whatever its size.
import { createHash, randomBytes } from "node:crypto";
import type { Server } from "bun";
import type { Actor } from "../core/actor.ts";
import type { Logger } from "../lib/logger.ts";
import { Counter, Gauge, type MetricsRegistry } from "../lib/metrics.ts";
import { BlobWriteError, type BlobBackend, type PutOptions, type StoredBlob } from "./backend.ts";
import { MAX_KEY_BYTES, MAX_PART_NUMBER, MIN_PART_BYTES, type ObjectCatalog, type ObjectRow } from "./catalog.ts";
import { serveObject } from "./serve.ts";
import { S3Error } from "./s3-errors.ts";
import { readCompleteMultipartUpload, readCreateBucketConfiguration, readDelete, type S3XmlResult } from "./s3-xml-read.ts";
import {
  type DeleteOutcome,
  writeCompleteMultipartUploadResult,
  writeCopyObjectResult,
  writeDeleteResult,
  writeInitiateMultipartUploadResult,
  writeListAllMyBucketsResult,
  writeListMultipartUploadsResult,
  writeListObjectsV1Result,
  writeListObjectsV2Result,
  writeListPartsResult,
  writeLocationConstraint,
  writeS3Error,
} from "./s3-xml-write.ts";
import { contentMd5Hex, readCopySource, readS3Request, type S3Operation, type S3Request, s3Operation, userMetadata } from "./s3-request.ts";
import { type ChunkedFailure, createChunkedDecoder } from "./sigv4-chunked.ts";
import { PayloadHash, type SigV4Verified, verifySigV4 } from "./sigv4.ts";

export interface S3ApiOptions {
  catalog: ObjectCatalog;
  backend: BlobBackend;
  region: string;
  /** The largest object a PUT or a completed multipart upload may make. */
  maxObjectBytes: number;
  log: Logger;
  metrics: MetricsRegistry;
}

const XML = "application/xml";
const OWNER = { id: "goosed", displayName: "goosed" };
/** S3 lists at most 1000 keys, parts or deletions per request. */
const MAX_LIST = 1000;
const SMALL_BODY_BYTES = 1024 * 1024;
const SLOW_ANSWERS = new Set<S3Operation>(["PutObject", "UploadPart", "CompleteMultipartUpload"]);

export type S3Handler = (request: Request, server: Server<unknown>) => Promise<Response>;

/** One handler per prefix: "/s3" on the HTTP port, "" on the dedicated S3 port. Both share the metrics. */
export class S3Api {
  private readonly requests: Counter;
  private readonly bytesIn: Counter;
  private readonly bytesOut: Counter;

  constructor(private readonly options: S3ApiOptions) {
    const { metrics, catalog } = options;
    this.requests = metrics.register(new Counter("goosed_s3_requests_total", "S3 API requests answered, by operation and status"));
    this.bytesIn = metrics.register(new Counter("goosed_s3_received_bytes_total", "Object bytes received by the S3 API, by operation"));
    this.bytesOut = metrics.register(new Counter("goosed_s3_sent_bytes_total", "Object bytes sent by the S3 API and artifact downloads, by operation"));
    metrics.register(new Gauge("goosed_objects", "Objects in the store", () => [{ value: catalog.totals().objects }]));
    metrics.register(new Gauge("goosed_objects_bytes", "Bytes of all objects in the store, as listed (identical content is stored once)", () => [{ value: catalog.totals().bytes }]));
    metrics.register(new Gauge("goosed_artifacts", "Named artifacts", () => [{ value: catalog.totals().artifacts }]));
  }

  /** Counts bytes sent for an artifact download or a GetObject. */
  countSent(operation: string, bytes: number): void {
    this.bytesOut.inc({ operation }, bytes);
  }

  handler(prefix: string): S3Handler {
    return async (request, server) => {
      const requestId = randomBytes(8).toString("hex").toUpperCase();
      const parsed = readS3Request(request.method, request.url, request.headers, prefix);
      let operation: S3Operation = "Unsupported";
      let response: Response;
      try {
        if (!parsed) throw new S3Error("InvalidURI");
        operation = s3Operation(parsed);
        const verified = this.authenticate(parsed);
        // After the last byte of a large upload comes the fsync, and a completion of gigabytes copies and hashes, both for
        // seconds before any answer; Bun's idle timeout would cut them off.
        if (SLOW_ANSWERS.has(operation)) server.timeout(request, 0);
        response = await this.dispatch(operation, parsed, request, verified);
      } catch (error) {
        response = this.errorResponse(error, parsed, request, requestId, operation);
      }
      response.headers.set("x-amz-request-id", requestId);
      response.headers.set("server", "goosed");
      this.requests.inc({ operation, status: String(response.status) });
      return response;
    };
  }

  private authenticate(request: S3Request): SigV4Verified {
    const { catalog, region } = this.options;
    const result = verifySigV4(
      { method: request.method, path: request.rawPath, query: request.rawQuery, headers: request.headers },
      { region, lookupSecret: (id) => catalog.secretOf(id), nowMs: Date.now() },
    );
    if (!result.ok) {
      const message =
        result.reason === "presigned-expired"
          ? "Request has expired"
          : result.reason === "no-authentication"
            ? "goosed's S3 API needs a signed request: create a key with 'goosed s3 key create <name>'"
            : undefined;
      throw new S3Error(result.code, {
        message,
        details: result.reason === "signature-mismatch" ? { StringToSign: result.stringToSign, CanonicalRequest: result.canonicalRequest } : undefined,
      });
    }
    catalog.touchKey(result.value.accessKeyId);
    return result.value;
  }

  private async dispatch(operation: S3Operation, s3: S3Request, request: Request, verified: SigV4Verified): Promise<Response> {
    const { catalog } = this.options;
    const actor: Actor = { id: `s3:${verified.accessKeyId}` };
    if (s3.bucket !== "" && operation !== "CreateBucket" && operation !== "ListBuckets") {
      // Every other operation names an existing bucket; say so before reading any body.
      catalog.requireBucket(s3.bucket);
    }
    if (Buffer.byteLength(s3.key, "utf8") > MAX_KEY_BYTES) throw new S3Error("KeyTooLongError", { details: { Key: s3.key } });
    switch (operation) {
      case "ListBuckets":
        return xml(writeListAllMyBucketsResult({ owner: OWNER, buckets: catalog.listBuckets().map((b) => ({ name: b.name, creationDateMs: b.createdAt })) }));
      case "CreateBucket": {
        const body = await this.smallBody(request, verified);
        if (body.byteLength > 0) {
          const config = xmlOrMalformed(readCreateBucketConfiguration(body));
          const wanted = config.locationConstraint ?? "";
          if (wanted !== "" && wanted !== this.options.region) {
            throw new S3Error("InvalidLocationConstraint", { message: `goosed answers for region ${this.options.region}, not ${wanted}` });
          }
        }
        catalog.createBucket(s3.bucket, actor);
        return new Response(null, { status: 200, headers: { location: `/${s3.bucket}` } });
      }
      case "DeleteBucket":
        catalog.deleteBucket(s3.bucket, actor);
        return new Response(null, { status: 204 });
      case "HeadBucket":
        return new Response(null, { status: 200, headers: { "x-amz-bucket-region": this.options.region } });
      case "GetBucketLocation":
        return xml(writeLocationConstraint(this.options.region));
      case "ListObjectsV2":
        return this.listV2(s3);
      case "ListObjects":
        return this.listV1(s3);
      case "DeleteObjects":
        return this.deleteObjects(s3, request, verified);
      case "PutObject":
        return this.putObject(s3, request, verified);
      case "CopyObject":
        return this.copyObject(s3);
      case "GetObject":
      case "HeadObject":
        return this.getObject(s3, request, operation);
      case "DeleteObject":
        catalog.deleteObject(s3.bucket, s3.key);
        return new Response(null, { status: 204 });
      case "CreateMultipartUpload": {
        const upload = catalog.createUpload(s3.bucket, s3.key, contentTypeOf(s3), userMetadata(s3.headers));
        return xml(writeInitiateMultipartUploadResult({ bucket: s3.bucket, key: s3.key, uploadId: upload.uploadId }));
      }
      case "UploadPart":
        return this.uploadPart(s3, request, verified);
      case "CompleteMultipartUpload":
        return this.completeUpload(s3, request, verified);
      case "AbortMultipartUpload":
        catalog.abortUpload(catalog.requireUpload(s3.bucket, s3.key, s3.query.get("uploadId") ?? ""));
        return new Response(null, { status: 204 });
      case "ListParts":
        return this.listParts(s3);
      case "ListMultipartUploads":
        return this.listUploads(s3);
      case "Unsupported":
        throw new S3Error("NotImplemented", { message: `goosed's S3 API does not implement ${s3.method} on this resource` });
    }
  }

  private listV2(s3: S3Request): Response {
    const q = s3.query;
    const maxKeys = maxOf(q.get("max-keys"));
    const token = q.get("continuation-token");
    let after = q.get("start-after") ?? "";
    if (token !== null) {
      const decoded = decodeToken(token);
      if (decoded === null) throw new S3Error("InvalidArgument", { message: "The continuation token provided is incorrect", details: { ArgumentName: "continuation-token" } });
      after = decoded;
    }
    const page = this.options.catalog.listObjects({ bucket: s3.bucket, prefix: q.get("prefix") ?? "", delimiter: q.get("delimiter") ?? "", after, maxKeys });
    return xml(
      writeListObjectsV2Result({
        bucket: s3.bucket,
        prefix: q.get("prefix") ?? "",
        delimiter: q.get("delimiter") ?? undefined,
        maxKeys,
        isTruncated: page.isTruncated,
        continuationToken: token ?? undefined,
        nextContinuationToken: page.isTruncated && page.last !== null ? encodeToken(page.last) : undefined,
        startAfter: q.get("start-after") ?? undefined,
        encodingType: q.get("encoding-type") === "url" ? "url" : undefined,
        contents: page.contents.map(entryOf),
        commonPrefixes: page.commonPrefixes,
      }),
    );
  }

  private listV1(s3: S3Request): Response {
    const q = s3.query;
    const maxKeys = maxOf(q.get("max-keys"));
    const delimiter = q.get("delimiter") ?? "";
    const marker = q.get("marker") ?? "";
    const page = this.options.catalog.listObjects({ bucket: s3.bucket, prefix: q.get("prefix") ?? "", delimiter, after: marker, maxKeys });
    return xml(
      writeListObjectsV1Result({
        bucket: s3.bucket,
        prefix: q.get("prefix") ?? "",
        delimiter: delimiter === "" ? undefined : delimiter,
        marker,
        maxKeys,
        isTruncated: page.isTruncated,
        nextMarker: page.isTruncated && delimiter !== "" && page.last !== null ? page.last : undefined,
        encodingType: q.get("encoding-type") === "url" ? "url" : undefined,
        contents: page.contents.map(entryOf),
        commonPrefixes: page.commonPrefixes,
      }),
    );
  }

  private async deleteObjects(s3: S3Request, request: Request, verified: SigV4Verified): Promise<Response> {
    const body = await this.smallBody(request, verified);
    const md5 = s3.headers["content-md5"];
    if (md5 !== undefined) {
      const expected = contentMd5Hex(md5);
      if (expected === null) throw new S3Error("InvalidDigest");
      if (createHash("md5").update(body).digest("hex") !== expected) throw new S3Error("BadDigest");
    }
    const parsed = xmlOrMalformed(readDelete(body));
    if (parsed.objects.length > MAX_LIST) throw new S3Error("MalformedXML", { message: `at most ${MAX_LIST} keys per DeleteObjects request` });
    const outcomes: DeleteOutcome[] = parsed.objects.map(({ key, versionId }) => {
      if (versionId !== undefined && versionId !== "null") return { key, versionId, deleted: false, code: "NoSuchVersion" };
      this.options.catalog.deleteObject(s3.bucket, key);
      return { key, versionId, deleted: true };
    });
    return xml(writeDeleteResult({ quiet: parsed.quiet, outcomes }));
  }

  private async putObject(s3: S3Request, request: Request, verified: SigV4Verified): Promise<Response> {
    const blob = await this.receive("PutObject", s3, request, verified, this.options.maxObjectBytes);
    const row: ObjectRow = {
      bucket: s3.bucket,
      key: s3.key,
      digest: blob.digest,
      sizeBytes: blob.sizeBytes,
      etag: blob.md5Hex,
      contentType: contentTypeOf(s3),
      metadata: userMetadata(s3.headers),
      lastModified: Date.now(),
    };
    this.options.catalog.putObject(row);
    return new Response(null, { status: 200, headers: { etag: `"${row.etag}"`, "x-amz-checksum-sha256": Buffer.from(blob.digest, "hex").toString("base64") } });
  }

  /** Content-addressed: a copy is a new row naming the same blob, whatever its size. */
  private copyObject(s3: S3Request): Response {
    const source = readCopySource(s3.headers["x-amz-copy-source"] ?? "");
    if (!source) throw new S3Error("InvalidArgument", { message: "x-amz-copy-source must be bucket/key", details: { ArgumentName: "x-amz-copy-source" } });
    const { catalog } = this.options;
    const from = catalog.requireObject(source.bucket, source.key);
    const replace = (s3.headers["x-amz-metadata-directive"] ?? "COPY").toUpperCase() === "REPLACE";
    if (!replace && source.bucket === s3.bucket && source.key === s3.key) {
      throw new S3Error("InvalidRequest", {
        message: "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata.",
      });
    }
    const row: ObjectRow = {
      ...from,
      bucket: s3.bucket,
      key: s3.key,
      contentType: replace ? contentTypeOf(s3) : from.contentType,
      metadata: replace ? userMetadata(s3.headers) : from.metadata,
      lastModified: Date.now(),
    };
    catalog.putObject(row);
    return xml(writeCopyObjectResult({ lastModifiedMs: row.lastModified, etag: row.etag }));
  }

  private async getObject(s3: S3Request, request: Request, operation: "GetObject" | "HeadObject"): Promise<Response> {
    const row = this.options.catalog.requireObject(s3.bucket, s3.key);
    const extraHeaders: Record<string, string> = {};
    for (const [name, value] of Object.entries(row.metadata)) extraHeaders[`x-amz-meta-${name}`] = value;
    const answer = await serveObject(
      request,
      { sizeBytes: row.sizeBytes, etag: `"${row.etag}"`, lastModifiedMs: row.lastModified, contentType: row.contentType, extraHeaders },
      (range) => this.options.backend.read(row.digest, range),
    );
    if (answer.kind === "missing") throw new S3Error("InternalError", { message: `the content of ${s3.key} is missing from the blob store; run the blobs.verify job` });
    if (answer.kind === "precondition-failed") throw new S3Error("PreconditionFailed", { details: { Condition: "If-Match" } });
    if (answer.kind === "unsatisfiable") {
      throw new S3Error("InvalidRange", {
        details: { RangeRequested: s3.headers.range ?? "", ActualObjectSize: row.sizeBytes },
        headers: { "content-range": `bytes */${row.sizeBytes}` },
      });
    }
    const sent = Number(answer.response.headers.get("content-length") ?? 0);
    if (operation === "GetObject") this.countSent(operation, sent);
    return answer.response;
  }

  private async uploadPart(s3: S3Request, request: Request, verified: SigV4Verified): Promise<Response> {
    const partNumber = Number(s3.query.get("partNumber"));
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PART_NUMBER) {
      throw new S3Error("InvalidArgument", { message: `Part number must be an integer between 1 and ${MAX_PART_NUMBER}, inclusive`, details: { ArgumentName: "partNumber" } });
    }
    const upload = this.options.catalog.requireUpload(s3.bucket, s3.key, s3.query.get("uploadId") ?? "");
    const blob = await this.receive("UploadPart", s3, request, verified, Math.min(this.options.maxObjectBytes, 5 * 1024 ** 3));
    this.options.catalog.putPart(upload, { partNumber, digest: blob.digest, sizeBytes: blob.sizeBytes, etag: blob.md5Hex, lastModified: Date.now() });
    return new Response(null, { status: 200, headers: { etag: `"${blob.md5Hex}"` } });
  }

  private listUploads(s3: S3Request): Response {
    const q = s3.query;
    const maxUploads = maxOf(q.get("max-uploads"));
    const keyMarker = q.get("key-marker") ?? "";
    const uploadIdMarker = q.get("upload-id-marker") ?? "";
    const rows = this.options.catalog.listUploads(s3.bucket, q.get("prefix") ?? "", keyMarker, uploadIdMarker, maxUploads + 1);
    const shown = rows.slice(0, maxUploads);
    const truncated = rows.length > maxUploads;
    return xml(
      writeListMultipartUploadsResult({
        bucket: s3.bucket,
        prefix: q.get("prefix") ?? "",
        keyMarker,
        uploadIdMarker,
        nextKeyMarker: truncated ? shown.at(-1)?.key : undefined,
        nextUploadIdMarker: truncated ? shown.at(-1)?.uploadId : undefined,
        maxUploads,
        isTruncated: truncated,
        owner: OWNER,
        uploads: shown.map((u) => ({ key: u.key, uploadId: u.uploadId, initiatedMs: u.createdAt })),
      }),
    );
  }

  private listParts(s3: S3Request): Response {
    const upload = this.options.catalog.requireUpload(s3.bucket, s3.key, s3.query.get("uploadId") ?? "");
    const maxParts = maxOf(s3.query.get("max-parts"));
    const marker = Number(s3.query.get("part-number-marker") ?? 0) || 0;
    const parts = this.options.catalog.listParts(upload.uploadId, marker, maxParts + 1);
    const truncated = parts.length > maxParts;
    const shown = parts.slice(0, maxParts);
    return xml(
      writeListPartsResult({
        bucket: s3.bucket,
        key: s3.key,
        uploadId: upload.uploadId,
        partNumberMarker: marker,
        nextPartNumberMarker: shown.at(-1)?.partNumber ?? marker,
        maxParts,
        isTruncated: truncated,
        owner: OWNER,
        parts: shown.map((p) => ({ partNumber: p.partNumber, lastModifiedMs: p.lastModified, etag: p.etag, sizeBytes: p.sizeBytes })),
      }),
    );
  }

  /**
   * Checks the parts list, then streams the parts' blobs, in order, into one new blob: content addressing wants the
   * object's own sha256, and readers then get one file to send with sendfile.
   */
  private async completeUpload(s3: S3Request, request: Request, verified: SigV4Verified): Promise<Response> {
    const { catalog, backend } = this.options;
    const upload = catalog.requireUpload(s3.bucket, s3.key, s3.query.get("uploadId") ?? "");
    const listed = xmlOrMalformed(readCompleteMultipartUpload(await this.smallBody(request, verified))).parts;
    if (listed.length === 0) throw new S3Error("MalformedXML", { message: "CompleteMultipartUpload names no parts" });
    const stored = new Map(catalog.listParts(upload.uploadId, 0, MAX_PART_NUMBER).map((p) => [p.partNumber, p]));
    const chosen = listed.map((wanted, index) => {
      if (index > 0 && wanted.partNumber <= listed[index - 1]!.partNumber) throw new S3Error("InvalidPartOrder");
      const part = stored.get(wanted.partNumber);
      if (!part || wanted.etag.replaceAll('"', "") !== part.etag) {
        throw new S3Error("InvalidPart", { details: { UploadId: upload.uploadId, PartNumber: wanted.partNumber, ETag: wanted.etag } });
      }
      return part;
    });
    for (const part of chosen.slice(0, -1)) {
      if (part.sizeBytes < MIN_PART_BYTES) {
        throw new S3Error("EntityTooSmall", { details: { PartNumber: part.partNumber, ProposedSize: part.sizeBytes, MinSizeAllowed: MIN_PART_BYTES } });
      }
    }
    const total = chosen.reduce((sum, p) => sum + p.sizeBytes, 0);
    if (total > this.options.maxObjectBytes) throw new S3Error("EntityTooLarge", { details: { ProposedSize: total, MaxSizeAllowed: this.options.maxObjectBytes } });
    // The multipart ETag is the MD5 of the parts' MD5s, so the whole object's own MD5 is not needed.
    const blob = await backend.put(concatenated(backend, chosen.map((p) => p.digest)), { expectedBytes: total, md5: false });
    const md5s = Buffer.concat(chosen.map((p) => Buffer.from(p.etag, "hex")));
    const etag = `${createHash("md5").update(md5s).digest("hex")}-${chosen.length}`;
    catalog.completeUpload(upload, {
      bucket: s3.bucket,
      key: s3.key,
      digest: blob.digest,
      sizeBytes: blob.sizeBytes,
      etag,
      contentType: upload.contentType,
      metadata: upload.metadata,
      lastModified: Date.now(),
    });
    return xml(writeCompleteMultipartUploadResult({ location: `/${s3.bucket}/${s3.key}`, bucket: s3.bucket, key: s3.key, etag }));
  }

  /**
   * Streams a PUT body into a blob, checking what the client promised: the signed payload hash, Content-MD5, the
   * length, and for aws-chunked bodies every chunk's signature. The blob is durable before this returns; a refusal
   * leaves nothing behind.
   */
  private async receive(operation: string, s3: S3Request, request: Request, verified: SigV4Verified, maxBytes: number): Promise<StoredBlob> {
    const options: PutOptions = { maxBytes, signal: request.signal };
    const streaming = verified.payloadHash === PayloadHash.Streaming;
    const declared = streaming ? s3.headers["x-amz-decoded-content-length"] : s3.headers["content-length"];
    if (declared === undefined) {
      if (streaming) throw new S3Error("MissingContentLength", { message: "an aws-chunked upload must send x-amz-decoded-content-length" });
      if (s3.headers["transfer-encoding"] !== undefined) throw new S3Error("MissingContentLength");
    } else {
      const length = Number(declared);
      if (!Number.isSafeInteger(length) || length < 0) throw new S3Error("InvalidArgument", { message: "the content length is not a number", details: { ArgumentName: "Content-Length" } });
      if (length > maxBytes) throw new S3Error("EntityTooLarge", { details: { ProposedSize: length, MaxSizeAllowed: maxBytes } });
      options.expectedBytes = length;
    }
    if (!streaming && verified.payloadHash !== PayloadHash.Unsigned) options.expectedSha256 = verified.payloadHash;
    const md5 = s3.headers["content-md5"];
    if (md5 !== undefined) {
      const hex = contentMd5Hex(md5);
      if (hex === null) throw new S3Error("InvalidDigest");
      options.expectedMd5Hex = hex;
    }
    const counted = this.counting(operation, request.body ?? emptyStream());
    // A bad chunk ends the source with its S3 error; the backend sees only a failed source, so keep the reason here.
    const refusal: { error: S3Error | null } = { error: null };
    const source = streaming ? dechunked(counted, verified, refusal) : counted;
    try {
      return await this.options.backend.put(source, options);
    } catch (error) {
      if (refusal.error) throw refusal.error;
      if (error instanceof S3Error) throw error;
      if (error instanceof BlobWriteError) throw s3ErrorOfWrite(error, options, this.options.backend.kind);
      throw error;
    }
  }

  private async *counting(operation: string, body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const chunk of body) {
      this.bytesIn.inc({ operation }, chunk.byteLength);
      yield chunk;
    }
  }

  /** A body the operation parses (XML), refused before it is read whole if it claims to be large. */
  private async smallBody(request: Request, verified: SigV4Verified): Promise<Uint8Array> {
    const length = Number(request.headers.get("content-length") ?? 0);
    if (length > SMALL_BODY_BYTES) throw new S3Error("MaxMessageLengthExceeded");
    const body = new Uint8Array(await request.arrayBuffer());
    if (body.byteLength > SMALL_BODY_BYTES) throw new S3Error("MaxMessageLengthExceeded");
    const expected = verified.payloadHash;
    if (expected !== PayloadHash.Unsigned && expected !== PayloadHash.Streaming && createHash("sha256").update(body).digest("hex") !== expected) {
      throw new S3Error("XAmzContentSHA256Mismatch", { details: { ClientComputedContentSHA256: expected } });
    }
    return body;
  }

  private errorResponse(error: unknown, s3: S3Request | null, request: Request, requestId: string, operation: S3Operation): Response {
    let failure: S3Error;
    if (error instanceof S3Error) {
      failure = error;
    } else {
      this.options.log.error("S3 request failed", { requestId, method: request.method, operation, error });
      failure = new S3Error("InternalError");
    }
    if (failure.status >= 500) this.options.log.warn("S3 request failed", { requestId, operation, code: failure.code, message: failure.message });
    const details = { ...failure.details };
    if (s3?.bucket && failure.code === "NoSuchBucket") details.BucketName = s3.bucket;
    const headers: Record<string, string> = { ...failure.headers };
    // HEAD answers carry no body; the status is all a client sees.
    if (request.method === "HEAD") return new Response(null, { status: failure.status, headers });
    const body = writeS3Error({ code: failure.code, message: failure.message, details, resource: s3?.rawPath, requestId });
    return new Response(body, { status: failure.status, headers: { ...headers, "content-type": XML } });
  }
}

const xml = (body: string): Response => new Response(body, { headers: { "content-type": XML } });

function xmlOrMalformed<T>(result: S3XmlResult<T>): T {
  if (!result.ok) throw new S3Error("MalformedXML", { message: `the XML body is not valid: ${result.reason} at byte ${result.offset}` });
  return result.value;
}

function maxOf(value: string | null): number {
  if (value === null) return MAX_LIST;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new S3Error("InvalidArgument", { message: "Provided max-keys not an integer or within integer range", details: { ArgumentName: "max-keys", ArgumentValue: value } });
  return Math.min(n, MAX_LIST);
}

const encodeToken = (after: string): string => Buffer.from(after, "utf8").toString("base64url");

function decodeToken(token: string): string | null {
  if (!/^[A-Za-z0-9_-]*$/.test(token)) return null;
  return Buffer.from(token, "base64url").toString("utf8");
}

const entryOf = (row: ObjectRow) => ({ key: row.key, lastModifiedMs: row.lastModified, etag: row.etag, sizeBytes: row.sizeBytes });

const contentTypeOf = (s3: S3Request): string => s3.headers["content-type"] || "binary/octet-stream";

const emptyStream = (): ReadableStream<Uint8Array> => new ReadableStream({ start: (controller) => controller.close() });

/** The data of an aws-chunked body, each chunk's signature checked; a bad chunk ends the stream with its S3 error. */
async function* dechunked(body: AsyncIterable<Uint8Array>, verified: SigV4Verified, refusal: { error: S3Error | null }): AsyncGenerator<Uint8Array> {
  const decoder = createChunkedDecoder(verified);
  const refuse = (failure: ChunkedFailure) => {
    refusal.error = new S3Error(failure.code, { message: `aws-chunked body: ${failure.reason} at byte ${failure.offset}` });
    return refusal.error;
  };
  for await (const slice of body) {
    const pushed = decoder.push(slice);
    if (!pushed.ok) throw refuse(pushed);
    yield* pushed.data;
  }
  const ended = decoder.end();
  if (!ended.ok) throw refuse(ended);
}

/** The blobs of a multipart upload's parts, one after another. */
async function* concatenated(backend: BlobBackend, digests: string[]): AsyncGenerator<Uint8Array> {
  for (const digest of digests) {
    const body = await backend.read(digest);
    if (!body) throw new S3Error("InternalError", { message: `a part's content (${digest}) is missing from the blob store` });
    yield* body instanceof Blob ? body.stream() : body;
  }
}

function s3ErrorOfWrite(error: BlobWriteError, options: PutOptions, backend: "local" | "s3"): S3Error {
  switch (error.reason) {
    case "too-large":
      return new S3Error("EntityTooLarge", { details: { MaxSizeAllowed: options.maxBytes ?? 0 } });
    case "size-mismatch":
    case "aborted":
      return new S3Error("IncompleteBody");
    case "sha256-mismatch":
      return new S3Error("XAmzContentSHA256Mismatch", { details: { ClientComputedContentSHA256: options.expectedSha256 ?? "" } });
    case "md5-mismatch":
      return new S3Error("BadDigest");
    case "disk-full":
      return new S3Error("InsufficientStorage", { message: error.message });
    case "io":
      return new S3Error("InternalError", { message: backend === "s3" ? `the external S3 backend failed: ${error.message}` : error.message });
  }
}
