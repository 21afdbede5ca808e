// Token secrets: random hex from a pooled source and their sha256, the only form in which secrets are stored.
import { randomFillSync } from "node:crypto";

export const hashSecret = (secret: string): Buffer => new Bun.CryptoHasher("sha256").update(secret).digest();

// One call to the kernel's CSPRNG per 4 KiB instead of one per token: a boot storm mints thousands a second.
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let offset = POOL_BYTES;

/** `bytes` random bytes as lowercase hex. */
export function randomHex(bytes: number): string {
  if (offset + bytes > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const hex = pool.toString("hex", offset, offset + bytes);
  // Never hand out the same bytes twice.
  pool.fill(0, offset, offset + bytes);
  offset += bytes;
  return hex;
}
