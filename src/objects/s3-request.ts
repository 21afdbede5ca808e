// What an S3 request is, read off the wire: the raw path and query SigV4 signs, the bucket and key they name, the
// operation they ask for, and the lower-cased header fields. Pure.

export interface S3Request {
  method: string;
  /** The path as sent, percent-encoding intact, including any prefix goosed serves S3 under. */
  rawPath: string;
  /** The raw query string, without "?". */
  rawQuery: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  bucket: string;
  key: string;
}

export type S3Operation =
  | "ListBuckets"
  | "CreateBucket"
  | "DeleteBucket"
  | "HeadBucket"
  | "GetBucketLocation"
  | "ListObjects"
  | "ListObjectsV2"
  | "DeleteObjects"
  | "PutObject"
  | "CopyObject"
  | "GetObject"
  | "HeadObject"
  | "DeleteObject"
  | "CreateMultipartUpload"
  | "UploadPart"
  | "CompleteMultipartUpload"
  | "AbortMultipartUpload"
  | "ListParts"
  | "ListMultipartUploads"
  | "Unsupported";

/**
 * Splits a request URL without normalising it: `new URL` would resolve dot segments and re-encode, and SigV4 signs
 * the path exactly as the client sent it. Null when the path is not under `prefix` or does not decode.
 */
export function readS3Request(method: string, url: string, headerList: Headers, prefix: string): S3Request | null {
  const scheme = url.indexOf("://");
  const pathStart = url.indexOf("/", scheme === -1 ? 0 : scheme + 3);
  if (pathStart === -1) return null;
  const queryStart = url.indexOf("?", pathStart);
  const rawPath = queryStart === -1 ? url.slice(pathStart) : url.slice(pathStart, queryStart);
  const rawQuery = queryStart === -1 ? "" : url.slice(queryStart + 1);
  if (!(rawPath === prefix || rawPath.startsWith(`${prefix}/`))) return null;
  const rest = rawPath.slice(prefix.length + 1);
  const slash = rest.indexOf("/");
  let bucket: string;
  let key: string;
  try {
    bucket = decodeURIComponent(slash === -1 ? rest : rest.slice(0, slash));
    key = slash === -1 ? "" : decodeURIComponent(rest.slice(slash + 1));
  } catch {
    return null;
  }
  const headers: Record<string, string> = {};
  headerList.forEach((value, name) => {
    headers[name] = value;
  });
  return { method, rawPath, rawQuery, query: new URLSearchParams(rawQuery), headers, bucket, key };
}

/** The operation, by method, whether a bucket and key are named, and the sub-resource in the query. */
export function s3Operation(request: S3Request): S3Operation {
  const { method, bucket, key, query } = request;
  if (bucket === "") return method === "GET" ? "ListBuckets" : "Unsupported";
  if (key === "") {
    switch (method) {
      case "GET":
        if (query.has("location")) return "GetBucketLocation";
        if (query.has("uploads")) return "ListMultipartUploads";
        if (SUBRESOURCES.some((name) => query.has(name))) return "Unsupported";
        return query.get("list-type") === "2" ? "ListObjectsV2" : "ListObjects";
      case "HEAD":
        return "HeadBucket";
      case "PUT":
        return SUBRESOURCES.some((name) => query.has(name)) ? "Unsupported" : "CreateBucket";
      case "DELETE":
        return SUBRESOURCES.some((name) => query.has(name)) ? "Unsupported" : "DeleteBucket";
      case "POST":
        return query.has("delete") ? "DeleteObjects" : "Unsupported";
      default:
        return "Unsupported";
    }
  }
  switch (method) {
    case "GET":
      if (query.has("uploadId")) return "ListParts";
      return SUBRESOURCES.some((name) => query.has(name)) ? "Unsupported" : "GetObject";
    case "HEAD":
      return "HeadObject";
    case "PUT":
      if (query.has("uploadId") || query.has("partNumber")) return request.headers["x-amz-copy-source"] ? "Unsupported" : "UploadPart";
      if (SUBRESOURCES.some((name) => query.has(name))) return "Unsupported";
      return request.headers["x-amz-copy-source"] ? "CopyObject" : "PutObject";
    case "POST":
      if (query.has("uploads")) return "CreateMultipartUpload";
      if (query.has("uploadId")) return "CompleteMultipartUpload";
      return "Unsupported";
    case "DELETE":
      return query.has("uploadId") ? "AbortMultipartUpload" : "DeleteObject";
    default:
      return "Unsupported";
  }
}

/** Sub-resources goosed does not implement; a request for one gets NotImplemented rather than a wrong answer. */
const SUBRESOURCES = [
  "acl",
  "policy",
  "versioning",
  "versions",
  "tagging",
  "lifecycle",
  "cors",
  "website",
  "logging",
  "notification",
  "replication",
  "encryption",
  "object-lock",
  "retention",
  "legal-hold",
  "torrent",
  "restore",
  "select",
  "uploads",
  "accelerate",
  "requestPayment",
  "analytics",
  "inventory",
  "metrics",
  "ownershipControls",
  "publicAccessBlock",
  "intelligent-tiering",
  "attributes",
];

/** x-amz-meta-* fields, names without the prefix, as S3 keeps them (lower-cased by HTTP). */
export function userMetadata(headers: Record<string, string>): Record<string, string> {
  const found: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith("x-amz-meta-")) found[name.slice("x-amz-meta-".length)] = value;
  }
  return found;
}

/** Content-MD5 (base64 of 16 bytes) as hex, or null when it is not a well-formed MD5. */
export function contentMd5Hex(value: string): string | null {
  if (!/^[A-Za-z0-9+/]{22}==$/.test(value)) return null;
  return Buffer.from(value, "base64").toString("hex");
}

/** x-amz-copy-source: "bucket/key" or "/bucket/key", percent-encoded; a versionId is not supported. */
export function readCopySource(value: string): { bucket: string; key: string } | null {
  const trimmed = value.startsWith("/") ? value.slice(1) : value;
  const slash = trimmed.indexOf("/");
  if (slash <= 0 || trimmed.includes("?versionId=")) return null;
  try {
    const key = decodeURIComponent(trimmed.slice(slash + 1));
    return key === "" ? null : { bucket: decodeURIComponent(trimmed.slice(0, slash)), key };
  } catch {
    return null;
  }
}
