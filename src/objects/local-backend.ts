// Content-addressed blobs under <data>/blobs: streamed to tmp/ while hashed, renamed into sha256/<2 hex>/<digest> only
// once durable and checked, so a blob that has its final name is whole.
import type { BunFile } from "bun";
import { randomUUID } from "node:crypto";
import { statSync, unlinkSync, utimesSync } from "node:fs";
import { type FileHandle, mkdir, open, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { type BlobBackend, type BlobRange, BlobWriteError, nextChunk, type PutOptions, refuseMismatch, refuseOverLength, type StoredBlob } from "./backend.ts";
import { Md5Session } from "./md5-pool.ts";

const DIGEST = /^[0-9a-f]{64}$/;
const PREFIX = /^[0-9a-f]{2}$/;
// 4 MiB writes and hash updates: large enough that syscalls and thread hand-offs cost nothing next to the hashing,
// small enough that the few in circulation keep a put's memory bounded.
const BATCH_BYTES = 4 * 1024 * 1024;
// Batches hashed by the MD5 thread at once; with the one being filled and the one being written, a put holds at most
// (MD5_IN_FLIGHT + 2) × BATCH_BYTES = 24 MiB whatever the size of the stream.
const MD5_IN_FLIGHT = 4;

type Source = ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

export class LocalBlobBackend implements BlobBackend {
  readonly kind = "local" as const;
  readonly root: string;
  readonly tmp: string;

  constructor(readonly blobsDir: string) {
    this.root = join(blobsDir, "sha256");
    this.tmp = join(blobsDir, "tmp");
  }

  /** Where the blob named `digest` lives (whether or not it exists); throws on a malformed digest. */
  pathOf(digest: string): string {
    if (!DIGEST.test(digest)) throw new Error(`not a sha256 digest: ${JSON.stringify(digest)}`);
    return join(this.root, digest.slice(0, 2), digest);
  }

  async put(source: Source, options: PutOptions = {}): Promise<StoredBlob> {
    const { signal, expectedBytes } = options;
    const expectedSha256 = options.expectedSha256?.toLowerCase();
    const expectedMd5Hex = options.expectedMd5Hex?.toLowerCase();
    const wantMd5 = options.md5 !== false || expectedMd5Hex !== undefined;
    if (signal?.aborted) throw new BlobWriteError("aborted", "the upload was aborted", { cause: signal.reason });
    await this.ensureDirs();
    // A second put of a blob we already hold only hashes, to check it; touching it now keeps collection off it.
    const onlyHash = expectedSha256 !== undefined && DIGEST.test(expectedSha256) && (await this.touch(expectedSha256));
    const tmpPath = join(this.tmp, randomUUID());
    const iterator = source[Symbol.asyncIterator]();
    let file: FileHandle | null = null;
    let md5 = null as Md5Session | null;
    // One write in flight at a time, in order, on Bun's I/O threads while this thread hashes the next batch.
    let writing: Promise<void> = Promise.resolve();
    let writeError: unknown = null;
    try {
      if (!onlyHash) file = await open(tmpPath, "wx", 0o644);
      const sha256 = new Bun.CryptoHasher("sha256");
      let smallMd5: string | null = null;
      let batch = new Uint8Array(BATCH_BYTES);
      // Without MD5, the batch being written comes back as the next one to fill once its write is done.
      let written: Uint8Array<ArrayBuffer> | null = null;
      let filled = 0;
      let totalBytes = 0;
      let position = 0;

      const flush = async (last: boolean) => {
        if (filled === 0) return;
        const full = batch;
        const length = filled;
        sha256.update(full.subarray(0, length));
        if (!wantMd5) {
          await writing;
          if (writeError) throw writeError;
          const at = position;
          position += length;
          writing = (file ? writeFully(file, full.subarray(0, length), at) : Promise.resolve()).catch((error: unknown) => {
            writeError = error;
          });
          batch = written ?? new Uint8Array(BATCH_BYTES);
          written = full;
          filled = 0;
          return;
        }
        if (last && md5 === null) {
          // All of it fits in one batch: hashing MD5 here beats a round trip to the thread.
          smallMd5 = new Bun.CryptoHasher("md5").update(full.subarray(0, length)).digest("hex");
          await writing;
          if (file) await writeFully(file, full.subarray(0, length), position);
          return;
        }
        const session = (md5 ??= new Md5Session(MD5_IN_FLIGHT));
        await session.ready();
        await writing;
        if (writeError) throw writeError;
        const at = position;
        position += length;
        writing = (file ? writeFully(file, full.subarray(0, length), at) : Promise.resolve())
          .then(() => session.send(full.buffer as ArrayBuffer, length))
          .catch((error: unknown) => {
            writeError = error;
          });
        batch = new Uint8Array(session.takeReturned() ?? new ArrayBuffer(BATCH_BYTES));
        filled = 0;
      };

      for (;;) {
        const next = await nextChunk(iterator, signal);
        if (next.done) break;
        const chunk = next.value;
        totalBytes += chunk.byteLength;
        refuseOverLength(totalBytes, options);
        for (let offset = 0; offset < chunk.byteLength; ) {
          const n = Math.min(BATCH_BYTES - filled, chunk.byteLength - offset);
          batch.set(chunk.subarray(offset, offset + n), filled);
          filled += n;
          offset += n;
          if (filled === BATCH_BYTES) await flush(false);
        }
        if (writeError) throw writeError;
      }
      await flush(true);
      await writing;
      if (writeError) throw writeError;
      if (file) {
        await file.sync();
        await file.close();
        file = null;
      }
      const md5Hex: string = !wantMd5 ? "" : (smallMd5 ?? (md5 ? await md5.end() : new Bun.CryptoHasher("md5").digest("hex")));
      md5 = null;
      const digest = sha256.digest("hex");

      refuseMismatch({ digest, sizeBytes: totalBytes, md5Hex }, { expectedBytes, expectedSha256, expectedMd5Hex });
      if (!onlyHash) await this.commit(tmpPath, digest);
      return { digest, sizeBytes: totalBytes, md5Hex };
    } catch (error) {
      iterator.return?.().catch(() => {});
      await writing;
      md5?.drop();
      await file?.close().catch(() => {});
      await rm(tmpPath, { force: true }).catch(() => {});
      throw this.writeErrorOf(error, signal);
    }
  }

  async has(digest: string): Promise<boolean> {
    return DIGEST.test(digest) && (await Bun.file(this.pathOf(digest)).exists());
  }

  async read(digest: string, range?: BlobRange): Promise<BunFile | null> {
    if (!DIGEST.test(digest)) return null;
    const file = Bun.file(this.pathOf(digest));
    if (!(await file.exists())) return null;
    return range ? file.slice(range.start, range.end + 1) : file;
  }

  async delete(digest: string, unchangedSinceMs?: number): Promise<boolean> {
    if (!DIGEST.test(digest)) return false;
    const path = this.pathOf(digest);
    if (unchangedSinceMs === undefined) {
      await rm(path, { force: true });
      return true;
    }
    // Synchronous, like touch(): no put can refresh the blob between the look and the unlink.
    const info = statSync(path, { throwIfNoEntry: false });
    if (!info || info.mtimeMs > unchangedSinceMs) return false;
    unlinkSync(path);
    return true;
  }

  /** Every blob with a well-formed name in the right prefix directory, in digest order. */
  async *list(): AsyncIterable<{ digest: string; sizeBytes: number; mtimeMs: number }> {
    for (const prefix of (await readdirOrEmpty(this.root)).sort()) {
      if (!PREFIX.test(prefix)) continue;
      for (const name of (await readdirOrEmpty(join(this.root, prefix))).sort()) {
        if (!DIGEST.test(name) || !name.startsWith(prefix)) continue;
        const info = await stat(join(this.root, prefix, name)).catch(() => null);
        if (info?.isFile()) yield { digest: name, sizeBytes: info.size, mtimeMs: info.mtimeMs };
      }
    }
  }

  async usedBytes(): Promise<number> {
    let total = 0;
    for await (const blob of this.list()) total += blob.sizeBytes;
    return total;
  }

  /** Removes everything in tmp/: only at startup, when no put can be writing there. Returns how many were removed. */
  async sweepTemporaries(): Promise<number> {
    const names = await readdirOrEmpty(this.tmp);
    for (const name of names) await rm(join(this.tmp, name), { recursive: true, force: true });
    return names.length;
  }

  private async ensureDirs(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    await mkdir(this.tmp, { recursive: true });
  }

  /** Refreshes a blob's mtime, so the collector's grace period starts again; false when it does not exist. */
  /**
   * Marks a stored blob as just written; false when it is not there. Synchronous on purpose: a collection's
   * look-then-unlink (delete with unchangedSinceMs) is synchronous too, so the two never interleave.
   */
  private async touch(digest: string): Promise<boolean> {
    const now = new Date();
    try {
      utimesSync(this.pathOf(digest), now, now);
      return true;
    } catch {
      return false;
    }
  }

  private async commit(tmpPath: string, digest: string): Promise<void> {
    const dir = join(this.root, digest.slice(0, 2));
    const createdDir = (await mkdir(dir, { recursive: true })) !== undefined;
    if (await this.touch(digest)) {
      // Already stored (dedupe): the copy in tmp/ goes, the stored one counts as freshly written.
      await rm(tmpPath, { force: true });
      return;
    }
    await rename(tmpPath, this.pathOf(digest));
    // The rename is durable only once the directory holding the new name is synced (and its parent, if it is new).
    await syncDir(dir);
    if (createdDir) await syncDir(this.root);
  }

  private writeErrorOf(error: unknown, signal: AbortSignal | undefined): BlobWriteError {
    if (error instanceof BlobWriteError) return error;
    const code = (error as NodeJS.ErrnoException | null)?.code;
    if (code === "ENOSPC" || code === "EDQUOT") {
      return new BlobWriteError("disk-full", `no space left for the blob in ${this.blobsDir}: free space in the data directory and try again`, {
        cause: error,
      });
    }
    if (signal?.aborted) return new BlobWriteError("aborted", "the upload was aborted", { cause: error });
    return new BlobWriteError("io", `writing the blob failed: ${(error as Error)?.message ?? String(error)}`, { cause: error });
  }
}

async function writeFully(file: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  for (let offset = 0; offset < bytes.byteLength; ) {
    const { bytesWritten } = await file.write(bytes, offset, bytes.byteLength - offset, position + offset);
    offset += bytesWritten;
  }
}


async function syncDir(path: string): Promise<void> {
  const dir = await open(path, "r");
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

async function readdirOrEmpty(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}
