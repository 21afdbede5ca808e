// A client-side SigV4 signer for tests that need requests no stock client sends (aws-chunked bodies, a wrong
// Content-MD5, a lying x-amz-content-sha256). Written from the AWS documentation (sig-v4-header-based-auth.html,
// sigv4-streaming.html), independently of src/objects/sigv4.ts, so the server is checked against the spec.
import { createHash, createHmac } from "node:crypto";

export interface SigningKey {
  accessKey: string;
  secretKey: string;
  region?: string;
}

const sha256 = (data: Uint8Array | string) => createHash("sha256").update(data).digest("hex");
const hmac = (key: Buffer | string, data: string) => createHmac("sha256", key).update(data, "utf8").digest();

/** RFC 3986 unreserved characters stay; everything else is %XX, upper-case, as SigV4 wants. */
const encode = (text: string) => encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function signingKey(key: SigningKey, date: string): Buffer {
  const kDate = hmac(`AWS4${key.secretKey}`, date);
  return hmac(hmac(hmac(kDate, key.region ?? "us-east-1"), "s3"), "aws4_request");
}

export interface SignedRequest {
  headers: Record<string, string>;
  /** kSigning, the scope and the seed signature, for chunk signatures. */
  seed: { key: Buffer; scope: string; amzDate: string; signature: string };
}

/**
 * Signs `method url` with the given header fields (lower-case names) and payload hash. The path of `url` must already
 * be percent-encoded as it will be sent.
 */
export function signRequest(method: string, url: string, headers: Record<string, string>, payloadHash: string, key: SigningKey, now = new Date()): SignedRequest {
  const parsed = new URL(url);
  const amzDate = now.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  const date = amzDate.slice(0, 8);
  const all: Record<string, string> = { ...headers, host: parsed.host, "x-amz-date": amzDate, "x-amz-content-sha256": payloadHash };
  const names = Object.keys(all).sort();
  const query = [...parsed.searchParams]
    .map(([k, v]) => [encode(k), encode(v)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const canonical = [method, parsed.pathname, query, ...names.map((n) => `${n}:${all[n]!.trim()}`), "", names.join(";"), payloadHash].join("\n");
  const scope = `${date}/${key.region ?? "us-east-1"}/s3/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonical)].join("\n");
  const kSigning = signingKey(key, date);
  const signature = hmac(kSigning, toSign).toString("hex");
  const { host: _host, ...sent } = all;
  return {
    headers: { ...sent, authorization: `AWS4-HMAC-SHA256 Credential=${key.accessKey}/${scope},SignedHeaders=${names.join(";")},Signature=${signature}` },
    seed: { key: kSigning, scope, amzDate, signature },
  };
}

/** An aws-chunked body of `data` in chunks of `chunkBytes`, each signed in the chain from the seed. */
export function chunkedBody(data: Uint8Array, chunkBytes: number, seed: SignedRequest["seed"]): Uint8Array {
  const pieces: Uint8Array[] = [];
  let previous = seed.signature;
  const emptyHash = sha256("");
  for (let offset = 0; ; offset += chunkBytes) {
    const chunk = data.subarray(offset, Math.min(offset + chunkBytes, data.byteLength));
    const toSign = ["AWS4-HMAC-SHA256-PAYLOAD", seed.amzDate, seed.scope, previous, emptyHash, sha256(chunk)].join("\n");
    previous = hmac(seed.key, toSign).toString("hex");
    pieces.push(new TextEncoder().encode(`${chunk.byteLength.toString(16)};chunk-signature=${previous}\r\n`), chunk, new TextEncoder().encode("\r\n"));
    if (chunk.byteLength === 0) break;
  }
  return Buffer.concat(pieces);
}
