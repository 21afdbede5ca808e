import { expect, test } from "bun:test";
import { createLogger } from "../../src/lib/logger.ts";

test("json: one object per line with time, level, component, message and fields", () => {
  const lines: string[] = [];
  const log = createLogger({ level: "info", format: "json", write: (l) => lines.push(l) }).child({ component: "http" });
  log.info("request", { requestId: "abc", status: 200 });
  log.debug("dropped below the level");
  log.error("failed", { error: new Error("boom") });
  expect(lines).toHaveLength(2);
  expect(lines.every((l) => l.endsWith("\n") && !l.slice(0, -1).includes("\n"))).toBe(true);
  const first = JSON.parse(lines[0]!);
  expect(first).toEqual({ time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), level: "info", component: "http", requestId: "abc", status: 200, message: "request" });
  expect(JSON.parse(lines[1]!).error).toMatchObject({ name: "Error", message: "boom" });
});

test("pretty: a readable colour line for a terminal", () => {
  const lines: string[] = [];
  createLogger({ level: "debug", format: "pretty", write: (l) => lines.push(l) }).child({ component: "jobs" }).warn("job attempt failed", { jobId: 7, error: "disk full" });
  // Strip the colour codes to read it as a person would.
  const plain = lines[0]!.replace(/\x1b\[[0-9;]*m/g, "");
  expect(plain).toMatch(/^\d\d:\d\d:\d\d\.\d{3} WARN  jobs job attempt failed jobId=7 error="disk full"\n$/);
});
