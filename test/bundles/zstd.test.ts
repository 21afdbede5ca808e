import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { zstdCompressStream, zstdDecompressStream, ZstdDataError, ZstdLimitError } from "../../src/bundles/zstd.ts";
import { requireTool } from "../support/tools.ts";
import { seededRandom } from "../support/seeded-random.ts";

const MiB = 1024 * 1024;

async function* chunked(data: Uint8Array, sizes: number[]): AsyncGenerator<Uint8Array> {
  let at = 0;
  for (let i = 0; at < data.length; i++) {
    const size = sizes[i % sizes.length]!;
    yield data.slice(at, at + size);
    at += size;
  }
}

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of stream) parts.push(part);
  return new Uint8Array(Buffer.concat(parts));
}

function textLike(bytes: number, seed: number): Uint8Array {
  const words = ["boot", "lease", "kernel", "initrd", "ipxe", "tftp", "profile", "machine", "artifact", "\n", "the "];
  const next = seededRandom(seed);
  const out = new Uint8Array(bytes);
  let at = 0;
  while (at < bytes) {
    const word = new TextEncoder().encode(words[Math.floor(next() * words.length)]! + " ");
    out.set(word.subarray(0, bytes - at), at);
    at += word.length;
  }
  return out;
}

function mixed(bytes: number): Uint8Array {
  const out = textLike(bytes, 7);
  out.set(randomBytes(Math.floor(bytes / 2)), Math.floor(bytes / 4)); // the middle half is incompressible
  return out;
}

async function cli(args: string[], input: Uint8Array): Promise<{ exitCode: number; stdout: Uint8Array; stderr: string }> {
  const proc = Bun.spawn([requireTool("zstd"), ...args], { stdin: input, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(proc.stdout).bytes(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { exitCode, stdout, stderr };
}

async function expectDataError(input: Uint8Array, reason: string): Promise<ZstdDataError> {
  const error = await collect(zstdDecompressStream(chunked(input, [65536]), { maxOutputBytes: 1 << 30 })).catch((e) => e);
  expect(error).toBeInstanceOf(ZstdDataError);
  expect((error as ZstdDataError).reason).toBe(reason as ZstdDataError["reason"]);
  return error as ZstdDataError;
}

describe("zstd streams", () => {
  const data = mixed(21 * MiB + 12345); // three frames, the last one partial

  test.each([
    { name: "random", input: randomBytes(3 * MiB + 7), frameBytes: 1 * MiB },
    { name: "text", input: textLike(5 * MiB, 1), frameBytes: 2 * MiB },
    { name: "mixed, default frames", input: data, frameBytes: undefined },
    { name: "empty", input: new Uint8Array(0), frameBytes: undefined },
  ])("round trip: $name across chunk boundaries", async ({ input, frameBytes }) => {
    const compressed = await collect(zstdCompressStream(chunked(input, [1, 4096, 100_003, 3 * MiB]), { frameBytes }));
    const back = await collect(zstdDecompressStream(chunked(compressed, [7, 65536, 1_000_003]), { maxOutputBytes: input.length }));
    expect(Buffer.compare(back, input)).toBe(0);
  });

  test("output is deterministic whatever the chunking", async () => {
    const a = await collect(zstdCompressStream(chunked(data, [MiB])));
    const b = await collect(zstdCompressStream(chunked(data, [1000, 7 * MiB + 3])));
    expect(Buffer.compare(a, b)).toBe(0);
  });

  test("zstd -dc reads our output, checksums included", async () => {
    const compressed = await collect(zstdCompressStream(chunked(data, [MiB])));
    const { exitCode, stdout, stderr } = await cli(["-dc", "--check"], compressed);
    expect({ exitCode, stderr }).toEqual({ exitCode: 0, stderr: "" });
    expect(Buffer.compare(stdout, data)).toBe(0);
  });

  test.each([
    { name: "zstd -3 (one sized frame, streamed)", args: ["-3", "-c", "--content-size"] },
    { name: "zstd -3 without size", args: ["-3", "-c", "--no-content-size"] },
    { name: "zstd -3 -T2", args: ["-3", "-T2", "-c"] },
  ] as { name: string; args: string[] }[])("we read CLI output: $name", async ({ args }) => {
    const { exitCode, stdout } = await cli(args, data);
    expect(exitCode).toBe(0);
    const back = await collect(zstdDecompressStream(chunked(stdout, [65536]), { maxOutputBytes: data.length }));
    expect(Buffer.compare(back, data)).toBe(0);
  });

  test.each([
    { name: "our frames (declared size refused before decoding)", ours: true },
    { name: "a CLI frame without declared size (streamed)", ours: false },
  ])("a bomb is refused early: $name", async ({ ours }) => {
    const zeros = new Uint8Array(64 * MiB);
    const bomb = ours
      ? await collect(zstdCompressStream(chunked(zeros, [8 * MiB])))
      : (await cli(["-3", "-c", "--no-content-size"], zeros)).stdout;
    expect(bomb.length).toBeLessThan(64 * 1024);
    Bun.gc(true);
    const before = process.memoryUsage.rss();
    let seen = 0;
    const error = await (async () => {
      for await (const part of zstdDecompressStream(chunked(bomb, [bomb.length]), { maxOutputBytes: MiB })) seen += part.length;
    })().catch((e) => e);
    expect(error).toBeInstanceOf(ZstdLimitError);
    expect(seen).toBeLessThanOrEqual(MiB);
    expect(process.memoryUsage.rss() - before).toBeLessThan(32 * MiB);
  });

  test("truncated input is reported with the offset where it stops", async () => {
    const compressed = await collect(zstdCompressStream(chunked(data, [MiB])));
    for (const cut of [3, 100, Math.floor(compressed.length / 2), compressed.length - 1]) {
      const error = await expectDataError(compressed.subarray(0, cut), "truncated");
      expect(error.offset).toBe(cut);
    }
  });

  test("truncated CLI output is reported (node:zlib alone accepts it silently)", async () => {
    const { stdout } = await cli(["-3", "-c"], data);
    await expectDataError(stdout.subarray(0, stdout.length - 10), "truncated");
  });

  test("a flipped byte is reported as corrupt", async () => {
    const compressed = await collect(zstdCompressStream(chunked(data, [MiB])));
    const seed = Date.now() >>> 0;
    const next = seededRandom(seed);
    for (let round = 0; round < 8; round++) {
      const flipped = compressed.slice();
      const at = 16 + Math.floor(next() * (compressed.length - 16));
      flipped[at]! ^= 1 << Math.floor(next() * 8);
      const error = await collect(zstdDecompressStream(chunked(flipped, [65536]), { maxOutputBytes: data.length })).catch((e) => e);
      if (!(error instanceof ZstdDataError)) console.log(`flipped byte ${at} not reported (seed ${seed})`);
      expect(error).toBeInstanceOf(ZstdDataError);
    }
  });

  test("garbage that is not zstd is corrupt at offset 0", async () => {
    const error = await expectDataError(new TextEncoder().encode("not a zstd stream at all"), "corrupt");
    expect(error.offset).toBe(0);
  });
});
