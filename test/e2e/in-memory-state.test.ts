// A data directory on tmpfs (the appliance booted without a GOOSED-DATA partition): goosed serves, and says loudly,
// on every status page, in /readyz and in its log, that everything is lost at power-off.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { statusPageCookie } from "../support/http.ts";
import { type RunningGoosed, startGoosed, tempDir, type TempDir } from "../support/goosed.ts";
import { must } from "../support/netns.ts";

let dir: TempDir;
let dataDir = "";
let mounted = false;
let goosed: RunningGoosed;

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error("this test mounts a tmpfs as goosed's data directory, which needs root; run it as root (CI does)");
  dir = tempDir("goosed-in-memory-");
  dataDir = join(dir.path, "data");
  mkdirSync(dataDir);
  await must(["mount", "-t", "tmpfs", "-o", "size=64m", "goosed-in-memory", dataDir]);
  mounted = true;
  goosed = await startGoosed({ dataDir });
});

afterAll(async () => {
  if (goosed) expect(await goosed.stop()).toBe(0);
  if (mounted) await must(["umount", dataDir]);
  await dir?.[Symbol.asyncDispose]();
});

test("every status page, /readyz and the log say that state is in memory", async () => {
  const cookie = await statusPageCookie(goosed.url, goosed.token);
  for (const path of ["/", "/machines", "/bundles"]) {
    const page = await (await fetch(`${goosed.url}${path}`, { headers: { cookie } })).text();
    expect(page).toContain('<p class="warning" role="alert">State is in memory: machines, runs, artifacts and imported bundles are lost at power-off.');
  }
  const ready = (await (await fetch(`${goosed.url}/readyz`)).json()) as { status: string; services: Record<string, { ok: boolean; detail: string }> };
  expect(ready.status).toBe("ready");
  expect(ready.services.storage).toEqual({ ok: true, detail: `IN MEMORY (${dataDir} is tmpfs): lost at power-off` });
  expect(goosed.logs.some((line) => line.level === "warn" && String(line.message).startsWith("State is in memory"))).toBe(true);
});
