// AWS Signature Version 4 for S3, server side: the Authorization header and presigned URLs, checked in constant time.
/*
 * API
 *
 *   verifySigV4(request, { region, lookupSecret, nowMs }) → { ok: true, value: SigV4Verified } | SigV4Failure
 *
 * `request` is what the server saw: method, the path exactly as sent (still percent-encoded), the raw query string
 * (no "?"), and the headers with lowercased names (repeated headers joined with ","). The function is pure apart
 * from `lookupSecret`; it never throws on input. A failure carries the S3 error `code` the API layer renders as
 * S3's XML error, a stable `reason` for logs and tests, and for SignatureDoesNotMatch the canonical request and
 * string to sign S3 also returns so a client author can see where the two sides differ.
 *
 * The verified value says who signed (`accessKeyId`), what the body must hash to (`payloadHash`: a lowercase hex
 * sha256 the API layer checks while streaming, UNSIGNED-PAYLOAD, or STREAMING-AWS4-HMAC-SHA256-PAYLOAD, in which
 * case the body goes through `createChunkedDecoder(verified)` from ./sigv4-chunked.ts, which needs the
 * `signingKey`, `amzDate`, `scope` and seed `signature` carried here).
 *
 * Specs: "Authenticating Requests (AWS Signature Version 4)" in the Amazon S3 API reference
 * (docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html), its pages on the Authorization
 * header (sig-v4-header-based-auth.html), query parameters (sigv4-query-string-auth.html) and chunked uploads
 * (sigv4-streaming.html), and the S3 error code list (ErrorResponses.html).
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

export const SigV4 = {
  Algorithm: "AWS4-HMAC-SHA256",
  Service: "s3",
  Terminator: "aws4_request",
  /** S3 answers RequestTimeTooSkewed beyond 15 minutes between the request time and its own clock. */
  MaxSkewMs: 15 * 60 * 1000,
  /** sigv4-query-string-auth.html: X-Amz-Expires is 1 second to 7 days. */
  MaxExpiresSeconds: 604_800,
} as const;

/** The x-amz-content-sha256 values that are not a hash (sig-v4-header-based-auth.html). */
export const PayloadHash = {
  Unsigned: "UNSIGNED-PAYLOAD",
  Streaming: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
} as const;

/** sha256 of the empty string: the payload hash of a bodiless request, and a fixed line of every chunk's string to sign. */
export const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

export interface SigV4Request {
  method: string;
  /** As sent, percent-encoding intact: S3 signs the path once-encoded and does not normalise it. */
  path: string;
  /** Raw query string without the "?". */
  query: string;
  /** Lowercased names. */
  headers: Record<string, string>;
}

export interface SigV4Options {
  /** The region this server answers for; a credential scoped to another region is refused, as S3 does. */
  region: string;
  /** The secret for an access key id, or null when there is no such key (or it is revoked). */
  lookupSecret: (accessKeyId: string) => string | null;
  nowMs: number;
}

export interface SigV4Verified {
  mode: "header" | "presigned";
  accessKeyId: string;
  /** Lowercase hex sha256 of the body, PayloadHash.Unsigned or PayloadHash.Streaming. */
  payloadHash: string;
  /** The request's signature: the seed of the chunk signature chain for streaming uploads. */
  signature: string;
  /** "20130524/us-east-1/s3/aws4_request". */
  scope: string;
  /** The request time in ISO 8601 basic format ("20130524T000000Z"), as it appears in the string to sign. */
  amzDate: string;
  requestTimeMs: number;
  /** kSigning, for the chunk signatures; derived from the secret, so never log it. */
  signingKey: Buffer;
}

/** S3 error codes (ErrorResponses.html) a signature check can end in. */
export type SigV4Code =
  | "AccessDenied"
  | "AuthorizationHeaderMalformed"
  | "AuthorizationQueryParametersError"
  | "InvalidAccessKeyId"
  | "InvalidArgument"
  | "InvalidRequest"
  | "NotImplemented"
  | "RequestTimeTooSkewed"
  | "SignatureDoesNotMatch";

