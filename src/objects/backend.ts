// Where blob bytes live: the local content-addressed directory or an external S3 cluster. Metadata (buckets, objects,
// artifacts) stays in SQLite either way; a backend only stores, reads and deletes content by its sha256.
import type { BunFile } from "bun";

/** A blob once its bytes are durable and their hash checked. */
export interface StoredBlob {
  digest: string;
  sizeBytes: number;
  /** MD5 of the content, hex: S3's ETag of a single PUT and of each part. "" when the put was asked not to compute it. */
  md5Hex: string;
}

export interface PutOptions {
  /** Refuse (too-large) as soon as more than this many bytes arrive. */
  maxBytes?: number;
  /** Refuse (size-mismatch) unless exactly this many bytes arrive. */
  expectedBytes?: number;
  /** Refuse (sha256-mismatch) unless the content hashes to this (hex). */
  expectedSha256?: string;
  /** Refuse (md5-mismatch) unless the content's MD5 is this (hex). */
  expectedMd5Hex?: string;
  /**
   * Compute the content's MD5 (default true). Only S3 ETags need it; without it md5Hex is "" and the put is faster
   * (on 2 cores the MD5 thread competes with receiving, SHA-256 and writing). Ignored when expectedMd5Hex is set.
   */
  md5?: boolean;
  signal?: AbortSignal;
}

export type BlobWriteReason = "too-large" | "size-mismatch" | "sha256-mismatch" | "md5-mismatch" | "disk-full" | "aborted" | "io";

/** A refused or failed write. Nothing of it is left behind: the temporary file is gone before this is thrown. */
export class BlobWriteError extends Error {
  constructor(
    readonly reason: BlobWriteReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "BlobWriteError";
  }
}

/** A byte range, both ends inclusive. */
export interface BlobRange {
  start: number;
  end: number;
}

export interface BlobBackend {
  readonly kind: "local" | "s3";
  /** Streams `source` into a blob. Identical content is stored once; a second put of it only hashes. */
  put(source: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>, options?: PutOptions): Promise<StoredBlob>;
  has(digest: string): Promise<boolean>;
  /**
   * The content, or `range` of it, to put in a Response: a BunFile for local blobs (Bun sends it with sendfile), a
   * stream for remote ones. Null when the blob is missing.
   */
  read(digest: string, range?: BlobRange): Promise<BunFile | ReadableStream<Uint8Array> | null>;
  /**
   * Deletes the blob; with `unchangedSinceMs`, only if nothing wrote or re-used it after then (a put of the same
   * content refreshes its time), and says whether it went. Collection deletes this way, so a put that lands on a
   * blob in the middle of a collection keeps it.
   */
  delete(digest: string, unchangedSinceMs?: number): Promise<boolean>;
  /** Every stored blob, for collection and verification. */
  list(): AsyncIterable<{ digest: string; sizeBytes: number }>;
  /** Bytes the backend holds, for the store-size gauge; null when it cannot tell cheaply. */
  usedBytes(): Promise<number | null>;
}

/** The source's next chunk, or an "aborted" refusal as soon as the signal fires or the source itself fails. */
export function nextChunk(iterator: AsyncIterator<Uint8Array>, signal: AbortSignal | undefined): Promise<IteratorResult<Uint8Array>> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new BlobWriteError("aborted", "the upload was aborted", { cause: signal?.reason }));
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    iterator.next().then(
      (result) => {
        signal?.removeEventListener("abort", onAbort);
        resolve(result);
      },
      (error: unknown) => {
        signal?.removeEventListener("abort", onAbort);
        // A client that goes away mid-upload shows up as a failing body stream.
        reject(new BlobWriteError("aborted", `the upload stream failed: ${(error as Error)?.message ?? String(error)}`, { cause: error }));
      },
    );
  });
}

/** Refuses as soon as more bytes arrived than the put allows or announced, not at the end of a long stream. */
export function refuseOverLength(totalBytes: number, { maxBytes, expectedBytes }: PutOptions): void {
  if (maxBytes !== undefined && totalBytes > maxBytes) {
    throw new BlobWriteError("too-large", `the content is larger than the limit of ${maxBytes} bytes`);
  }
  if (expectedBytes !== undefined && totalBytes > expectedBytes) {
    throw new BlobWriteError("size-mismatch", `more than the announced ${expectedBytes} bytes arrived`);
  }
}

/** Once the stream is over: refuses content that is not what the put announced. Expected digests are lower-case. */
export function refuseMismatch(got: StoredBlob, expected: Pick<PutOptions, "expectedBytes" | "expectedSha256" | "expectedMd5Hex">): void {
  if (expected.expectedBytes !== undefined && got.sizeBytes !== expected.expectedBytes) {
    throw new BlobWriteError("size-mismatch", `${got.sizeBytes} bytes arrived, ${expected.expectedBytes} were announced`);
  }
  if (expected.expectedSha256 !== undefined && got.digest !== expected.expectedSha256) {
    throw new BlobWriteError("sha256-mismatch", `the content hashes to sha256 ${got.digest}, not ${expected.expectedSha256}`);
  }
  if (expected.expectedMd5Hex !== undefined && got.md5Hex !== expected.expectedMd5Hex) {
    throw new BlobWriteError("md5-mismatch", `the content hashes to md5 ${got.md5Hex}, not ${expected.expectedMd5Hex}`);
  }
}
