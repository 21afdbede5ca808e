// The iPXE loaders firmware fetches before anything else. The build embeds them from Debian's ipxe package
// (scripts/fetch-loaders.sh); from source they are read from assets/loaders/. <data>/loaders/, filled by a bundle,
// wins over both, and is how a lab brings newer loaders or the arm64 ones Debian 12 does not ship.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Every loader name goosed hands out; the arm64 ones exist only when a bundle brought them. */
export const LOADER_NAMES = ["undionly.kpxe", "ipxe.efi", "snponly.efi", "ipxe-arm64.efi", "snponly-arm64.efi"] as const;
export type LoaderName = (typeof LOADER_NAMES)[number];

const SOURCE_DIR = join(import.meta.dir, "../../assets/loaders");

/** The loaders built into this goosed, by name. */
export async function builtInLoaders(): Promise<Map<LoaderName, Uint8Array>> {
  const found = new Map<LoaderName, Uint8Array>();
  for (const blob of Bun.embeddedFiles as Array<Blob & { name: string }>) {
    if ((LOADER_NAMES as readonly string[]).includes(blob.name)) found.set(blob.name as LoaderName, new Uint8Array(await blob.arrayBuffer()));
  }
  if (found.size > 0) return found;
  for (const name of LOADER_NAMES) {
    const path = join(SOURCE_DIR, name);
    if (existsSync(path)) found.set(name, readFileSync(path));
  }
  return found;
}

/** Where a bundle puts loaders that override the built-in ones. */
export const loadersDir = (dataDir: string) => join(dataDir, "loaders");
