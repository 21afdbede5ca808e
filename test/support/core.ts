// An in-process core on a real SQLite file in a temporary data directory.
import { rmSync } from "node:fs";
import { type Config, loadConfig } from "../../src/config/index.ts";
import { type AppEvent, type Core, createCore, type LeaseRow } from "../../src/core/index.ts";
import { openStore } from "../../src/db/index.ts";
import { createLogger } from "../../src/lib/logger.ts";
import { tempDir } from "./goosed.ts";

export interface TestCore extends AsyncDisposable {
  core: Core;
  config: Readonly<Config>;
  dataDir: string;
  /** Resolves with the first event (already seen or still to come) that matches. */
  waitForEvent(predicate: (event: AppEvent) => boolean): Promise<AppEvent>;
  events: AppEvent[];
}

export function testConfig(dataDir: string, flags: Record<string, unknown> = {}): Readonly<Config> {
  return loadConfig({ env: { GOOSED_CONFIG: "/dev/null" }, flags: { dataDir, ...flags }, cwd: dataDir }).config;
}

export function openTestCore(flags: Record<string, unknown> = {}, existingDir?: string): TestCore {
  const dir = existingDir ? null : tempDir();
  const dataDir = existingDir ?? dir!.path;
  const config = testConfig(dataDir, flags);
  const store = openStore(dataDir);
  const log = createLogger({ level: "error", format: "json", write: () => {} });
  const core = createCore(store, config, log);
  const events: AppEvent[] = [];
  let waiters: Array<() => void> = [];
  core.bus.subscribe((event) => {
    events.push(event);
    const wake = waiters;
    waiters = [];
    for (const w of wake) w();
  });
  return {
    core,
    config,
    dataDir,
    events,
    async waitForEvent(predicate) {
      for (;;) {
        const found = events.find(predicate);
        if (found) return found;
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
    async [Symbol.asyncDispose]() {
      await core.stop(0);
      store.close();
      if (dir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A lease row as the DHCP server saves one: bound for an hour from now, in 10.9.0.0/24, unless overridden. */
export const testLease = (ip: string, mac: string, overrides: Partial<LeaseRow> = {}): LeaseRow => ({
  ip,
  mac,
  clientId: null,
  hostname: null,
  subnet: "10.9.0.0/24",
  state: "bound",
  startsAt: Date.now(),
  expiresAt: Date.now() + 3_600_000,
  ...overrides,
});