export type SigV4Reason =
  | "no-authentication"
  | "multiple-auth-mechanisms"
  | "unsupported-algorithm"
  | "malformed-component"
  | "unknown-component"
  | "duplicate-component"
  | "missing-credential"
  | "missing-signed-headers"
  | "missing-signature"
  | "missing-date"
  | "missing-expires"
  | "malformed-credential"
  | "bad-credential-date"
  | "credential-date-mismatch"
  | "wrong-region"
  | "wrong-service"
  | "wrong-terminator"
  | "malformed-signed-headers"
  | "host-not-signed"
  | "malformed-signature"
  | "bad-date"
  | "bad-expires"
  | "bad-query-encoding"
  | "missing-content-sha256"
  | "bad-content-sha256"
  | "unsupported-content-sha256"
  | "unknown-access-key"
  | "time-too-skewed"
  | "presigned-not-yet-valid"
  | "presigned-expired"
  | "unsigned-amz-header"
  | "signed-header-missing"
  | "signature-mismatch";

export interface SigV4Failure {
  ok: false;
  code: SigV4Code;
  reason: SigV4Reason;
  /** Only for signature-mismatch: what this side signed, as S3 returns it in the error body. */
  canonicalRequest?: string;
  stringToSign?: string;
}

export type SigV4Result = { ok: true; value: SigV4Verified } | SigV4Failure;

const fail = (code: SigV4Code, reason: SigV4Reason): SigV4Failure => ({ ok: false, code, reason });

const HEX64 = /^[0-9a-f]{64}$/;
/** Header names in SignedHeaders: lowercase RFC 9110 tokens. */
const SIGNED_HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;

export function verifySigV4(request: SigV4Request, options: SigV4Options): SigV4Result {
  const parsedQuery = parseQuery(request.query);
  if (!parsedQuery) return fail("AuthorizationQueryParametersError", "bad-query-encoding");
  // Any of these makes it a presigned request, so a URL missing one is told what is wrong with it.
  const presigned = parsedQuery.some((p) => p.name === "X-Amz-Algorithm" || p.name === "X-Amz-Credential" || p.name === "X-Amz-Signature");
  const authorization = request.headers.authorization;
  // S3 refuses a request that authenticates both ways ("Only one auth mechanism allowed").
  if (presigned && authorization !== undefined) return fail("InvalidArgument", "multiple-auth-mechanisms");
  if (presigned) return verifyPresigned(request, parsedQuery, options);
  if (authorization === undefined) return fail("AccessDenied", "no-authentication");
  return verifyHeader(request, authorization, parsedQuery, options);
}

// ---------------------------------------------------------------------------------------------------------------
// The two ways a request carries its signature

interface Authorization {
  accessKeyId: string;
  scopeDate: string;
  region: string;
  service: string;
  terminator: string;
  signedHeaders: string[];
  signature: string;
}

/*
 * sig-v4-header-based-auth.html:
 *
 *   Authorization: AWS4-HMAC-SHA256 Credential=<key>/<yyyymmdd>/<region>/s3/aws4_request,
 *                  SignedHeaders=<h1>;<h2>;..., Signature=<64 hex>
 *
 * Components are separated by "," and optional spaces; clients differ on the spaces, so both are accepted.
 */
function verifyHeader(request: SigV4Request, authorization: string, query: QueryParam[], options: SigV4Options): SigV4Result {
  const malformed = (reason: SigV4Reason) => fail("AuthorizationHeaderMalformed", reason);
  const space = authorization.indexOf(" ");
  // S3 no longer takes Signature Version 2 ("AWS key:sig") and answers any other scheme the same way.
  if (space < 0 || authorization.slice(0, space) !== SigV4.Algorithm) return fail("InvalidRequest", "unsupported-algorithm");
  const components = new Map<string, string>();
  for (const part of authorization.slice(space + 1).split(",")) {
    const trimmed = part.trim();
    const eq = trimmed.indexOf("=");
    if (eq <= 0) return malformed("malformed-component");
    const name = trimmed.slice(0, eq);
    if (name !== "Credential" && name !== "SignedHeaders" && name !== "Signature") return malformed("unknown-component");
    if (components.has(name)) return malformed("duplicate-component");
    components.set(name, trimmed.slice(eq + 1));
  }
  const parsed = parseAuthorization(components.get("Credential"), components.get("SignedHeaders"), components.get("Signature"));
  if (!parsed.ok) return malformed(parsed.reason);

  const amzDate = request.headers["x-amz-date"];
  const date = request.headers.date;
  // x-amz-date wins over Date (sig-v4-header-based-auth.html); the string to sign always uses the ISO basic form.
  const time = amzDate !== undefined ? parseAmzDate(amzDate) : date !== undefined ? parseHttpDate(date) : null;
  if (amzDate === undefined && date === undefined) return fail("AccessDenied", "missing-date");
  if (!time) return fail("AccessDenied", "bad-date");

  const payloadHash = request.headers["x-amz-content-sha256"];
  if (payloadHash === undefined) return fail("InvalidRequest", "missing-content-sha256");
  if (payloadHash.startsWith("STREAMING-") && payloadHash !== PayloadHash.Streaming) {
    // The -TRAILER and unsigned streaming variants (sigv4-streaming-trailers.html) are not decoded yet.
    return fail("NotImplemented", "unsupported-content-sha256");
  }
  if (payloadHash !== PayloadHash.Unsigned && payloadHash !== PayloadHash.Streaming && !HEX64.test(payloadHash)) {
    return fail("InvalidArgument", "bad-content-sha256");
  }
  if (Math.abs(options.nowMs - time.ms) > SigV4.MaxSkewMs) return fail("RequestTimeTooSkewed", "time-too-skewed");
  return checkSignature(request, query, parsed.value, time, payloadHash, "header", "AuthorizationHeaderMalformed", options);
}

