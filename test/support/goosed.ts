// Starts real goosed processes on temporary data directories and talks to them over real sockets.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { inNamespace } from "./netns.ts";

export const REPO_ROOT = join(import.meta.dir, "../..");
export const MAIN = join(REPO_ROOT, "src/main.ts");

export interface TempDir extends AsyncDisposable {
  path: string;
}

export function tempDir(prefix = "goosed-test-"): TempDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, [Symbol.asyncDispose]: async () => rmSync(path, { recursive: true, force: true }) };
}

export interface RunningGoosed extends AsyncDisposable {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  url: string;
  port: number;
  dataDir: string;
  /** The admin token goosed wrote on first start. */
  token: string;
  /** Every JSON log line seen so far. */
  logs: Array<Record<string, unknown>>;
  /** Sends SIGTERM and waits for the exit code. */
  stop(): Promise<number>;
  /** SIGKILL, no chance to clean up; resolves once the process is gone. */
  kill(): Promise<void>;
}

export interface StartOptions {
  dataDir: string;
  args?: string[];
  env?: Record<string, string>;
  /** Run inside this network namespace (`ip netns exec`); the test then reaches it at `reachAt`. */
  netns?: string;
  /** --http-host; 127.0.0.1 unless given. */
  httpHost?: string;
  /** --http-port; 0 (a free port) unless given. */
  httpPort?: number;
  /** The address the test process uses in `url`; httpHost unless given. */
  reachAt?: string;
}

/** The environment of a goosed child: ours, minus GOOSED_* settings a developer may have exported. */
export function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("GOOSED_")) env[k] = v;
  return { ...env, GOOSED_CONFIG: "/dev/null", ...extra };
}

/** Starts `goosed serve` on port 0 and resolves once it logged "goosed ready" (never by sleeping). */
export async function startGoosed(options: StartOptions): Promise<RunningGoosed> {
  const httpHost = options.httpHost ?? "127.0.0.1";
  const serve = ["serve", "--data-dir", options.dataDir, "--http-port", String(options.httpPort ?? 0), "--http-host", httpHost, "--log-format", "json"];
  const command = ["bun", MAIN, ...serve, ...(options.args ?? [])];
  const proc = Bun.spawn(options.netns ? inNamespace(options.netns, command) : command, {
    env: childEnv(options.env),
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const logs: Array<Record<string, unknown>> = [];
  const ready = new Promise<number>((resolve, reject) => {
    void (async () => {
      let buffer = "";
      const decoder = new TextDecoder();
      for await (const chunk of proc.stdout) {
        buffer += decoder.decode(chunk, { stream: true });
        let newline: number;
        while ((newline = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 1);
          try {
            const entry = JSON.parse(line) as Record<string, unknown>;
            logs.push(entry);
            if (entry.message === "goosed ready") resolve(entry.port as number);
          } catch {
            logs.push({ raw: line });
          }
        }
      }
      const stderr = await new Response(proc.stderr).text();
      reject(new Error(`goosed exited with ${await proc.exited} before it was ready:\n${stderr}\n${JSON.stringify(logs)}`));
    })();
  });
  const port = await ready;
  const token = readFileSync(join(options.dataDir, "admin-token"), "utf8").trim();
  const stop = async () => {
    proc.kill("SIGTERM");
    return await proc.exited;
  };
  return {
    proc,
    url: `http://${options.reachAt ?? httpHost}:${port}`,
    port,
    dataDir: options.dataDir,
    token,
    logs,
    stop,
    async kill() {
      proc.kill("SIGKILL");
      await proc.exited;
    },
    [Symbol.asyncDispose]: async () => {
      if (proc.exitCode === null && proc.signalCode === null) await stop();
    },
  };
}

/** Runs the goosed CLI to completion. */
export async function runGoosed(args: string[], env: Record<string, string> = {}, cwd = REPO_ROOT) {
  const proc = Bun.spawn(["bun", MAIN, ...args], { env: childEnv(env), stdout: "pipe", stderr: "pipe", stdin: "ignore", cwd });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { stdout, stderr, code };
}

/** fetch against a running goosed with a bearer token and JSON body. */
export function api(goosed: { url: string; token: string }, path: string, init: { method?: string; body?: unknown; token?: string | null } = {}) {
  const headers: Record<string, string> = {};
  const token = init.token === undefined ? goosed.token : init.token;
  if (token) headers.authorization = `Bearer ${token}`;
  if (init.body !== undefined) headers["content-type"] = "application/json";
  return fetch(`${goosed.url}${path}`, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
}
