// A real goosed for a benchmark: `bun src/main.ts serve` on a data directory, loopback only, with its admin token.
import { join } from "node:path";
import { type Subprocess, spawn } from "bun";
import { freePort } from "./free-port.ts";

const root = join(import.meta.dir, "..");
/** A goosed that has not answered /healthz in this long is broken, not slow. */
const START_TIMEOUT_MS = 20_000;

export interface RunningGoosed {
  url: string;
  token: string;
  proc: Subprocess;
  /** SIGTERM, then SIGKILL if it has not exited within 5 s. */
  stop(): Promise<void>;
}

export async function startGoosed(dataDir: string): Promise<RunningGoosed> {
  const port = freePort();
  const proc = spawn(
    ["bun", "src/main.ts", "serve", "--data-dir", dataDir, "--http-port", String(port), "--http-host", "127.0.0.1", "--log-level", "warn", "--log-format", "json"],
    { cwd: root, env: { ...process.env, GOOSED_CONFIG: "/dev/null" }, stdout: "ignore", stderr: "inherit" },
  );
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill("SIGTERM");
    const killer = setTimeout(() => proc.kill("SIGKILL"), 5_000);
    await proc.exited;
    clearTimeout(killer);
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`goosed exited ${proc.exitCode} before answering`);
    const ok = await fetch(`${url}/healthz`).then((r) => r.status === 200, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`goosed did not answer ${url}/healthz within ${START_TIMEOUT_MS} ms`);
    }
    await Bun.sleep(20);
  }
  const token = (await Bun.file(join(dataDir, "admin-token")).text()).trim();
  return { url, token, proc, stop };
}

/**
 * Uploads `file` as artifact `name` with curl (streamed, as an operator would); seconds as curl measures them, from the
 * first byte sent to goosed's 201, which comes once the blob is hashed, fsynced and named. `Expect:` is cleared so curl
 * does not wait for a 100 Continue before sending a large body.
 */
export async function uploadArtifact(goosed: RunningGoosed, name: string, file: string, timeoutSeconds: number): Promise<number> {
  const child = spawn(
    ["curl", "-sS", "--max-time", String(timeoutSeconds), "-o", "/dev/null", "-w", "%{http_code} %{time_total}", "-H", "Expect:", "-H", `Authorization: Bearer ${goosed.token}`, "-T", file, `${goosed.url}/v1/artifacts/${name}?kind=iso`],
    { stdout: "pipe", stderr: "pipe" },
  );
  const [out, errors, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  const [status, seconds] = out.trim().split(" ").map(Number) as [number, number];
  if (exitCode !== 0 || status !== 201) throw new Error(`artifact upload of ${name}: curl exit ${exitCode}, status ${status}: ${errors}`);
  return seconds;
}