/*
 * sigv4-query-string-auth.html: the signature rides in the query, the payload is always UNSIGNED-PAYLOAD, and
 * everything but X-Amz-Signature is signed:
 *
 *   ?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=<key>%2F<yyyymmdd>%2F<region>%2Fs3%2Faws4_request
 *   &X-Amz-Date=<yyyymmddThhmmssZ>&X-Amz-Expires=<seconds>&X-Amz-SignedHeaders=host&X-Amz-Signature=<64 hex>
 */
function verifyPresigned(request: SigV4Request, query: QueryParam[], options: SigV4Options): SigV4Result {
  const malformed = (reason: SigV4Reason) => fail("AuthorizationQueryParametersError", reason);
  const values = new Map<string, string>();
  for (const p of query) {
    if (!p.name.startsWith("X-Amz-")) continue;
    if (values.has(p.name)) return malformed("duplicate-component");
    values.set(p.name, p.value);
  }
  if (values.get("X-Amz-Algorithm") !== SigV4.Algorithm) return malformed("unsupported-algorithm");
  const parsed = parseAuthorization(values.get("X-Amz-Credential"), values.get("X-Amz-SignedHeaders"), values.get("X-Amz-Signature"));
  if (!parsed.ok) return malformed(parsed.reason);
  const dateText = values.get("X-Amz-Date");
  if (dateText === undefined) return malformed("missing-date");
  const time = parseAmzDate(dateText);
  if (!time) return malformed("bad-date");
  const expiresText = values.get("X-Amz-Expires");
  if (expiresText === undefined) return malformed("missing-expires");
  const expiresSeconds = /^[0-9]{1,7}$/.test(expiresText) ? Number(expiresText) : 0;
  if (expiresSeconds < 1 || expiresSeconds > SigV4.MaxExpiresSeconds) return malformed("bad-expires");
  // S3 says "Request is not valid yet" for a URL dated in the future; the same 15 minutes of skew are forgiven.
  if (options.nowMs + SigV4.MaxSkewMs < time.ms) return fail("AccessDenied", "presigned-not-yet-valid");
  // S3: AccessDenied, "Request has expired".
  if (options.nowMs > time.ms + expiresSeconds * 1000) return fail("AccessDenied", "presigned-expired");
  return checkSignature(request, query, parsed.value, time, PayloadHash.Unsigned, "presigned", "AuthorizationQueryParametersError", options);
}

type ParsedAuthorization = { ok: true; value: Authorization } | { ok: false; reason: SigV4Reason };

