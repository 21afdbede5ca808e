// Startup benchmark: builds dist/goosed, copies it alone into an empty directory, and times exec → first 200 from /healthz.
// Each start gets a new data directory, so every run also creates the database and applies every migration.
import { copyFileSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.ts";

const STARTS = Number(process.env.STARTS ?? 10);
// A start that has not answered in this long is broken, not slow.
const START_TIMEOUT_MS = 15_000;
const POLL_MS = 2;

const root = join(import.meta.dir, "..");
const build = Bun.spawnSync(["bun", "run", "build"], { cwd: root, stdout: "ignore", stderr: "inherit" });
if (build.exitCode !== 0) throw new Error("bun run build failed");

const dir = mkdtempSync(join(tmpdir(), "goosed-startup-"));
const binary = join(dir, "goosed");
copyFileSync(join(root, "dist/goosed"), binary);
Bun.spawnSync(["chmod", "+x", binary]);
const sizeBytes = statSync(binary).size;

async function timeOneStart(n: number): Promise<number> {
  const port = freePort();
  const dataDir = join(dir, `data-${n}`);
  const startedMs = performance.now();
  // cwd is the empty directory: nothing but the binary is there, so embedded assets are all it has.
  const proc = Bun.spawn([binary, "serve", "--data-dir", dataDir, "--http-port", String(port), "--http-host", "127.0.0.1", "--log-format", "json"], {
    cwd: dir,
    env: { PATH: "/usr/bin:/bin", GOOSED_CONFIG: "/dev/null" },
    stdout: "ignore",
    stderr: "inherit",
  });
  try {
    for (;;) {
      if (performance.now() - startedMs > START_TIMEOUT_MS) throw new Error(`start ${n}: no 200 from /healthz within ${START_TIMEOUT_MS} ms`);
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status === 200, () => false);
      if (ok) break;
      await Bun.sleep(POLL_MS);
    }
    const elapsedMs = performance.now() - startedMs;
    const ready = (await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()) as { services: { migrations: { ok: boolean; detail: string } } };
    if (!ready.services.migrations.ok) throw new Error(`start ${n}: migrations not applied: ${ready.services.migrations.detail}`);
    return elapsedMs;
  } finally {
    proc.kill("SIGTERM");
    await proc.exited;
  }
}

try {
  const times: number[] = [];
  for (let n = 0; n < STARTS; n++) times.push(await timeOneStart(n));
  times.sort((a, b) => a - b);
  const median = times.length % 2 ? times[(times.length - 1) / 2]! : (times[times.length / 2 - 1]! + times[times.length / 2]!) / 2;
  console.log(`dist/goosed: ${(sizeBytes / 1_048_576).toFixed(1)} MiB (${sizeBytes} bytes), run alone from an empty directory`);
  console.log(`exec → first 200 from /healthz over ${STARTS} starts, each on a new data directory (migrations applied):`);
  console.log(`  min ${times[0]!.toFixed(0)} ms   median ${median.toFixed(0)} ms   max ${times.at(-1)!.toFixed(0)} ms`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
