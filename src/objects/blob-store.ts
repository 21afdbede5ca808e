// Content-addressed blobs under <data>/blobs: written to a temporary name, renamed only once the hash checks out.
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";

export interface BlobInfo {
  digest: string;
  path: string;
  sizeBytes: number;
}

const DIGEST = /^[0-9a-f]{64}$/;

export class BlobStore {
  readonly root: string;
  private readonly tmp: string;

  constructor(blobsDir: string) {
    this.root = join(blobsDir, "sha256");
    this.tmp = join(blobsDir, "tmp");
    mkdirSync(this.root, { recursive: true });
    mkdirSync(this.tmp, { recursive: true });
  }

  pathOf(digest: string): string {
    return join(this.root, digest.slice(0, 2), digest);
  }

  /** Writes bytes durably (fsync before rename), so a blob that has its final name is whole. */
  async put(bytes: Uint8Array): Promise<BlobInfo> {
    const digest = new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
    const path = this.pathOf(digest);
    const tmpPath = join(this.tmp, `${digest}.${randomBytes(4).toString("hex")}`);
    const file = await open(tmpPath, "w", 0o644);
    try {
      await file.writeFile(bytes);
      await file.sync();
    } finally {
      await file.close();
    }
    mkdirSync(join(this.root, digest.slice(0, 2)), { recursive: true });
    try {
      renameSync(tmpPath, path);
    } catch (err) {
      rmSync(tmpPath, { force: true });
      throw err;
    }
    return { digest, path, sizeBytes: bytes.byteLength };
  }

  /** Every blob with a well-formed name, in digest order. */
  list(): BlobInfo[] {
    const found: BlobInfo[] = [];
    for (const prefix of readdirSync(this.root).sort()) {
      for (const name of readdirSync(join(this.root, prefix)).sort()) {
        if (!DIGEST.test(name) || !name.startsWith(prefix)) continue;
        const path = join(this.root, prefix, name);
        found.push({ digest: name, path, sizeBytes: statSync(path).size });
      }
    }
    return found;
  }
}
