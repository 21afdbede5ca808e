// The local blob store on real files: layout, dedupe, every refusal leaving nothing behind, bounded memory, a real
// full disk (tmpfs), temporaries swept at startup and the collection job.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JobContext } from "../../src/core/index.ts";
import { BlobWriteError, type BlobWriteReason, type PutOptions } from "../../src/objects/backend.ts";
import { collectBlobsJob } from "../../src/objects/collect-job.ts";
import { LocalBlobBackend } from "../../src/objects/local-backend.ts";
import { tempDir } from "../support/goosed.ts";

const MiB = 1024 * 1024;

const sha256Of = (bytes: Uint8Array) => new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
const md5Of = (bytes: Uint8Array) => new Bun.CryptoHasher("md5").update(bytes).digest("hex");

/** Deterministic, incompressible-looking bytes. */
function bytesOf(sizeBytes: number, seed = 1): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(sizeBytes);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < sizeBytes; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** `bytes` in odd-sized chunks, so batches never line up with them. */
async function* chunksOf(bytes: Uint8Array<ArrayBuffer>, chunkBytes = 100_003): AsyncIterable<Uint8Array> {
  for (let offset = 0; offset < bytes.byteLength; offset += chunkBytes) yield bytes.subarray(offset, offset + chunkBytes);
}

const tmpEntries = (backend: LocalBlobBackend) => (existsSync(backend.tmp) ? readdirSync(backend.tmp) : []);
const storedDigests = async (backend: LocalBlobBackend) => (await Array.fromAsync(backend.list())).map((b) => b.digest);

async function refusalOf(promise: Promise<unknown>): Promise<BlobWriteError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BlobWriteError);
  return error as BlobWriteError;
}

