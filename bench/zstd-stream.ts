// Bundle compression: src/bundles/zstd.ts against the zstd CLI on 1 GiB (4 MiB random / 4 MiB text, alternating),
// with sha256 in the loop as a bundle build and import do. Each case runs in its own process for its peak RSS.
// Usage: bun bench/zstd-stream.ts [sizeMiB]   (needs zstd, openssl, /usr/bin/time)
import { open, mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomFillSync } from "node:crypto";
import { constants as zc, createZstdCompress } from "node:zlib";
import { zstdCompressStream, zstdDecompressStream } from "../src/bundles/zstd.ts";

const MiB = 1024 * 1024;

async function* readFile(path: string, chunkBytes: number): AsyncGenerator<Uint8Array> {
  const file = await open(path);
  try {
    for (;;) {
      const buf = new Uint8Array(chunkBytes);
      const { bytesRead } = await file.read(buf, 0, chunkBytes);
      if (bytesRead === 0) return;
      yield bytesRead === chunkBytes ? buf : buf.subarray(0, bytesRead);
    }
  } finally {
    await file.close();
  }
}

/** The alternative: one frame through node:zlib's streaming compressor. */
async function* zlibSingleFrame(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const z = createZstdCompress({ params: { [zc.ZSTD_c_compressionLevel]: 3, [zc.ZSTD_c_checksumFlag]: 1 } });
  const pump = (async () => {
    for await (const chunk of source) if (!z.write(chunk)) await new Promise((r) => z.once("drain", r));
    z.end();
  })();
  for await (const out of z) yield out as Uint8Array;
  await pump;
}

async function runCase(kind: string, input: string, chunkBytes: number): Promise<void> {
  const hasher = new Bun.CryptoHasher("sha256");
  const src = readFile(input, chunkBytes);
  const stream =
    kind === "compress" ? zstdCompressStream(src)
    : kind === "compress-zlib" ? zlibSingleFrame(src)
    : zstdDecompressStream(src, { maxOutputBytes: 4 * 1024 * MiB });
  let bytes = 0;
  for await (const part of stream) {
    hasher.update(part);
    bytes += part.length;
  }
  console.log(JSON.stringify({ bytes, sha256: hasher.digest("hex") }));
}

interface Measured { seconds: number; rssMiB: number; out: string }