/** The three parts both ways share: Credential, SignedHeaders, Signature. */
function parseAuthorization(credential: string | undefined, signedHeaders: string | undefined, signature: string | undefined): ParsedAuthorization {
  if (credential === undefined) return { ok: false, reason: "missing-credential" };
  if (signedHeaders === undefined) return { ok: false, reason: "missing-signed-headers" };
  if (signature === undefined) return { ok: false, reason: "missing-signature" };
  const parts = credential.split("/");
  if (parts.length !== 5) return { ok: false, reason: "malformed-credential" };
  const [accessKeyId = "", scopeDate = "", region = "", service = "", terminator = ""] = parts;
  if (accessKeyId === "" || region === "") return { ok: false, reason: "malformed-credential" };
  if (!/^[0-9]{8}$/.test(scopeDate) || !parseAmzDate(`${scopeDate}T000000Z`)) return { ok: false, reason: "bad-credential-date" };
  const names = signedHeaders.split(";");
  // Lowercase, strictly ascending (so no duplicates): clients always send them that way, and a list that isn't
  // cannot be the one they signed.
  if (!names.every((name, i) => SIGNED_HEADER_NAME.test(name) && (i === 0 || (names[i - 1] ?? "") < name))) {
    return { ok: false, reason: "malformed-signed-headers" };
  }
  if (!names.includes("host")) return { ok: false, reason: "host-not-signed" };
  if (!HEX64.test(signature)) return { ok: false, reason: "malformed-signature" };
  return { ok: true, value: { accessKeyId, scopeDate, region, service, terminator, signedHeaders: names, signature } };
}

