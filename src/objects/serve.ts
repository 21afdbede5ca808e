// The HTTP read side of a stored object or artifact: GET and HEAD with ETag, Last-Modified, conditional requests and
// single or multipart Ranges (RFC 9110 §13, §14), its bytes coming from a blob backend's read without being copied.
// Error bodies belong to the caller (S3 XML for GetObject, problem+json for /artifacts), so 412, 416 and a missing blob
// come back as outcomes, never as rendered responses.
import type { BunFile } from "bun";
import type { BlobRange } from "./backend.ts";
import { type Conditions, httpDate, planRead } from "./conditional.ts";
import { type ByteRange, contentRange, frameMultipart, unsatisfiedRange } from "./http-range.ts";

const UNTRUSTED_CONTENT = { "Content-Security-Policy": "sandbox", "X-Content-Type-Options": "nosniff" };

/** What the caller knows about the object from its metadata row. */
export interface ServedObject {
  sizeBytes: number;
  /** The ETag as sent, quoted (`"…"`, or `W/"…"`). */
  etag: string;
  lastModifiedMs: number;
  contentType: string;
  /** Sent with every 200, 206 and HEAD (x-amz-meta-*, Cache-Control, Content-Disposition, ...). */
  extraHeaders?: Record<string, string>;
}

/** A backend read bound to one blob: all of it, or `range` of it (both ends inclusive). Null when the blob is gone. */
export type ReadBlob = (range?: BlobRange) => Promise<BunFile | ReadableStream<Uint8Array> | null>;

export type ServeOutcome =
  /** 200, 206 or 304, or a HEAD's header fields: send as is. */
  | { kind: "response"; response: Response }
  /**
   * 412: a failed If-Match or If-Unmodified-Since. The caller renders its own error body around `headers`.
   */
  | { kind: "precondition-failed"; status: 412; headers: Headers }
  /**
   * 416: no range of the Range header lies inside the object. `headers` carry the `Content-Range: bytes *\/size` the
   * status requires (RFC 9110 §15.5.17); the caller renders its own error body around them.
   */
  | { kind: "unsatisfiable"; status: 416; headers: Headers }
  /** `read` returned null: the metadata names a blob the backend no longer has; the caller answers 404 (or 500). */
  | { kind: "missing" };

// What a 304 may carry besides the validators (RFC 9110 §15.4.5): caches update these from it.
const NOT_MODIFIED_FIELDS = new Set(["cache-control", "content-location", "expires", "vary"]);

/**
 * Answers a GET or HEAD of `object` (any other method is a caller bug and throws). `read` is only called when bytes
 * are sent, so a HEAD, a 304, a 412 or a 416 never touches the backend and never reports `missing`.
 *
 * @example
 * const outcome = await serveObject(request, { sizeBytes, etag: etagOf(sha256), lastModifiedMs, contentType },
 *   (range) => backend.read(sha256, range));
 * if (outcome.kind === "response") return outcome.response;
 * if (outcome.kind === "missing") return s3Error("NoSuchKey", 404);
 * if (outcome.kind === "precondition-failed") return s3Error("PreconditionFailed", 412);
 * return s3Error("InvalidRange", 416, outcome.headers); // carries Content-Range: bytes *\/size
 */
