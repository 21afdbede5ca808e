// The committed generated code is what buf + protoc-gen-es make from agents/proto today.
import { afterAll, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { generateProto } from "../../scripts/generate-proto.ts";
import { REPO_ROOT, tempDir } from "../support/goosed.ts";

const GEN = "src/agents/gen";
const out = tempDir("goosed-proto-");
afterAll(() => out[Symbol.asyncDispose]());

const listing = (dir: string) => readdirSync(dir, { recursive: true, encoding: "utf8" }).sort();

test("generating into a temporary directory reproduces src/agents/gen byte for byte", async () => {
  await generateProto(out.path);
  const fresh = join(out.path, GEN);
  const committed = join(REPO_ROOT, GEN);
  expect(listing(fresh)).toEqual(listing(committed));
  for (const file of listing(committed)) {
    // Failing here means agents/proto changed without `npm run proto:generate`.
    expect({ file, text: readFileSync(join(fresh, file), "utf8") }).toEqual({ file, text: readFileSync(join(committed, file), "utf8") });
  }
}, 60_000);

test("buf lint finds nothing in agents/proto", async () => {
  const proc = Bun.spawn([join(REPO_ROOT, "node_modules/.bin/buf"), "lint"], { cwd: REPO_ROOT, stdout: "pipe", stderr: "pipe" });
  const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  expect({ code, stdout, stderr }).toEqual({ code: 0, stdout: "", stderr: "" });
}, 60_000);
