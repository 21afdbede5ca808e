// SigV4 verification: AWS's published S3 examples, requests captured from awscli, malformed inputs and tampering.
import { describe, expect, test } from "bun:test";
import { createChunkedDecoder } from "../../src/objects/sigv4-chunked.ts";
import { type SigV4Options, type SigV4Request, verifySigV4 } from "../../src/objects/sigv4.ts";

/** The credentials every example on AWS's SigV4 pages for S3 uses. */
const AWS_KEY = "AKIAIOSFODNN7EXAMPLE";
const AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const AWS_NOW = Date.UTC(2013, 4, 24);
const awsOptions = (nowMs = AWS_NOW): SigV4Options => ({ region: "us-east-1", nowMs, lookupSecret: (id) => (id === AWS_KEY ? AWS_SECRET : null) });
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const authorization = (signedHeaders: string, signature: string) =>
  `AWS4-HMAC-SHA256 Credential=${AWS_KEY}/20130524/us-east-1/s3/aws4_request,SignedHeaders=${signedHeaders},Signature=${signature}`;

/*
 * docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html, "Examples: Signature Calculations":
 * the requests and the signatures printed there.
 */
const AWS_EXAMPLES: Record<string, SigV4Request> = {
  "GET Object (Range)": {
    method: "GET", path: "/test.txt", query: "",
    headers: {
      host: "examplebucket.s3.amazonaws.com", range: "bytes=0-9", "x-amz-content-sha256": EMPTY_SHA256, "x-amz-date": "20130524T000000Z",
      authorization: authorization("host;range;x-amz-content-sha256;x-amz-date", "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"),
    },
  },
  "PUT Object": {
    method: "PUT", path: "/test%24file.text", query: "",
    headers: {
      host: "examplebucket.s3.amazonaws.com", date: "Fri, 24 May 2013 00:00:00 GMT", "x-amz-date": "20130524T000000Z", "x-amz-storage-class": "REDUCED_REDUNDANCY",
      // sha256("Welcome to Amazon S3.")
      "x-amz-content-sha256": "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
      authorization: authorization("date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class", "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"),
    },
  },
  "GET Bucket Lifecycle": {
    method: "GET", path: "/", query: "lifecycle",
    headers: {
      host: "examplebucket.s3.amazonaws.com", "x-amz-content-sha256": EMPTY_SHA256, "x-amz-date": "20130524T000000Z",
      authorization: authorization("host;x-amz-content-sha256;x-amz-date", "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"),
    },
  },
  "Get Bucket (List Objects)": {
    method: "GET", path: "/", query: "max-keys=2&prefix=J",
    headers: {
      host: "examplebucket.s3.amazonaws.com", "x-amz-content-sha256": EMPTY_SHA256, "x-amz-date": "20130524T000000Z",
      authorization: authorization("host;x-amz-content-sha256;x-amz-date", "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
    },
  },
  // sigv4-streaming.html, "Example: PUT Object": the seed signature over the headers.
  "PUT Object (chunked, seed)": {
    method: "PUT", path: "/examplebucket/chunkObject.txt", query: "",
    headers: {
      host: "s3.amazonaws.com", "x-amz-date": "20130524T000000Z", "x-amz-storage-class": "REDUCED_REDUNDANCY",
      "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "content-encoding": "aws-chunked", "x-amz-decoded-content-length": "66560", "content-length": "66824",
      authorization: authorization(
        "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class",
        "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
      ),
    },
  },
};

/* sigv4-query-string-auth.html, "An Example": a presigned GET of test.txt valid for a day. */
const AWS_PRESIGNED: SigV4Request = {
  method: "GET", path: "/test.txt",
  query:
    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
  headers: { host: "examplebucket.s3.amazonaws.com" },
};

/* sigv4-streaming.html, "Example: PUT Object": 66560 bytes of "a" in a 65536-byte chunk, a 1024-byte chunk and the final one. */
const AWS_CHUNK_SIGNATURES = [
  "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
  "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
  "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
];
const AWS_CHUNKED_BODY = new TextEncoder().encode(
  `10000;chunk-signature=${AWS_CHUNK_SIGNATURES[0]}\r\n${"a".repeat(65536)}\r\n` +
    `400;chunk-signature=${AWS_CHUNK_SIGNATURES[1]}\r\n${"a".repeat(1024)}\r\n` +
    `0;chunk-signature=${AWS_CHUNK_SIGNATURES[2]}\r\n\r\n`,
);

function verified(request: SigV4Request, options = awsOptions()) {
  const result = verifySigV4(request, options);
  if (!result.ok) throw new Error(`verify failed: ${result.code} ${result.reason}\n${result.canonicalRequest ?? ""}`);
  return result.value;
}

describe("AWS's published examples", () => {
  test.each(Object.entries(AWS_EXAMPLES))("%s verifies", (_name, request) => {
    const value = verified(request);
    expect(value.accessKeyId).toBe(AWS_KEY);
    expect(value.scope).toBe("20130524/us-east-1/s3/aws4_request");
    expect(value.payloadHash).toBe(request.headers["x-amz-content-sha256"] ?? "");
  });

  test("the presigned URL verifies, with an unsigned payload", () => {
    const value = verified(AWS_PRESIGNED);
    expect({ mode: value.mode, payloadHash: value.payloadHash, signature: value.signature }).toEqual({
      mode: "presigned", payloadHash: "UNSIGNED-PAYLOAD", signature: "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
    });
  });

  test("the chunked body decodes to 66560 bytes of 'a', whole or one byte at a time", () => {
    const seed = verified(AWS_EXAMPLES["PUT Object (chunked, seed)"] as SigV4Request);
    for (const sliceBytes of [AWS_CHUNKED_BODY.length, 4096, 97, 1]) {
      const decoder = createChunkedDecoder(seed);
      const out: number[] = [];
      let done = false;
      for (let at = 0; at < AWS_CHUNKED_BODY.length; at += sliceBytes) {
        const pushed = decoder.push(AWS_CHUNKED_BODY.subarray(at, at + sliceBytes));
        if (!pushed.ok) throw new Error(`${pushed.reason} at ${pushed.offset}`);
        for (const piece of pushed.data) for (const byte of piece) out.push(byte);
        done = pushed.done;
      }
      expect(done).toBe(true);
      expect(decoder.end()).toEqual({ ok: true, decodedBytes: 66560 });
      expect(out.length).toBe(66560);
      expect(out.every((byte) => byte === 0x61)).toBe(true);
    }
  });
});
