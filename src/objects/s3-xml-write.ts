// S3 REST API response bodies as XML: list results, multipart results, delete results, location and errors.
import { S3_ERRORS, type S3ErrorCode } from "./s3-errors.ts";

/** Every S3 response document but Error lives in this namespace (Amazon S3 API reference, "Response Syntax"). */
export const S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/";
const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

/**
 * XML 1.0 §2.2 (production [2] Char) excludes C0 controls other than tab, LF and CR, U+FFFE, U+FFFF and lone
 * surrogates, even as character references, so no escaping can carry them. They become U+FFFD, which keeps the
 * document well-formed; a listing whose keys may hold them is asked for with EncodingType=url (botocore always
 * asks), which percent-encodes first and loses nothing. CR is escaped so a parser's end-of-line handling
 * (§2.11) cannot turn it into LF.
 */
const UNESCAPED = /[&<>"'\r\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;", "\r": "&#13;" };

export function escapeXml(text: string): string {
  return text.replace(UNESCAPED, (c) => ESCAPES[c] ?? "\ufffd");
}

/**
 * S3's EncodingType=url: the UTF-8 bytes of the name, percent-encoded except RFC 3986 unreserved characters and
 * "/", as S3 returns them. botocore undoes it with unquote_plus, so "+" must be encoded too (it is: not unreserved).
 * TextEncoder turns a lone surrogate into U+FFFD rather than throwing, as encodeURIComponent would.
 */
export function urlEncodeS3(name: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(name)) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~/]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** ISO 8601 in UTC with milliseconds, the only timestamp form S3 puts in XML bodies ("2009-10-12T17:50:30.000Z"). */
const timestamp = (ms: number): string => new Date(ms).toISOString();
/** ETags travel quoted in XML as in the ETag header (RFC 9110 §8.8.3); callers hold them bare. */
const quoted = (etag: string): string => `"${etag}"`;

const el = (name: string, text: string | number | boolean): string => `<${name}>${escapeXml(String(text))}</${name}>`;
const optional = (name: string, text: string | number | undefined): string => (text === undefined ? "" : el(name, text));
const root = (name: string, body: string): string => `${DECLARATION}<${name} xmlns="${S3_NAMESPACE}">${body}</${name}>`;

export interface S3Owner {
  id: string;
  displayName: string;
}

const owner = (name: string, who: S3Owner): string => `<${name}>${el("ID", who.id)}${el("DisplayName", who.displayName)}</${name}>`;

/** ListBuckets (GET /): Owner, then Buckets, each with Name and CreationDate. */
export function writeListAllMyBucketsResult(value: { owner: S3Owner; buckets: { name: string; creationDateMs: number }[] }): string {
  const buckets = value.buckets.map((b) => `<Bucket>${el("Name", b.name)}${el("CreationDate", timestamp(b.creationDateMs))}</Bucket>`).join("");
  return root("ListAllMyBucketsResult", `${owner("Owner", value.owner)}<Buckets>${buckets}</Buckets>`);
}

export interface S3ObjectEntry {
  key: string;
  lastModifiedMs: number;
  /** Hex MD5 of a single-part object, or "<hex>-<parts>" of a multipart one; unquoted. */
  etag: string;
  sizeBytes: number;
  storageClass?: string;
}

export interface ListObjectsV2Result {
  bucket: string;
  prefix: string;
  delimiter?: string;
  maxKeys: number;
  isTruncated: boolean;
  continuationToken?: string;
  nextContinuationToken?: string;
  startAfter?: string;
  /** "url" when the request asked for it: Prefix, Delimiter, StartAfter, Key and CommonPrefixes are then percent-encoded. */
  encodingType?: "url";
  contents: S3ObjectEntry[];
  commonPrefixes: string[];
}

/**
 * What both ListObjects versions share: `named` writes an element holding a key-like value, url-encoded when the
 * request asked for it, and the Contents and CommonPrefixes written the same way.
 */
function listEntries(value: { encodingType?: "url"; contents: S3ObjectEntry[]; commonPrefixes: string[] }) {
  const name = value.encodingType === "url" ? urlEncodeS3 : (text: string) => text;
  const named = (element: string, text: string | undefined) => (text === undefined ? "" : el(element, name(text)));
  const contents = value.contents
    .map((o) => `<Contents>${el("Key", name(o.key))}${el("LastModified", timestamp(o.lastModifiedMs))}${el("ETag", quoted(o.etag))}${el("Size", o.sizeBytes)}${el("StorageClass", o.storageClass ?? "STANDARD")}</Contents>`)
    .join("");
  const prefixes = value.commonPrefixes.map((p) => `<CommonPrefixes>${named("Prefix", p)}</CommonPrefixes>`).join("");
  return { named, contents, prefixes };
}