describe("LocalBlobBackend", () => {
  const dir = tempDir("goosed-blobs-");
  afterAll(() => dir[Symbol.asyncDispose]());

  test("put stores the content under sha256/<2 hex>/<digest> and reads it back whole or by range", async () => {
    const backend = new LocalBlobBackend(join(dir.path, "layout"));
    const content = bytesOf(9 * MiB + 17);
    const stored = await backend.put(chunksOf(content));
    const digest = sha256Of(content);
    expect(stored).toEqual({ digest, sizeBytes: content.byteLength, md5Hex: md5Of(content) });
    expect(existsSync(join(dir.path, "layout", "sha256", digest.slice(0, 2), digest))).toBe(true);
    expect(backend.pathOf(digest)).toBe(join(dir.path, "layout", "sha256", digest.slice(0, 2), digest));
    expect(await backend.has(digest)).toBe(true);
    expect(new Uint8Array(await (await backend.read(digest))!.arrayBuffer())).toEqual(content);
    const range = await backend.read(digest, { start: 5 * MiB, end: 5 * MiB + 99 });
    expect(new Uint8Array(await range!.arrayBuffer())).toEqual(content.subarray(5 * MiB, 5 * MiB + 100));
    expect(await Array.fromAsync(backend.list())).toEqual([{ digest, sizeBytes: content.byteLength, mtimeMs: expect.any(Number) }]);
    expect(await backend.usedBytes()).toBe(content.byteLength);
    expect(tmpEntries(backend)).toEqual([]);

    await backend.delete(digest);
    await backend.delete(digest);
    expect(await backend.has(digest)).toBe(false);
    expect(await backend.read(digest)).toBeNull();
    expect(await backend.read("../../etc/passwd")).toBeNull();
  });

  test.each<[string, number]>([
    ["empty", 0],
    ["one byte", 1],
    ["exactly one batch", 4 * MiB],
    ["one batch and a byte", 4 * MiB + 1],
  ])("sizes around the batch boundary: %s", async (_name, sizeBytes) => {
    const backend = new LocalBlobBackend(join(dir.path, "sizes"));
    const content = bytesOf(sizeBytes, sizeBytes + 7);
    const source = new Blob([content]).stream();
    expect(await backend.put(source)).toEqual({ digest: sha256Of(content), sizeBytes, md5Hex: md5Of(content) });
    expect(Bun.file(backend.pathOf(sha256Of(content))).size).toBe(sizeBytes);
  });

  test.each<[string, number]>([
    ["one byte", 1],
    ["exactly one batch", 4 * MiB],
    ["several batches and a byte", 3 * 4 * MiB + 1],
  ])("with md5: false the content is stored the same and md5Hex is empty: %s", async (_name, sizeBytes) => {
    const backend = new LocalBlobBackend(join(dir.path, "no-md5"));
    const content = bytesOf(sizeBytes, sizeBytes + 11);
    expect(await backend.put(chunksOf(content), { md5: false })).toEqual({ digest: sha256Of(content), sizeBytes, md5Hex: "" });
    expect(new Uint8Array(await Bun.file(backend.pathOf(sha256Of(content))).arrayBuffer())).toEqual(content);
  });

  test("with md5: false an expected MD5 is still checked", async () => {
    const backend = new LocalBlobBackend(join(dir.path, "no-md5-expected"));
    const content = bytesOf(5 * MiB, 3);
    expect(await backend.put(chunksOf(content), { md5: false, expectedMd5Hex: md5Of(content) })).toEqual({ digest: sha256Of(content), sizeBytes: content.byteLength, md5Hex: md5Of(content) });
    expect((await refusalOf(backend.put(chunksOf(content), { md5: false, expectedMd5Hex: "0".repeat(32) }))).reason).toBe("md5-mismatch");
  });

  test("identical content is stored once, and a put announcing a stored digest only hashes", async () => {
    const backend = new LocalBlobBackend(join(dir.path, "dedupe"));
    const content = bytesOf(6 * MiB, 3);
    const first = await backend.put(chunksOf(content));
    const stale = Date.now() / 1000 - 86_400;
    utimesSync(backend.pathOf(first.digest), stale, stale);
    expect(await backend.put(chunksOf(content))).toEqual(first);
    expect(await backend.put(chunksOf(content), { expectedSha256: first.digest, expectedMd5Hex: first.md5Hex.toUpperCase() })).toEqual(first);
    expect(await storedDigests(backend)).toEqual([first.digest]);
    expect(tmpEntries(backend)).toEqual([]);
    // Re-putting counts as writing it again: collection's grace period starts over.
    const [listed] = await Array.fromAsync(backend.list());
    expect(Date.now() - listed!.mtimeMs).toBeLessThan(60_000);
  });

  test("concurrent puts of the same content all succeed and leave one blob", async () => {
    const backend = new LocalBlobBackend(join(dir.path, "concurrent"));
    const content = bytesOf(12 * MiB, 11);
    const results = await Promise.all(Array.from({ length: 6 }, () => backend.put(chunksOf(content, 65_536))));
    const expected = { digest: sha256Of(content), sizeBytes: content.byteLength, md5Hex: md5Of(content) };
    expect(results).toEqual(Array.from({ length: 6 }, () => expected));
    expect(await storedDigests(backend)).toEqual([expected.digest]);
    expect(tmpEntries(backend)).toEqual([]);
  });

  const content = bytesOf(10 * MiB, 5);
  test.each<[string, BlobWriteReason, PutOptions]>([
    ["more than maxBytes", "too-large", { maxBytes: 10 * MiB - 1 }],
    ["fewer bytes than announced", "size-mismatch", { expectedBytes: 10 * MiB + 1 }],
    ["more bytes than announced", "size-mismatch", { expectedBytes: 5 * MiB }],
    ["another sha256", "sha256-mismatch", { expectedSha256: "0".repeat(64) }],
    ["another md5", "md5-mismatch", { expectedMd5Hex: "0".repeat(32) }],
    ["already aborted", "aborted", { signal: AbortSignal.abort() }],
  ])("refused (%s) with nothing left behind", async (_name, reason, options) => {
    const backend = new LocalBlobBackend(join(dir.path, `refused-${reason}`));
    const error = await refusalOf(backend.put(chunksOf(content), options));
    expect(error.reason).toBe(reason);
    expect(tmpEntries(backend)).toEqual([]);
    expect(await storedDigests(backend)).toEqual([]);
  });

  test("too-large is refused as soon as the limit is passed, not at the end of the stream", async () => {
    const backend = new LocalBlobBackend(join(dir.path, "early"));
    let pulled = 0;
    async function* endless() {
      for (;;) {
        pulled++;
        yield new Uint8Array(MiB);
      }
    }
    expect((await refusalOf(backend.put(endless(), { maxBytes: 8 * MiB }))).reason).toBe("too-large");
    expect(pulled).toBe(9);
    expect(tmpEntries(backend)).toEqual([]);
  });

  test("an abort while the source stalls, and a source that fails, are refused as aborted with nothing left behind", async () => {
    const backend = new LocalBlobBackend(join(dir.path, "stall"));
    const controller = new AbortController();
    let sent = 0;
    const stalled = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent++ < 3) c.enqueue(bytesOf(3 * MiB, sent));
        else controller.abort();
      },
    });
    const aborted = await refusalOf(backend.put(stalled, { signal: controller.signal }));
    expect(aborted.reason).toBe("aborted");
    expect(tmpEntries(backend)).toEqual([]);

    async function* failing() {
      yield bytesOf(6 * MiB);
      throw new Error("connection reset");
    }
    const failed = await refusalOf(backend.put(failing()));
    expect(failed.reason).toBe("aborted");
    expect(failed.message).toContain("connection reset");
    expect(tmpEntries(backend)).toEqual([]);
    expect(await storedDigests(backend)).toEqual([]);
  });

  test("a 256 MiB stream is stored with bounded memory", async () => {
    const backend = new LocalBlobBackend(join(dir.path, "big"));
    const chunk = bytesOf(MiB, 9);
    Bun.gc(true);
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    async function* stream() {
      for (let i = 0; i < 256; i++) {
        peak = Math.max(peak, process.memoryUsage().rss);
        yield chunk;
      }
    }
    const stored = await backend.put(stream());
    expect(stored.sizeBytes).toBe(256 * MiB);
    // Batches in circulation are 24 MiB at most; the rest is allocator slack.
    expect(peak - baseline).toBeLessThan(80 * MiB);
    await backend.delete(stored.digest);
    // Without MD5 two batches take turns.
    Bun.gc(true);
    const baselineNoMd5 = process.memoryUsage().rss;
    peak = baselineNoMd5;
    const storedNoMd5 = await backend.put(stream(), { md5: false });
    expect(storedNoMd5).toEqual({ digest: stored.digest, sizeBytes: 256 * MiB, md5Hex: "" });
    expect(peak - baselineNoMd5).toBeLessThan(80 * MiB);
    await backend.delete(storedNoMd5.digest);
  });

  test("list ignores files with malformed names or in the wrong prefix directory", async () => {
    const backend = new LocalBlobBackend(join(dir.path, "list"));
    const stored = await backend.put(chunksOf(bytesOf(1000)));
    const wrong = "ab" + "c".repeat(62);
    mkdirSync(join(backend.root, "zz"), { recursive: true });
    writeFileSync(join(backend.root, "zz", wrong), "x");
    writeFileSync(join(backend.root, stored.digest.slice(0, 2), "not-a-digest"), "x");
    writeFileSync(join(backend.root, stored.digest.slice(0, 2), wrong), "x");
    expect(await storedDigests(backend)).toEqual([stored.digest]);
  });

  test("sweepTemporaries removes everything in tmp/ and counts it", async () => {
    const backend = new LocalBlobBackend(join(dir.path, "sweep"));
    await backend.put(chunksOf(bytesOf(10)));
    writeFileSync(join(backend.tmp, "left-by-a-crash"), bytesOf(1000));
    writeFileSync(join(backend.tmp, "another"), "");
    mkdirSync(join(backend.tmp, "a-directory"));
    expect(await backend.sweepTemporaries()).toBe(3);
    expect(tmpEntries(backend)).toEqual([]);
    expect(await backend.sweepTemporaries()).toBe(0);
    expect(await new LocalBlobBackend(join(dir.path, "never-used")).sweepTemporaries()).toBe(0);
  });
});

