// Bundles on an inserted USB stick: the watched directory (where sticks are mounted) is scanned every few seconds, and
// each *.tar.zst found is read as far as its manifest and signature, so the operator sees what it is and who signed it
// before importing it, or it is imported at once when bundles.autoImport is set.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../lib/logger.ts";
import { parseManifest } from "./manifest.ts";
import { readBundleHead } from "./read.ts";
import { signatureKeyId } from "./signify.ts";
import type { TrustStore } from "./trust.ts";
import { zstdDecompressStream } from "./zstd.ts";

export interface FoundBundle {
  path: string;
  sizeBytes: number;
  modifiedMs: number;
  /** Null when the file is not a readable bundle; `problem` says why. */
  name: string | null;
  version: string | null;
  signerKeyId: string | null;
  signer: "trusted" | "revoked" | "unknown";
  problem: string | null;
}

// Sticks are mounted one or two levels down (/media/usb0/..., /run/media/user/LABEL/...).
const MAX_DEPTH = 3;
const SCAN_INTERVAL_MS = 5000;

export class BundleWatcher {
  private found = new Map<string, FoundBundle>();
  private timer: Timer | null = null;
  private scanning = false;

  constructor(
    private readonly dir: string,
    private readonly trust: TrustStore,
    private readonly log: Logger,
    /** Called once for each bundle that appears (a new path, or a changed file at a known path). */
    private readonly onFound: (bundle: FoundBundle) => void,
  ) {}

  list(): FoundBundle[] {
    return [...this.found.values()].map((b) => ({ ...b, signer: this.signerState(b.signerKeyId) })).sort((a, b) => (a.path < b.path ? -1 : 1));
  }

  start(): void {
    void this.scan();
    this.timer = setInterval(() => void this.scan(), SCAN_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** One pass: new and changed files are read; files that went (a stick pulled out) are forgotten. */
  async scan(): Promise<void> {
    if (this.scanning) return;
    this.scanning = true;
    try {
      const present = new Set<string>();
      for (const path of bundleFiles(this.dir, 0)) {
        const info = statSync(path, { throwIfNoEntry: false });
        if (!info) continue;
        present.add(path);
        const known = this.found.get(path);
        if (known && known.sizeBytes === info.size && known.modifiedMs === info.mtimeMs) continue;
        const bundle = await describe(path, info.size, info.mtimeMs);
        this.found.set(path, bundle);
        this.log.info("bundle found", { component: "bundles", path, name: bundle.name, version: bundle.version, problem: bundle.problem });
        this.onFound({ ...bundle, signer: this.signerState(bundle.signerKeyId) });
      }
      for (const path of this.found.keys()) if (!present.has(path)) this.found.delete(path);
    } finally {
      this.scanning = false;
    }
  }

  private signerState(keyId: string | null): FoundBundle["signer"] {
    const key = keyId === null ? null : this.trust.get(keyId);
    if (!key) return "unknown";
    return key.revokedAt === null ? "trusted" : "revoked";
  }
}

function* bundleFiles(dir: string, depth: number): Generator<string> {
  let entries: import("node:fs").Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isFile() && entry.name.endsWith(".tar.zst")) yield path;
    else if (entry.isDirectory() && depth < MAX_DEPTH && !entry.name.startsWith(".")) yield* bundleFiles(path, depth + 1);
  }
}

async function describe(path: string, sizeBytes: number, modifiedMs: number): Promise<FoundBundle> {
  const base = { path, sizeBytes, modifiedMs, name: null, version: null, signerKeyId: null, signer: "unknown" as const };
  try {
    const head = await readBundleHead(zstdDecompressStream(Bun.file(path).stream(), { maxOutputBytes: 64 * 1024 * 1024 }));
    const parsed = parseManifest(head.manifestBytes);
    const keyId = signatureKeyId(head.signatureText);
    if (!parsed.ok) return { ...base, signerKeyId: keyId.ok ? keyId.value : null, problem: `its manifest is not valid: ${parsed.problems[0]!.path} ${parsed.problems[0]!.message}` };
    return { ...base, name: parsed.value.name, version: parsed.value.version, signerKeyId: keyId.ok ? keyId.value : null, problem: null };
  } catch (error) {
    return { ...base, problem: `not a readable bundle: ${(error as Error).message}` };
  }
}
