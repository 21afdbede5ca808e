import { describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, loadConfig } from "../../src/config/index.ts";
import { runGoosed, tempDir } from "../support/goosed.ts";

const load = (over: { configPath?: string; env?: Record<string, string>; flags?: Record<string, unknown> }) =>
  loadConfig({ configPath: over.configPath, env: over.env ?? { GOOSED_CONFIG: "/dev/null" }, flags: over.flags ?? {}, cwd: "/srv" });

function errorsOf(fn: () => unknown): Array<{ path: string; message: string }> {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.errors;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfig", () => {
  test("defaults are safe: HTTP on 8080, data in ./goosed-data, resolved against cwd", () => {
    const { config } = load({});
    expect(config.http.port).toBe(8080);
    expect(config.dataDir).toBe("/srv/goosed-data");
    expect(Object.isFrozen(config.http)).toBe(true);
  });

  test("file < environment < flags", async () => {
    await using dir = tempDir();
    const file = join(dir.path, "goosed.yaml");
    writeFileSync(file, "dataDir: /from/file\nhttp:\n  port: 1111\n  host: 10.0.0.1\nlog:\n  level: debug\n");
    const { config, configPath } = load({
      configPath: file,
      env: { GOOSED_HTTP_PORT: "2222", GOOSED_HTTP_HOST: "127.0.0.2" },
      flags: { httpPort: "3333" },
    });
    expect(configPath).toBe(file);
    expect(config.dataDir).toBe("/from/file");
    expect(config.http).toEqual({ port: 3333, host: "127.0.0.2", bodyLimitBytes: 1_048_576 });
    expect(config.log.level).toBe("debug");
  });

  test("every bad field is reported with its path, what it expects and where it came from", async () => {
    await using dir = tempDir();
    const file = join(dir.path, "goosed.yaml");
    writeFileSync(file, "http:\n  prot: 80\nlog:\n  level: loud\nbogus: true\n");
    const errors = errorsOf(() =>
      load({ configPath: file, env: { GOOSED_HTTP_PORT: "eighty", GOOSED_JOBS_MAXATTEMPTS: "3" }, flags: { shutdownGraceMs: "-5" } }),
    );
    expect(errors).toEqual([
      { path: "GOOSED_JOBS_MAXATTEMPTS", message: expect.stringContaining("is not a goosed setting") },
      { path: "bogus", message: `is not a goosed setting (in ${file})` },
      { path: "http.prot", message: `is not a goosed setting (in ${file})` },
      { path: "http.port", message: 'expected an integer from 0 to 65535, got "eighty" (from GOOSED_HTTP_PORT)' },
      { path: "log.level", message: `expected one of debug, info, warn, error, got "loud" (in ${file})` },
      { path: "shutdownGraceMs", message: "expected an integer from 0 to 600000, got -5 (from --shutdown-grace-ms)" },
    ]);
  });

  test("a YAML syntax error names the file", async () => {
    await using dir = tempDir();
    const file = join(dir.path, "goosed.yaml");
    writeFileSync(file, "http: [unclosed\n");
    const errors = errorsOf(() => load({ configPath: file }));
    expect(errors).toHaveLength(1);
    expect(errors[0]!.path).toBe(file);
    expect(errors[0]!.message).toStartWith("YAML: ");
  });

  test("a missing config file is an error, not silently the defaults", () => {
    expect(errorsOf(() => load({ configPath: "/nonexistent/goosed.yaml" }))).toEqual([
      { path: "--config", message: "cannot read /nonexistent/goosed.yaml: ENOENT" },
    ]);
  });
});

describe("goosed serve with bad configuration", () => {
  test("exits 2, names every bad field, and does not create the data directory", async () => {
    await using dir = tempDir();
    const dataDir = join(dir.path, "data");
    const result = await runGoosed(["serve", "--data-dir", dataDir, "--http-port", "99999", "--log-level", "chatty"], {
      GOOSED_EVENTS_RETAIN_COUNT: "few",
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("http.port: expected an integer from 0 to 65535, got 99999 (from --http-port)");
    expect(result.stderr).toContain('log.level: expected one of debug, info, warn, error, got "chatty" (from --log-level)');
    expect(result.stderr).toContain('events.retainCount: expected an integer of at least 100, got "few" (from GOOSED_EVENTS_RETAIN_COUNT)');
    expect(result.stderr).toContain("see goosed serve --help");
    expect(existsSync(dataDir)).toBe(false);
  });
});
