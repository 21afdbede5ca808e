// The aws-chunked body of a streaming SigV4 upload: framing decoded slice by slice, each chunk's signature chained from the seed.
/*
 * sigv4-streaming.html. With x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD the body is
 *
 *   <hex size>;chunk-signature=<64 hex>\r\n<size bytes of data>\r\n   ...repeated...
 *   0;chunk-signature=<64 hex>\r\n\r\n                                 the final, empty chunk
 *
 * and chunk n's signature is HMAC(kSigning, string to sign) over
 *
 *   AWS4-HMAC-SHA256-PAYLOAD\n<amz date>\n<scope>\n<signature of chunk n-1, or the seed>\n<sha256("")>\n<sha256(data)>
 *
 * Use: `const decoder = createChunkedDecoder(verified)`, then `decoder.push(slice)` for each slice of the body as
 * it arrives, writing out the `data` slices it returns, and `decoder.end()` once the body is over.
 *
 * Memory stays bounded by the chunk header line (MAX_HEADER_BYTES): data slices are views of the input, passed on
 * as they arrive, hashed incrementally. So a chunk's data is handed out before its signature can be checked (the
 * signature covers data that may be gigabytes long): write it somewhere temporary and commit nothing until the
 * decoder has said `done`. A failure is sticky: every later push returns it again.
 */
import { createHash, type Hash } from "node:crypto";
import { EMPTY_SHA256, hmacHex, signaturesEqual, type SigV4Verified } from "./sigv4.ts";

/** "<16 hex digits>;chunk-signature=<64 hex>" is 97 bytes; anything much longer is not a chunk header. */
const MAX_HEADER_BYTES = 128;
const CHUNK_HEADER = /^([0-9a-fA-F]{1,16});chunk-signature=([0-9a-f]{64})$/;
/**
 * sigv4-streaming.html: every chunk but the last data chunk holds at least 8 KiB; S3 answers InvalidChunkSizeError
 * otherwise. It also keeps a client from making the server run an HMAC per byte.
 */
const MIN_CHUNK_BYTES = 8192;
const CR = 0x0d;
const LF = 0x0a;

export type ChunkedReason =
  | "header-too-long"
  | "bad-chunk-header"
  | "chunk-too-large"
  | "chunk-too-small"
  | "missing-chunk-crlf"
  | "chunk-signature-mismatch"
  | "data-after-final-chunk"
  | "truncated";

export type ChunkedFailure = {
  ok: false;
  /**
   * S3 error codes: a bad signature is SignatureDoesNotMatch, a body that ends early IncompleteBody, a small chunk
   * before the last InvalidChunkSizeError, other bad framing InvalidRequest.
   */
  code: "SignatureDoesNotMatch" | "IncompleteBody" | "InvalidChunkSizeError" | "InvalidRequest";
  reason: ChunkedReason;
  /** Offset in the encoded body where the problem was seen. */
  offset: number;
};

export type ChunkedPush = { ok: true; data: Uint8Array[]; done: boolean } | ChunkedFailure;
export type ChunkedEnd = { ok: true; decodedBytes: number } | ChunkedFailure;

export interface ChunkedDecoder {
  push(slice: Uint8Array): ChunkedPush;
  /** The body is over: fine only after the final chunk. */
  end(): ChunkedEnd;
}

type Phase =
  | { at: "header"; line: number[] }
  | { at: "data"; remaining: number; hash: Hash; isFinal: boolean; signature: string }
  | { at: "crlf"; seen: number; isFinal: boolean }
  | { at: "done" };

export function createChunkedDecoder(verified: Pick<SigV4Verified, "signingKey" | "amzDate" | "scope" | "signature">): ChunkedDecoder {
  let phase: Phase = { at: "header", line: [] };
  let previousSignature = verified.signature;
  let offset = 0;
  let decodedBytes = 0;
  /** Size of the latest data chunk, which must not have been small now that another follows. */
  let lastChunkBytes = MIN_CHUNK_BYTES;
  let failure: ChunkedFailure | null = null;

  const failAt = (code: ChunkedFailure["code"], reason: ChunkedReason, at: number): ChunkedFailure => {
    failure = { ok: false, code, reason, offset: at };
    return failure;
  };

  /** The header line is complete: parse it and start the chunk. */
  function startChunk(line: number[], at: number): ChunkedFailure | null {
    const m = CHUNK_HEADER.exec(String.fromCharCode(...line));
    if (!m) return failAt("InvalidRequest", "bad-chunk-header", at);
    const size = Number.parseInt(m[1] ?? "", 16);
    if (!Number.isSafeInteger(size)) return failAt("InvalidRequest", "chunk-too-large", at);
    if (size > 0 && lastChunkBytes < MIN_CHUNK_BYTES) return failAt("InvalidChunkSizeError", "chunk-too-small", at);
    if (size > 0) lastChunkBytes = size;
    phase = { at: "data", remaining: size, hash: createHash("sha256"), isFinal: size === 0, signature: m[2] ?? "" };
    // The final chunk has no data: its signature is due at once.
    return size === 0 ? finishData(phase, at) : null;
  }

  /** All of a chunk's data has passed: check its signature, which the next chunk then chains from. */
  function finishData(chunk: Extract<Phase, { at: "data" }>, at: number): ChunkedFailure | null {
    const stringToSign = ["AWS4-HMAC-SHA256-PAYLOAD", verified.amzDate, verified.scope, previousSignature, EMPTY_SHA256, chunk.hash.digest("hex")].join("\n");
    if (!signaturesEqual(hmacHex(verified.signingKey, stringToSign), chunk.signature)) return failAt("SignatureDoesNotMatch", "chunk-signature-mismatch", at);
    previousSignature = chunk.signature;
    phase = { at: "crlf", seen: 0, isFinal: chunk.isFinal };
    return null;
  }

  function push(slice: Uint8Array): ChunkedPush {
    if (failure) return failure;
    const data: Uint8Array[] = [];
    let i = 0;
    while (i < slice.length) {
      const at = offset + i;
      switch (phase.at) {
        case "header": {
          const byte = slice[i++] ?? 0;
          if (byte === LF && phase.line.at(-1) === CR) {
            const failed = startChunk(phase.line.slice(0, -1), at);
            if (failed) return failed;
          } else if (phase.line.length >= MAX_HEADER_BYTES) {
            return failAt("InvalidRequest", "header-too-long", at);
          } else {
            phase.line.push(byte);
          }
          break;
        }
        case "data": {
          const take = Math.min(phase.remaining, slice.length - i);
          const piece = slice.subarray(i, i + take);
          phase.hash.update(piece);
          data.push(piece);
          phase.remaining -= take;
          decodedBytes += take;
          i += take;
          if (phase.remaining === 0) {
            const failed = finishData(phase, offset + i);
            if (failed) return failed;
          }
          break;
        }
        case "crlf": {
          const byte = slice[i++];
          if (byte !== (phase.seen === 0 ? CR : LF)) return failAt("InvalidRequest", "missing-chunk-crlf", at);
          phase.seen += 1;
          if (phase.seen === 2) phase = phase.isFinal ? { at: "done" } : { at: "header", line: [] };
          break;
        }
        case "done":
          return failAt("InvalidRequest", "data-after-final-chunk", at);
      }
    }
    offset += slice.length;
    return { ok: true, data, done: phase.at === "done" };
  }

  function end(): ChunkedEnd {
    if (failure) return failure;
    if (phase.at !== "done") return failAt("IncompleteBody", "truncated", offset);
    return { ok: true, decodedBytes };
  }

  return { push, end };
}
