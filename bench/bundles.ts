// Bundle build and import of 2 GiB with the real CLI and a real goosed, against `tar -c | zstd -3 -T0 | openssl sha256`
// (build) and `zstd -dc | openssl sha256` (import) over the same data; MB/s is input bytes ÷ wall seconds, with the
// peak RSS of the build process and of goosed through the import. Needs zstd, openssl, tar, /usr/bin/time.
// Usage: bun bench/bundles.ts   (SIZE_MIB=512 for a quick look)
import { randomFillSync } from "node:crypto";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "bun";
import { type RunningGoosed, startGoosed } from "./goosed-server.ts";

const MiB = 1024 * 1024;
const SIZE_MIB = Number(process.env.SIZE_MIB ?? 2048);
/** A step that takes longer than this is stuck, not slow: the whole run stays bounded. */
const STEP_TIMEOUT_SECONDS = 300;
const root = join(import.meta.dir, "..");

interface Measured {
  seconds: number;
  /** Peak RSS in MiB, of the process this measures (0 when not measured). */
  peakMiB: number;
}

/** Runs a command to completion within STEP_TIMEOUT_SECONDS under /usr/bin/time; wall seconds and its peak RSS. */
async function timed(command: string[]): Promise<Measured> {
  const started = performance.now();
  const child = spawn(["/usr/bin/time", "-f", "GOOSED_BENCH_RSS_KIB %M", ...command], { cwd: root, stdout: "pipe", stderr: "pipe", env: { ...process.env, GOOSED_CONFIG: "/dev/null" } });
  const killer = setTimeout(() => child.kill("SIGKILL"), STEP_TIMEOUT_SECONDS * 1000);
  const [, errors, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(killer);
  const seconds = (performance.now() - started) / 1000;
  if (exitCode !== 0) throw new Error(`${command.join(" ")} exited ${exitCode}: ${errors.slice(-2000)}`);
  return { seconds, peakMiB: Number(/GOOSED_BENCH_RSS_KIB (\d+)/.exec(errors)?.[1] ?? 0) / 1024 };
}

/** Peak resident set of a live process so far (VmHWM), in MiB. */
function vmHwmMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

/** The input mix: name, share of SIZE_MIB, random (incompressible) or text-like. */
const MIX: { path: string; share: number; kind: "random" | "text" }[] = [
  { path: "images/root.squashfs", share: 0.5, kind: "random" },
  { path: "boot/initrd.img", share: 0.125, kind: "random" },
  { path: "boot/vmlinuz", share: 0.0625, kind: "random" },
  { path: "repo/Packages", share: 0.125, kind: "text" },
  { path: "repo/Contents-amd64", share: 0.125, kind: "text" },
  { path: "logs/build.log", share: 0.0625, kind: "text" },
];

/**
 * Writes the mix under `dir`: random bytes, or text from a 4,096-word vocabulary in lines (zstd -3 gets it to about
 * a third); each 4 MiB block drawn afresh, so no file repeats itself within a zstd window.
 */
function writeInput(dir: string): number {
  const vocab: Uint8Array[] = [];
  const letters = randomFillSync(new Uint8Array(4096 * 10));
  for (let w = 0; w < 4096; w++) {
    const len = 2 + (letters[w * 10]! % 8);
    vocab.push(Uint8Array.from(letters.subarray(w * 10 + 1, w * 10 + 1 + len), (b) => 97 + (b % 26)));
  }
  const picks = new Uint16Array(MiB);
  const block = new Uint8Array(4 * MiB);
  let total = 0;
  for (const file of MIX) {
    const bytes = Math.floor((SIZE_MIB * file.share) / 4) * 4 * MiB;
    mkdirSync(join(dir, file.path, ".."), { recursive: true });
    const fd = openSync(join(dir, file.path), "w");
    for (let at = 0; at < bytes; at += block.length) {
      if (file.kind === "random") randomFillSync(block);
      else {
        randomFillSync(picks);
        let filled = 0;
        for (let i = 0; filled < block.length; i++) {
          const word = vocab[picks[i % picks.length]! & 4095]!;
          block.set(word.subarray(0, block.length - filled), filled);
          filled += word.length;
          if (filled < block.length) block[filled++] = i % 13 === 12 ? 10 : 32;
        }
      }
      writeSync(fd, block);
    }
    closeSync(fd);
    total += bytes;
    console.log(`  ${file.path}: ${bytes / MiB} MiB ${file.kind}`);
  }
  return total;
}

/** Imports `bundle` into a fresh goosed on `dataDir`; seconds to the job's success and goosed's peak RSS. */
async function importInto(dataDir: string, pub: string, bundle: string, how: "path" | "cli"): Promise<Measured> {
  let goosed: RunningGoosed | undefined;
  try {
    goosed = await startGoosed(dataDir);
    const auth = ["--api", goosed.url, "--token", goosed.token];
    await timed(["bun", "src/main.ts", "keys", "trust", pub, "--name", "bench", ...auth]);
    let seconds: number;
    if (how === "cli") seconds = (await timed(["bun", "src/main.ts", "bundle", "import", bundle, ...auth])).seconds;
    else {
      const started = performance.now();
      const response = await fetch(`${goosed.url}/v1/bundles/import`, {
        method: "POST",
        headers: { authorization: `Bearer ${goosed.token}`, "content-type": "application/json" },
        body: JSON.stringify({ path: bundle }),
      });
      if (response.status !== 202) throw new Error(`POST /v1/bundles/import: ${response.status} ${await response.text()}`);
      const { id } = (await response.json()) as { id: number };
      for (;;) {
        const job = (await (await fetch(`${goosed.url}/v1/jobs/${id}`, { headers: { authorization: `Bearer ${goosed.token}` } })).json()) as { state: string; error: string | null };
        if (job.state === "succeeded") break;
        if (job.state === "failed" || job.state === "cancelled") throw new Error(`import job ${job.state}: ${job.error}`);
        if (performance.now() - started > STEP_TIMEOUT_SECONDS * 1000) throw new Error(`import job still ${job.state} after ${STEP_TIMEOUT_SECONDS} s`);
        await Bun.sleep(20);
      }
      seconds = (performance.now() - started) / 1000;
    }
    return { seconds, peakMiB: vmHwmMiB(goosed.proc.pid) };
  } finally {
    await goosed?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "goosed-bundles-bench-"));
  const cleanUp = () => rmSync(dir, { recursive: true, force: true });
  process.once("SIGINT", () => {
    cleanUp();
    process.exit(130);
  });
  try {
    const src = join(dir, "lab");
    console.log(`input (${SIZE_MIB} MiB):`);
    const inputBytes = writeInput(src);
    const bundle = join(dir, "lab.tar.zst");
    await timed(["bun", "src/main.ts", "keys", "generate", join(dir, "release")]);
    // Both read the input from the page cache: one untimed pass first.
    await timed(["sh", "-c", `cat $(find ${src} -type f) > /dev/null`]);

    const build = await timed(["bun", "src/main.ts", "bundle", "build", src, "--key", join(dir, "release.sec"), "--bundle-version", "2026.11.1", "--out", bundle]);
    const tarZstd = await timed(["sh", "-c", `tar -C ${dir} -c lab | zstd -q -3 -T0 | openssl sha256 > /dev/null`]);
    const bundleBytes = statSync(bundle).size;
    const zstdDc = await timed(["sh", "-c", `zstd -q -dc ${bundle} | openssl sha256 > /dev/null`]);
    const byPath = await importInto(join(dir, "data-path"), join(dir, "release.pub"), bundle, "path");
    const byCli = await importInto(join(dir, "data-cli"), join(dir, "release.pub"), bundle, "cli");

    const mbs = (m: Measured) => inputBytes / m.seconds / 1e6;
    const rows: [string, Measured, string, Measured][] = [
      ["build: `goosed bundle build` (CLI process)", build, "`tar -c \\| zstd -3 -T0 \\| openssl sha256`", tarZstd],
      ["import: POST /v1/bundles/import {path} → job done (goosed)", byPath, "`zstd -dc \\| openssl sha256`", zstdDc],
      ["import: `goosed bundle import` (upload + job; goosed)", byCli, "`zstd -dc \\| openssl sha256`", zstdDc],
    ];
    console.log(`\ninput ${(inputBytes / MiB).toFixed(0)} MiB, bundle ${(bundleBytes / MiB).toFixed(0)} MiB (${((100 * bundleBytes) / inputBytes).toFixed(1)}%)\n`);
    console.log("| case | goosed MB/s | s | peak RSS MiB | peer | peer MB/s | s | goosed/peer |");
    console.log("| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |");
    for (const [name, ours, peer, theirs] of rows) {
      console.log(
        `| ${name} | ${mbs(ours).toFixed(0)} | ${ours.seconds.toFixed(2)} | ${ours.peakMiB.toFixed(0)} | ${peer} | ${mbs(theirs).toFixed(0)} | ${theirs.seconds.toFixed(2)} | ${(mbs(ours) / mbs(theirs)).toFixed(2)}× |`,
      );
    }
  } finally {
    cleanUp();
  }
}

await main();