describe("a full disk", () => {
  const mountPoint = mkdtempSync(join(tmpdir(), "goosed-enospc-"));
  let mounted = false;
  beforeAll(() => {
    // CI runs as root; anywhere else this must fail rather than quietly skip the only real ENOSPC check.
    if (process.getuid?.() !== 0) throw new Error("the ENOSPC test mounts a tmpfs and must run as root");
    const mount = spawnSync("mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", mountPoint], { encoding: "utf8" });
    if (mount.status !== 0) throw new Error(`mount tmpfs failed: ${mount.stderr}`);
    mounted = true;
  });
  afterAll(() => {
    if (mounted) spawnSync("umount", [mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  });

  test("is refused as disk-full, tells the operator what to do and leaves tmp/ empty", async () => {
    const backend = new LocalBlobBackend(join(mountPoint, "blobs"));
    const error = await refusalOf(backend.put(chunksOf(bytesOf(16 * MiB, 2))));
    expect(error.reason).toBe("disk-full");
    expect(error.message).toContain("free space in the data directory");
    expect(tmpEntries(backend)).toEqual([]);
    expect(await storedDigests(backend)).toEqual([]);
    // And the space is back: a blob that fits goes in.
    const small = bytesOf(MiB, 4);
    expect((await backend.put(chunksOf(small))).digest).toBe(sha256Of(small));
  });
});

describe("blobs.collect", () => {
  const dir = tempDir("goosed-collect-");
  afterAll(() => dir[Symbol.asyncDispose]());

  const ctxFor = (progress: number[] = []): JobContext => {
    const log = { debug() {}, info() {}, warn() {}, error() {}, child: () => log };
    return { jobId: 1, attempt: 1, signal: new AbortController().signal, progress: (fraction) => progress.push(fraction), log };
  };

  test("deletes only blobs that are unreferenced and older than the grace period", async () => {
    const backend = new LocalBlobBackend(join(dir.path, "blobs"));
    const [liveOld, deadOld, deadNew, deadBorderline] = await Promise.all(
      [bytesOf(100, 1), bytesOf(2000, 2), bytesOf(300, 3), bytesOf(40, 4)].map((b) => backend.put(chunksOf(b))),
    );
    const age = (digest: string, minutes: number) => {
      const at = Date.now() / 1000 - minutes * 60;
      utimesSync(backend.pathOf(digest), at, at);
    };
    age(liveOld!.digest, 600);
    age(deadOld!.digest, 600);
    age(deadNew!.digest, 5);
    age(deadBorderline!.digest, 25);

    const job = collectBlobsJob(backend, () => new Set([liveOld!.digest, "f".repeat(64)]));
    expect(job.type).toBe("blobs.collect");
    const progress: number[] = [];
    expect(await job.run({ graceMinutes: 20 }, ctxFor(progress))).toEqual({ blobs: 4, deleted: 2, kept: 2, freedBytes: 2040 });
    expect((await storedDigests(backend)).sort()).toEqual([liveOld!.digest, deadNew!.digest].sort());
    expect(progress.at(-1)).toBe(1);

    // The default grace is an hour: the 5-minute-old blob stays until it is older.
    expect(await job.run({}, ctxFor())).toEqual({ blobs: 2, deleted: 0, kept: 2, freedBytes: 0 });
    age(deadNew!.digest, 61);
    expect(await job.run({}, ctxFor())).toEqual({ blobs: 2, deleted: 1, kept: 1, freedBytes: 300 });
    expect(await storedDigests(backend)).toEqual([liveOld!.digest]);
  });

  test("a put that re-uses an unreferenced blob after a collection listed it keeps the blob", async () => {
    const backend = new LocalBlobBackend(join(dir.path, "race"));
    const bytes = bytesOf(500, 9);
    const stored = await backend.put(chunksOf(bytes));
    const hourAgo = Date.now() / 1000 - 3600;
    utimesSync(backend.pathOf(stored.digest), hourAgo, hourAgo);
    // The collection listed the blob as old and unreferenced; then an upload of the same bytes lands on it.
    const cutoffMs = Date.now() - 60_000;
    await backend.put(chunksOf(bytes));
    expect(await backend.delete(stored.digest, cutoffMs)).toBe(false);
    expect(await backend.has(stored.digest)).toBe(true);
    // Untouched since the cutoff, it goes.
    utimesSync(backend.pathOf(stored.digest), hourAgo, hourAgo);
    expect(await backend.delete(stored.digest, cutoffMs)).toBe(true);
    expect(await backend.has(stored.digest)).toBe(false);
  });
});