export async function serveObject(request: Request, object: ServedObject, read: ReadBlob, nowMs = Date.now()): Promise<ServeOutcome> {
  const method = request.method;
  if (method !== "GET" && method !== "HEAD") throw new TypeError(`serveObject answers GET and HEAD, not ${method}`);
  const plan = planRead(method, conditionsOf(request.headers), { etag: object.etag, lastModifiedMs: object.lastModifiedMs }, object.sizeBytes, nowMs);
  const validators = { ETag: object.etag, "Last-Modified": httpDate(object.lastModifiedMs) };

  if (plan.status === 412) return { kind: "precondition-failed", status: 412, headers: new Headers({ "Accept-Ranges": "bytes" }) };
  if (plan.status === 416) {
    return { kind: "unsatisfiable", status: 416, headers: new Headers({ "Accept-Ranges": "bytes", "Content-Range": unsatisfiedRange(object.sizeBytes) }) };
  }
  if (plan.status === 304) {
    const headers = new Headers(validators);
    for (const [name, value] of Object.entries(object.extraHeaders ?? {})) {
      if (NOT_MODIFIED_FIELDS.has(name.toLowerCase())) headers.set(name, value);
    }
    return { kind: "response", response: new Response(null, { status: 304, headers }) };
  }

  // Stored bytes come from uploaders, and the status page shares this origin: an uploaded HTML page must not run
  // there (with an operator's session cookie), so it is sandboxed and never sniffed into something else.
  const headers = new Headers({ "Accept-Ranges": "bytes", ...validators, "Content-Type": object.contentType, ...UNTRUSTED_CONTENT });
  for (const [name, value] of Object.entries(object.extraHeaders ?? {})) headers.set(name, value);

  // 412, 416 and 304 have returned: what is not a 206 is the 200.
  if (plan.status !== 206) {
    headers.set("Content-Length", String(object.sizeBytes));
    if (method === "HEAD") return { kind: "response", response: new Response(null, { status: 200, headers }) };
    const body = await read();
    if (body === null) return { kind: "missing" };
    // Bun.serve answers a Range request itself when the body is a BunFile and the status 200 (its own 206/416 from the
    // file's size), so a 200 we chose despite a Range (If-Range failed, too many ranges, an invalid specifier) must not
    // hand it the file. That path is rare; it streams the file instead of sendfile.
    const wholeBody = isFile(body) && request.headers.has("Range") ? body.stream() : body;
    return { kind: "response", response: new Response(wholeBody, { status: 200, headers: fileHeaders(headers, body) }) };
  }

  const { ranges } = plan;
  if (ranges.length === 1) {
    const range = ranges[0] as ByteRange;
    const body = await read(range);
    if (body === null) return { kind: "missing" };
    headers.set("Content-Range", contentRange(range, object.sizeBytes));
    headers.set("Content-Length", String(range.end - range.start + 1));
    return { kind: "response", response: new Response(body, { status: 206, headers: fileHeaders(headers, body) }) };
  }

  // Every part's read happens before the answer starts, so a missing blob is still a clean `missing`.
  const bodies: (BunFile | ReadableStream<Uint8Array>)[] = [];
  for (const range of ranges) {
    const body = await read(range);
    if (body === null) {
      for (const opened of bodies) if (!isFile(opened)) await opened.cancel();
      return { kind: "missing" };
    }
    bodies.push(body);
  }
  const framing = frameMultipart(crypto.randomUUID().replaceAll("-", ""), object.contentType, object.sizeBytes, ranges);
  headers.set("Content-Type", framing.contentType);
  headers.set("Content-Length", String(framing.contentLength));
  return { kind: "response", response: new Response(multipartBody(framing.parts.map((p) => p.head), bodies, framing.tail), { status: 206, headers }) };
}

function conditionsOf(headers: Headers): Conditions {
  return {
    ifMatch: headers.get("If-Match"),
    ifNoneMatch: headers.get("If-None-Match"),
    ifModifiedSince: headers.get("If-Modified-Since"),
    ifUnmodifiedSince: headers.get("If-Unmodified-Since"),
    ifRange: headers.get("If-Range"),
    range: headers.get("Range"),
  };
}

function isFile(body: BunFile | ReadableStream<Uint8Array>): body is BunFile {
  return !(body instanceof ReadableStream);
}

/**
 * Bun adds `Content-Disposition: filename="<blob file name>"` to a file body, which would make a browser save an
 * artifact under its digest; `inline` is what no header means (RFC 6266 §4.2), unless the caller set its own.
 */
function fileHeaders(headers: Headers, body: BunFile | ReadableStream<Uint8Array>): Headers {
  if (isFile(body) && !headers.has("Content-Disposition")) headers.set("Content-Disposition", "inline");
  return headers;
}

/**
 * A multipart/byteranges body that pulls one part at a time: each head, then that part's bytes as the backend streams
 * them, then the tail. Nothing is read ahead of the socket, so memory stays at a chunk whatever the ranges' sizes.
 * Bun 1.4 drops the Content-Length set beside a stream body and sends it chunked (oven-sh/bun#10507), as it does for a
 * remote read; the header is set anyway so the answer is right the day Bun keeps it. (A `new Blob([head, fileSlice])`
 * would keep the length, but Bun reads a file slice inside a Blob as empty.)
 */
function multipartBody(heads: Uint8Array[], bodies: (BunFile | ReadableStream<Uint8Array>)[], tail: Uint8Array): ReadableStream<Uint8Array> {
  // Parts before `started` are being or have been consumed by the generator, which cancels its own on return.
  let started = 0;
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (; started < bodies.length; ) {
      const body = bodies[started] as BunFile | ReadableStream<Uint8Array>;
      yield heads[started] as Uint8Array;
      started++;
      yield* isFile(body) ? body.stream() : body;
    }
    yield tail;
  }
  const source = chunks();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await source.next();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    async cancel(reason) {
      // Closes the part being streamed (the generator's for-await cancels it) and the remote reads not yet started.
      await source.return(undefined);
      for (const body of bodies.slice(started)) if (!isFile(body)) await body.cancel(reason);
    },
  });
}