/** ListObjectsV2 (GET /bucket?list-type=2). KeyCount counts keys and common prefixes together, as S3 does. */
export function writeListObjectsV2Result(value: ListObjectsV2Result): string {
  const { named, contents, prefixes } = listEntries(value);
  return root(
    "ListBucketResult",
    el("Name", value.bucket) +
      named("Prefix", value.prefix) +
      named("Delimiter", value.delimiter) +
      el("MaxKeys", value.maxKeys) +
      el("KeyCount", value.contents.length + value.commonPrefixes.length) +
      el("IsTruncated", value.isTruncated) +
      optional("ContinuationToken", value.continuationToken) +
      optional("NextContinuationToken", value.nextContinuationToken) +
      named("StartAfter", value.startAfter) +
      optional("EncodingType", value.encodingType) +
      contents +
      prefixes,
  );
}

export interface ListObjectsV1Result {
  bucket: string;
  prefix: string;
  delimiter?: string;
  marker: string;
  maxKeys: number;
  isTruncated: boolean;
  /** Sent only with a delimiter, as S3 does; without one a client resumes after the last Key. */
  nextMarker?: string;
  encodingType?: "url";
  contents: S3ObjectEntry[];
  commonPrefixes: string[];
}

/** ListObjects, version 1 (GET /bucket without list-type=2): what s3cmd asks for. */
export function writeListObjectsV1Result(value: ListObjectsV1Result): string {
  const { named, contents, prefixes } = listEntries(value);
  return root(
    "ListBucketResult",
    el("Name", value.bucket) +
      named("Prefix", value.prefix) +
      named("Marker", value.marker) +
      named("NextMarker", value.nextMarker) +
      el("MaxKeys", value.maxKeys) +
      named("Delimiter", value.delimiter) +
      el("IsTruncated", value.isTruncated) +
      optional("EncodingType", value.encodingType) +
      contents +
      prefixes,
  );
}

/** CreateMultipartUpload (POST /bucket/key?uploads). */
export function writeInitiateMultipartUploadResult(value: { bucket: string; key: string; uploadId: string }): string {
  return root("InitiateMultipartUploadResult", el("Bucket", value.bucket) + el("Key", value.key) + el("UploadId", value.uploadId));
}

/** CompleteMultipartUpload (POST /bucket/key?uploadId=...). Location is the object's URL. */
export function writeCompleteMultipartUploadResult(value: { location: string; bucket: string; key: string; etag: string }): string {
  return root("CompleteMultipartUploadResult", el("Location", value.location) + el("Bucket", value.bucket) + el("Key", value.key) + el("ETag", quoted(value.etag)));
}

export interface ListMultipartUploadsResult {
  bucket: string;
  prefix: string;
  keyMarker: string;
  uploadIdMarker: string;
  nextKeyMarker?: string;
  nextUploadIdMarker?: string;
  maxUploads: number;
  isTruncated: boolean;
  owner: S3Owner;
  uploads: { key: string; uploadId: string; initiatedMs: number }[];
}

/** ListMultipartUploads (GET /bucket?uploads): the minio client asks it before resuming an upload of a key. */
export function writeListMultipartUploadsResult(value: ListMultipartUploadsResult): string {
  const uploads = value.uploads
    .map(
      (u) =>
        `<Upload>${el("Key", u.key)}${el("UploadId", u.uploadId)}${owner("Initiator", value.owner)}${owner("Owner", value.owner)}${el("StorageClass", "STANDARD")}${el("Initiated", timestamp(u.initiatedMs))}</Upload>`,
    )
    .join("");
  return root(
    "ListMultipartUploadsResult",
    el("Bucket", value.bucket) +
      el("KeyMarker", value.keyMarker) +
      el("UploadIdMarker", value.uploadIdMarker) +
      optional("NextKeyMarker", value.nextKeyMarker) +
      optional("NextUploadIdMarker", value.nextUploadIdMarker) +
      el("Prefix", value.prefix) +
      el("MaxUploads", value.maxUploads) +
      el("IsTruncated", value.isTruncated) +
      uploads,
  );
}

export interface ListPartsResult {
  bucket: string;
  key: string;
  uploadId: string;
  owner: S3Owner;
  storageClass?: string;
  partNumberMarker: number;
  nextPartNumberMarker: number;
  maxParts: number;
  isTruncated: boolean;
  parts: { partNumber: number; lastModifiedMs: number; etag: string; sizeBytes: number }[];
}