async function timed(argv: string[]): Promise<Measured> {
  const t0 = performance.now();
  const proc = Bun.spawn(["/usr/bin/time", "-f", "RSS %M", ...argv], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const seconds = (performance.now() - t0) / 1000;
  if (code !== 0) throw new Error(`${argv.join(" ")} failed: ${err}`);
  return { seconds, rssMiB: Number(/RSS (\d+)/.exec(err)?.[1] ?? 0) / 1024, out: out.trim() };
}

async function main(): Promise<void> {
  const sizeMiB = Number(process.argv[2] ?? 1024);
  const dir = await mkdtemp(join(tmpdir(), "goosed-zstd-bench-"));
  try {
    const raw = join(dir, "input.bin");
    const ours = join(dir, "ours.zst");
    const cli = join(dir, "cli.zst");
    await writeInput(raw, sizeMiB);
    const inBytes = sizeMiB * MiB;
    await Bun.$`zstd -q -3 -T0 -f ${raw} -o ${cli} && zstd -q -3 -f ${raw} -o ${join(dir, "cli-t1.zst")}`;
    await Bun.write(ours, new Response(toStream(zstdCompressStream(readFile(raw, MiB)))));
    const self = ["bun", import.meta.path, "--case"];
    const rows: [string, string, Measured, Measured][] = [];
    const sh = (cmd: string): string[] => ["bash", "-c", cmd];
    rows.push(["compress+sha256, ours (8 MiB frames, 2 in flight)", "zstd -3 -T0 | openssl sha256",
      await timed([...self, "compress", raw, String(MiB)]), await timed(sh(`zstd -q -3 -T0 -c ${raw} | openssl sha256`))]);
    rows.push(["compress+sha256, node:zlib one frame", "zstd -3 -T0 | openssl sha256",
      await timed([...self, "compress-zlib", raw, String(MiB)]), await timed(sh(`zstd -q -3 -T0 -c ${raw} | openssl sha256`))]);
    rows.push(["compress+sha256, node:zlib one frame", "zstd -3 -T1 | openssl sha256",
      await timed([...self, "compress-zlib", raw, String(MiB)]), await timed(sh(`zstd -q -3 -T1 -c ${raw} | openssl sha256`))]);
    for (const chunk of [64 * 1024, MiB, 8 * MiB])
      rows.push([`decompress+sha256, ours on ours.zst, ${chunk / 1024} KiB reads`, "zstd -dc ours.zst | openssl sha256",
        await timed([...self, "decompress", ours, String(chunk)]), await timed(sh(`zstd -q -dc ${ours} | openssl sha256`))]);
    rows.push(["decompress+sha256, ours on cli.zst (streamed)", "zstd -dc cli.zst | openssl sha256",
      await timed([...self, "decompress", cli, String(MiB)]), await timed(sh(`zstd -q -dc ${cli} | openssl sha256`))]);
    const sizes = { ours: (await stat(ours)).size, cli: (await stat(cli)).size, cliT1: (await stat(join(dir, "cli-t1.zst"))).size };
    console.log(`input ${sizeMiB} MiB; compressed: ours ${sizes.ours}, zstd -3 -T0 ${sizes.cli}, zstd -3 -T1 ${sizes.cliT1}`);
    console.log("| case | ours MB/s | ours peak RSS MiB | peer | peer MB/s | ratio |");
    console.log("| --- | --- | --- | --- | --- | --- |");
    for (const [name, peer, a, b] of rows) {
      const mbs = (m: Measured) => (inBytes / m.seconds / 1e6).toFixed(0);
      console.log(`| ${name} | ${mbs(a)} | ${a.rssMiB.toFixed(0)} | ${peer} | ${mbs(b)} | ${(b.seconds / a.seconds).toFixed(2)}x |`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function toStream(it: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const iterator = it[Symbol.asyncIterator]();
  return new ReadableStream({
    async pull(controller) {
      const { done, value } = await iterator.next();
      if (done) controller.close();
      else controller.enqueue(value);
    },
  });
}

/** Alternating 4 MiB blocks: random bytes, then text from a 4,096-word vocabulary (compresses about 3:1). */
async function writeInput(path: string, sizeMiB: number): Promise<void> {
  const vocab: Uint8Array[] = [];
  const letters = new Uint8Array(4096 * 10);
  randomFillSync(letters);
  for (let w = 0; w < 4096; w++) {
    const len = 2 + (letters[w * 10]! % 8);
    vocab.push(Uint8Array.from(letters.subarray(w * 10 + 1, w * 10 + 1 + len), (b) => 97 + (b % 26)));
  }
  const picks = new Uint16Array(MiB);
  const file = await open(path, "w");
  try {
    for (let block = 0; block < sizeMiB / 4; block++) {
      const buf = new Uint8Array(4 * MiB);
      if (block % 2 === 0) randomFillSync(buf);
      else {
        randomFillSync(picks);
        let at = 0;
        for (let i = 0; at < buf.length; i++) {
          const word = vocab[picks[i % picks.length]! & 4095]!;
          buf.set(word.subarray(0, buf.length - at), at);
          at += word.length;
          if (at < buf.length) buf[at++] = i % 13 === 12 ? 10 : 32;
        }
      }
      await file.write(buf);
    }
  } finally {
    await file.close();
  }
}

if (process.argv[2] === "--case") await runCase(process.argv[3]!, process.argv[4]!, Number(process.argv[5]));
else await main();