function checkSignature(
  request: SigV4Request,
  query: QueryParam[],
  auth: Authorization,
  time: RequestTime,
  payloadHash: string,
  mode: SigV4Verified["mode"],
  malformedCode: SigV4Code,
  options: SigV4Options,
): SigV4Result {
  // S3's AuthorizationHeaderMalformed messages: "the region 'x' is wrong; expecting 'y'", "Invalid credential date".
  if (auth.region !== options.region) return fail(malformedCode, "wrong-region");
  if (auth.service !== SigV4.Service) return fail(malformedCode, "wrong-service");
  if (auth.terminator !== SigV4.Terminator) return fail(malformedCode, "wrong-terminator");
  if (auth.scopeDate !== time.amzDate.slice(0, 8)) return fail(malformedCode, "credential-date-mismatch");
  const secret = options.lookupSecret(auth.accessKeyId);
  if (secret === null) return fail("InvalidAccessKeyId", "unknown-access-key");
  // S3: AccessDenied, "There were headers present in the request which were not signed" (x-amz-* must be signed).
  const signed = new Set(auth.signedHeaders);
  if (Object.keys(request.headers).some((name) => name.startsWith("x-amz-") && !signed.has(name))) {
    return fail("AccessDenied", "unsigned-amz-header");
  }
  if (auth.signedHeaders.some((name) => request.headers[name] === undefined)) return fail("SignatureDoesNotMatch", "signed-header-missing");

  const canonicalRequest = buildCanonicalRequest(request, query, auth.signedHeaders, payloadHash, mode === "presigned");
  const scope = `${auth.scopeDate}/${auth.region}/${auth.service}/${auth.terminator}`;
  const stringToSign = [SigV4.Algorithm, time.amzDate, scope, sha256Hex(canonicalRequest)].join("\n");
  const signingKey = deriveSigningKey(secret, auth.scopeDate, auth.region, auth.service);
  const expected = hmacHex(signingKey, stringToSign);
  if (!signaturesEqual(expected, auth.signature)) {
    return { ok: false, code: "SignatureDoesNotMatch", reason: "signature-mismatch", canonicalRequest, stringToSign };
  }
  return {
    ok: true,
    value: { mode, accessKeyId: auth.accessKeyId, payloadHash, signature: auth.signature, scope, amzDate: time.amzDate, requestTimeMs: time.ms, signingKey },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Canonical request and signing (sig-v4-header-based-auth.html, "Task 1" to "Task 4")

/*
 *   <HTTPMethod>\n
 *   <CanonicalURI>\n            the path as sent: S3 signs it encoded once, not twice like other services
 *   <CanonicalQueryString>\n    name=value pairs, each URI-encoded, sorted by name then value
 *   <CanonicalHeaders>\n        "name:value\n" per signed header, names lowercase, values trimmed, spaces collapsed
 *   <SignedHeaders>\n           "host;range;x-amz-date"
 *   <HashedPayload>             the x-amz-content-sha256 value, or UNSIGNED-PAYLOAD for presigned URLs
 */
function buildCanonicalRequest(request: SigV4Request, query: QueryParam[], signedHeaders: string[], payloadHash: string, presigned: boolean): string {
  const pairs = query
    // The signature cannot sign itself (sigv4-query-string-auth.html).
    .filter((p) => !(presigned && p.name === "X-Amz-Signature"))
    .map((p) => [p.encodedName, p.encodedValue] as const)
    .sort(([an, av], [bn, bv]) => (an < bn ? -1 : an > bn ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  const canonicalQuery = pairs.map(([name, value]) => `${name}=${value}`).join("&");
  const canonicalHeaders = signedHeaders.map((name) => `${name}:${(request.headers[name] ?? "").trim().replace(/\s+/g, " ")}\n`).join("");
  return [request.method, request.path === "" ? "/" : request.path, canonicalQuery, canonicalHeaders, signedHeaders.join(";"), payloadHash].join("\n");
}

/** kDate = HMAC("AWS4" + secret, date), kRegion, kService, kSigning = HMAC(kService, "aws4_request"). */
function deriveSigningKey(secret: string, scopeDate: string, region: string, service: string): Buffer {
  const kDate = hmac(`AWS4${secret}`, scopeDate);
  const kRegion = hmac(kDate, region);
  const kService = hmac(kRegion, service);
  return hmac(kService, SigV4.Terminator);
}

const hmac = (key: string | Buffer, data: string): Buffer => createHmac("sha256", key).update(data, "utf8").digest();
export const hmacHex = (key: Buffer, data: string): string => createHmac("sha256", key).update(data, "utf8").digest("hex");
const sha256Hex = (data: string): string => createHash("sha256").update(data, "utf8").digest("hex");

/** Both are 64 lowercase hex digits by now; timingSafeEqual keeps a forger from learning the prefix that matched. */
export function signaturesEqual(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a, "latin1"), Buffer.from(b, "latin1"));
}

// ---------------------------------------------------------------------------------------------------------------
// Query strings: decoded to bytes, re-encoded the AWS way

interface QueryParam {
  name: string;
  value: string;
  encodedName: string;
  encodedValue: string;
}

/**
 * "a=1&b" → params, or null when a "%" is not followed by two hex digits. "+" reads as a space, as S3's form
 * decoding does, so it signs as "%20". Bytes that are not UTF-8 survive into the canonical form unchanged.
 */
function parseQuery(query: string): QueryParam[] | null {
  const params: QueryParam[] = [];
  for (const part of query.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const name = percentDecode(eq < 0 ? part : part.slice(0, eq));
    const value = percentDecode(eq < 0 ? "" : part.slice(eq + 1));
    if (!name || !value) return null;
    params.push({ name: TEXT.decode(name), value: TEXT.decode(value), encodedName: awsUriEncode(name), encodedValue: awsUriEncode(value) });
  }
  return params;
}

const TEXT = new TextDecoder();
const UTF8 = new TextEncoder();

function percentDecode(text: string): Uint8Array | null {
  const raw = UTF8.encode(text);
  const out = new Uint8Array(raw.length);
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    const byte = raw[i] ?? 0;
    if (byte === 0x25) {
      const hi = hexValue(raw[i + 1]);
      const lo = hexValue(raw[i + 2]);
      if (hi < 0 || lo < 0) return null;
      out[n++] = hi * 16 + lo;
      i += 2;
    } else {
      out[n++] = byte === 0x2b ? 0x20 : byte;
    }
  }
  return out.subarray(0, n);
}

function hexValue(byte: number | undefined): number {
  if (byte === undefined) return -1;
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  return -1;
}

/** AWS's UriEncode: A-Z a-z 0-9 - _ . ~ stay, every other byte becomes %XX with uppercase hex. */
function awsUriEncode(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) {
    const unreserved =
      (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39) || byte === 0x2d || byte === 0x5f || byte === 0x2e || byte === 0x7e;
    out += unreserved ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Request time

interface RequestTime {
  ms: number;
  /** ISO 8601 basic, "20130524T000000Z". */
  amzDate: string;
}

/** "20130524T000000Z" → its time, or null unless every field is in range (Date.UTC would roll 20130532 over). */
function parseAmzDate(text: string): RequestTime | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  return formatAmzDate(ms) === text ? { ms, amzDate: text } : null;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** RFC 9110 §5.6.7 IMF-fixdate, the only Date form clients send: "Fri, 24 May 2013 00:00:00 GMT". */
function parseHttpDate(text: string): RequestTime | null {
  const m = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/.exec(text);
  const month = m ? MONTHS.indexOf(m[2] ?? "") : -1;
  if (!m || month < 0) return null;
  return parseAmzDate(`${m[3]}${String(month + 1).padStart(2, "0")}${m[1]}T${m[4]}${m[5]}${m[6]}Z`);
}

function formatAmzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}
