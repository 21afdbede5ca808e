// Hand-made bundles for refusal tests: any member list (links, devices, pax globals, duplicates, wrong order), any
// manifest bytes, any signature, cut anywhere, zstd-compressed into a file. Headers are built here byte by byte, not
// by src/bundles/tar.ts, so a writer bug cannot hide a reader bug.
import { writeFileSync } from "node:fs";
import { type Manifest, MANIFEST_PATH, SIGNATURE_PATH, writeManifest } from "../../src/bundles/manifest.ts";
import { sign, type SignifySecretKey } from "../../src/bundles/signify.ts";
import { zstdCompressStream } from "../../src/bundles/zstd.ts";

const BLOCK = 512;
const encoder = new TextEncoder();

/** ustar typeflags (POSIX.1-2001 XCU pax): '0' file, '1' hard link, '2' symlink, '3'/'4' devices, '5' directory, '6' fifo, 'g' pax global. */
export type CraftType = "0" | "1" | "2" | "3" | "4" | "5" | "6" | "g" | "x" | "L" | "V";

export interface CraftMember {
  path: string;
  type?: CraftType;
  /** The body; `{ zeros }` streams that many zero bytes without holding them. */
  body?: Uint8Array | { zeros: number };
  linkName?: string;
  /** The header's size field when it must lie about the body (defaults to the body's length). */
  sizeField?: number;
}

const bodyBytes = (body: CraftMember["body"]): number => (body === undefined ? 0 : body instanceof Uint8Array ? body.byteLength : body.zeros);

/** One 512-byte ustar header with a correct checksum. */
export function ustarHeader(member: { path: string; type: CraftType; size: number; linkName?: string }): Uint8Array {
  const block = new Uint8Array(BLOCK);
  const put = (at: number, length: number, value: string) => {
    const bytes = encoder.encode(value);
    if (bytes.byteLength > length) throw new Error(`craft: ${JSON.stringify(value)} does not fit ${length} bytes`);
    block.set(bytes, at);
  };
  const octal = (at: number, length: number, value: number) => put(at, length, `${value.toString(8).padStart(length - 1, "0")}\0`);
  put(0, 100, member.path);
  octal(100, 8, 0o644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, member.size);
  octal(136, 12, 0);
  put(148, 8, "        ");
  put(156, 1, member.type);
  put(157, 100, member.linkName ?? "");
  put(257, 6, "ustar\0");
  put(263, 2, "00");
  octal(329, 8, 0);
  octal(337, 8, 0);
  const sum = block.reduce((total, byte) => total + byte, 0);
  put(148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  return block;
}

export const fileMember = (path: string, body: Uint8Array): CraftMember => ({ path, body });

/** manifest.json and manifest.sig: the manifest written canonically (or these exact bytes), signed by `signer` (or this signature text). */
export function signedHead(manifest: Manifest | Uint8Array, signer: SignifySecretKey | string): [CraftMember, CraftMember] {
  const manifestBytes = manifest instanceof Uint8Array ? manifest : writeManifest(manifest);
  const signature = typeof signer === "string" ? signer : sign(signer, manifestBytes);
  return [fileMember(MANIFEST_PATH, manifestBytes), fileMember(SIGNATURE_PATH, encoder.encode(signature))];
}

export interface CraftOptions {
  /** Leave out the two end blocks. */
  noEnd?: boolean;
  /** Keep only the first this many tar bytes (before compression). */
  tarBytes?: number;
  /** Keep only the first this many compressed bytes. */
  compressedBytes?: number;
}

/** The tar stream of `members`, in 1 MiB chunks at most. */
export async function* craftTar(members: CraftMember[], options: CraftOptions = {}): AsyncGenerator<Uint8Array> {
  let left = options.tarBytes ?? Number.POSITIVE_INFINITY;
  const emit = function* (bytes: Uint8Array): Generator<Uint8Array> {
    if (left <= 0) return;
    const kept = bytes.byteLength <= left ? bytes : bytes.subarray(0, left);
    left -= kept.byteLength;
    yield kept;
  };
  for (const member of members) {
    const size = bodyBytes(member.body);
    yield* emit(ustarHeader({ path: member.path, type: member.type ?? "0", size: member.sizeField ?? size, linkName: member.linkName }));
    if (member.body instanceof Uint8Array) yield* emit(member.body);
    else if (member.body) {
      const chunk = new Uint8Array(1024 * 1024);
      for (let sent = 0; sent < member.body.zeros; sent += chunk.byteLength) yield* emit(chunk.subarray(0, Math.min(chunk.byteLength, member.body.zeros - sent)));
    }
    if (size % BLOCK !== 0) yield* emit(new Uint8Array(BLOCK - (size % BLOCK)));
  }
  if (!options.noEnd) yield* emit(new Uint8Array(2 * BLOCK));
}

/** Writes `members` as a zstd-compressed tar to `path`. */
export async function craftBundle(path: string, members: CraftMember[], options: CraftOptions = {}): Promise<void> {
  const parts: Uint8Array[] = [];
  for await (const frame of zstdCompressStream(craftTar(members, options))) parts.push(frame);
  const whole = Buffer.concat(parts);
  writeFileSync(path, options.compressedBytes === undefined ? whole : whole.subarray(0, options.compressedBytes));
}
