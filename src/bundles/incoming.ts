// Uploaded bundles wait under <data>/bundles/incoming for their import job; an upload a crash cut off is removed.
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

/** Removes partial uploads (no import can be running before start-up) and returns how many. */
export function sweepIncoming(dataDir: string): number {
  const dir = join(dataDir, "bundles", "incoming");
  mkdirSync(dir, { recursive: true });
  const partial = readdirSync(dir).filter((name) => name.endsWith(".partial"));
  for (const name of partial) rmSync(join(dir, name), { force: true });
  return partial.length;
}