/** ListParts (GET /bucket/key?uploadId=...). The uploader is both Initiator and Owner: goosed has no IAM users. */
export function writeListPartsResult(value: ListPartsResult): string {
  const parts = value.parts
    .map((p) => `<Part>${el("PartNumber", p.partNumber)}${el("LastModified", timestamp(p.lastModifiedMs))}${el("ETag", quoted(p.etag))}${el("Size", p.sizeBytes)}</Part>`)
    .join("");
  return root(
    "ListPartsResult",
    el("Bucket", value.bucket) +
      el("Key", value.key) +
      el("UploadId", value.uploadId) +
      owner("Initiator", value.owner) +
      owner("Owner", value.owner) +
      el("StorageClass", value.storageClass ?? "STANDARD") +
      el("PartNumberMarker", value.partNumberMarker) +
      el("NextPartNumberMarker", value.nextPartNumberMarker) +
      el("MaxParts", value.maxParts) +
      el("IsTruncated", value.isTruncated) +
      parts,
  );
}

/** CopyObject (PUT /bucket/key with x-amz-copy-source): the new object's LastModified and ETag. */
export function writeCopyObjectResult(value: { lastModifiedMs: number; etag: string }): string {
  return root("CopyObjectResult", el("LastModified", timestamp(value.lastModifiedMs)) + el("ETag", quoted(value.etag)));
}

export type DeleteOutcome = { key: string; versionId?: string; deleted: true } | { key: string; versionId?: string; deleted: false; code: S3ErrorCode; message?: string };

/** DeleteObjects (POST /bucket?delete): one Deleted or Error per key, in request order; Quiet mode lists only the errors. */
export function writeDeleteResult(value: { quiet: boolean; outcomes: DeleteOutcome[] }): string {
  const entries = value.outcomes
    .filter((o) => !(value.quiet && o.deleted))
    .map((o) =>
      o.deleted
        ? `<Deleted>${el("Key", o.key)}${optional("VersionId", o.versionId)}</Deleted>`
        : `<Error>${el("Key", o.key)}${optional("VersionId", o.versionId)}${el("Code", o.code)}${el("Message", o.message ?? S3_ERRORS[o.code].message)}</Error>`,
    )
    .join("");
  return root("DeleteResult", entries);
}

/** GetBucketLocation (GET /bucket?location): S3 answers an empty element for us-east-1, the region named by none. */
export function writeLocationConstraint(region: string): string {
  return region === "us-east-1" ? `${DECLARATION}<LocationConstraint xmlns="${S3_NAMESPACE}"/>` : root("LocationConstraint", escapeXml(region));
}

/** Fields some errors carry beside Code and Message, in the order they are written. */
export const S3_ERROR_DETAILS = [
  "BucketName",
  "Key",
  "UploadId",
  "PartNumber",
  "ETag",
  "Chunk",
  "BadChunkSize",
  "ArgumentName",
  "ArgumentValue",
  "Method",
  "ResourceType",
  "AWSAccessKeyId",
  "StringToSign",
  "SignatureProvided",
  "CanonicalRequest",
  "X-Amz-Expires",
  "Expires",
  "RequestTime",
  "ServerTime",
  "MaxAllowedSkewMilliseconds",
  "Region",
  "RangeRequested",
  "ActualObjectSize",
  "ProposedSize",
  "MinSizeAllowed",
  "MaxSizeAllowed",
  "Condition",
  "ClientComputedContentSHA256",
  "S3ComputedContentSHA256",
] as const;
export type S3ErrorDetail = (typeof S3_ERROR_DETAILS)[number];

export interface S3ErrorDocument {
  code: S3ErrorCode;
  /** Defaults to the code's documented message. */
  message?: string;
  details?: Partial<Record<S3ErrorDetail, string | number>>;
  /** The request path the error is about. */
  resource?: string;
  requestId: string;
}

/** The REST error body (ErrorResponses.html, "REST error responses"): no namespace, unlike the results. */
export function writeS3Error(value: S3ErrorDocument): string {
  const details = S3_ERROR_DETAILS.map((name) => optional(name, value.details?.[name])).join("");
  return `${DECLARATION}<Error>${el("Code", value.code)}${el("Message", value.message ?? S3_ERRORS[value.code].message)}${details}${optional("Resource", value.resource)}${el("RequestId", value.requestId)}</Error>`;
}
