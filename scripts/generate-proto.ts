// Regenerates src/agents/gen from agents/proto with buf + protoc-gen-es (npm run proto:generate).
// `--out DIR` writes the same tree under DIR instead, so a test can check the committed code is in sync.
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const bin = join(root, "node_modules/.bin");

/** Runs `buf generate`; outBase is prepended to buf.gen.yaml's `out` (src/agents/gen). */
export async function generateProto(outBase: string = root): Promise<void> {
  const proc = Bun.spawn([join(bin, "buf"), "generate", "--template", "buf.gen.yaml", "--output", outBase], {
    cwd: root,
    // buf finds the local plugin protoc-gen-es on PATH.
    env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ""}` },
    stdout: "inherit",
    stderr: "pipe",
  });
  const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  if (code !== 0) throw new Error(`buf generate failed (exit ${code}): ${stderr.trim()}`);
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const outIndex = args.indexOf("--out");
  const out = outIndex >= 0 ? args[outIndex + 1] : undefined;
  if ((outIndex >= 0 && !out) || args.length > (outIndex >= 0 ? 2 : 0)) {
    console.error("usage: bun scripts/generate-proto.ts [--out DIR]");
    process.exit(2);
  }
  try {
    await generateProto(out ? resolve(out) : root);
  } catch (error) {
    console.error(`generate-proto: ${(error as Error).message}`);
    process.exit(1);
  }
}
