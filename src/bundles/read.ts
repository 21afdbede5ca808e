// Reading a bundle's tar stream (already decompressed), in the order bundles/FORMAT.md sets: the manifest, its
// signature checked against the trust store before any file is read, then every file handed to a sink as it streams.
// Shared by verify and import; each refusal names the member and the reason, and nothing here writes anything.
import { createTarReader, type TarEntryHeader, type TarEvent, type TarFailure } from "./tar.ts";
import { entryPathProblem, type Manifest, MANIFEST_PATH, type ManifestEntry, MAX_MANIFEST_BYTES, parseManifest, SIGNATURE_PATH } from "./manifest.ts";
import { readPublicKey, SIGNIFY_REASON_TEXT, signatureKeyId, verify } from "./signify.ts";
import { ZstdDataError, ZstdLimitError } from "./zstd.ts";

export type BundleRefusal =
  | "unknown-signer"
  | "revoked-signer"
  | "bad-signature"
  | "manifest-not-first"
  | "signature-not-second"
  | "invalid-manifest"
  | "downgrade"
  | "hash-mismatch"
  | "size-mismatch"
  | "unexpected-file"
  | "missing-file"
  | "duplicate-path"
  | "path-traversal"
  | "link"
  | "device"
  | "not-a-file"
  | "truncated"
  | "corrupt"
  | "too-much-data"
  | "missing-base-content";

/** A bundle refused: `reason` is stable (tests, metrics), `entry` the member it is about, `message` one line for people. */
export class BundleError extends Error {
  constructor(
    readonly reason: BundleRefusal,
    message: string,
    readonly entry?: string,
  ) {
    super(entry === undefined ? message : `${entry}: ${message}`);
    this.name = "BundleError";
  }
}

/** What the trust store says about a key id: its public key file, revoked, or unknown. */
export type SignerLookup = (keyId: string) => { state: "trusted"; publicKey: string; name: string } | { state: "revoked"; name: string } | null;

export interface BundleSink {
  /** Called once the manifest is signed and valid, before any file is read: the place to refuse a downgrade. */
  manifest?(manifest: Manifest, signer: { keyId: string; name: string }): void | Promise<void>;
  /** Consumes one file's bytes entirely (or throws); the bytes are only valid until the next one is asked for. */
  entry(entry: ManifestEntry, body: AsyncIterable<Uint8Array>): Promise<void>;
}

export interface ReadBundle {
  manifest: Manifest;
  manifestBytes: Uint8Array;
  signer: { keyId: string; name: string };
  /** Decompressed bytes read, the tar framing included. */
  tarBytes: number;
}

// Headers, pax records and padding around the manifest, the signature and every file, generously: a bundle that
// decompresses to more than its manifest accounts for is a bomb, and is stopped there.
const FRAMING_PER_MEMBER = 2 * 512 + 64 * 1024;
const MAX_SIGNATURE_BYTES = 4096;

/**
 * Reads a bundle's tar bytes, refusing with a BundleError at the first problem: nothing after the signature is read
 * unless the signer is trusted and the signature good, and nothing is handed to `sink.entry` that is not exactly an
 * entry of the manifest.
 */
export async function readBundle(tar: AsyncIterable<Uint8Array>, lookup: SignerLookup, sink: BundleSink): Promise<ReadBundle> {
  const members = new MemberStream(tar, MAX_MANIFEST_BYTES + MAX_SIGNATURE_BYTES + 2 * FRAMING_PER_MEMBER);

  const { manifestBytes, signatureText } = await readHead(members);
  const signer = checkSignature(manifestBytes, signatureText, lookup);

  const parsed = parseManifest(manifestBytes);
  if (!parsed.ok) {
    const problems = parsed.problems.map((p) => `${p.path || "/"} ${p.message}`).join("; ");
    throw new BundleError("invalid-manifest", problems, MANIFEST_PATH);
  }
  const manifest = parsed.value;
  await sink.manifest?.(manifest, signer);

  const carried = manifest.entries.filter((e) => !e.inBase);
  members.allow(carried.reduce((sum, e) => sum + e.size + FRAMING_PER_MEMBER, 0));
  const waiting = new Map(carried.map((e) => [e.path, e]));
  const seen = new Set<string>();
  for (let member = await members.next(); member; member = await members.next()) {
    const entry = admit(member, waiting, seen, manifest);
    seen.add(member.path);
    waiting.delete(member.path);
    await sink.entry(entry, members.body(entry));
  }
  await members.finish();
  const missing = [...waiting.keys()];
  if (missing.length > 0) throw new BundleError("missing-file", `is in the manifest but not in the bundle${missing.length > 1 ? ` (and ${missing.length - 1} more)` : ""}`, missing[0]);
  return { manifest, manifestBytes, signer, tarBytes: members.bytesRead };
}

/** The manifest's bytes and the signature's text, unverified: for `goosed bundle inspect`, and a delta's base. */
export async function readBundleHead(tar: AsyncIterable<Uint8Array>): Promise<{ manifestBytes: Uint8Array; signatureText: string }> {
  return readHead(new MemberStream(tar, MAX_MANIFEST_BYTES + MAX_SIGNATURE_BYTES + 2 * FRAMING_PER_MEMBER));
}

async function readHead(members: MemberStream): Promise<{ manifestBytes: Uint8Array; signatureText: string }> {
  const first = await members.next();
  if (!first || first.path !== MANIFEST_PATH) throw new BundleError("manifest-not-first", `the first member must be ${MANIFEST_PATH}`, first?.path);
  if (first.type !== "file" || first.size > MAX_MANIFEST_BYTES) throw new BundleError("invalid-manifest", `must be a file of at most ${MAX_MANIFEST_BYTES} bytes`, MANIFEST_PATH);
  const manifestBytes = await members.readAll(first.size);

  const second = await members.next();
  if (!second || second.path !== SIGNATURE_PATH) throw new BundleError("signature-not-second", `the second member must be ${SIGNATURE_PATH}`, second?.path);
  if (second.type !== "file" || second.size > MAX_SIGNATURE_BYTES) throw new BundleError("bad-signature", "is not a signify signature file", SIGNATURE_PATH);
  const signatureText = new TextDecoder().decode(await members.readAll(second.size));
  return { manifestBytes, signatureText };
}

function checkSignature(manifestBytes: Uint8Array, signatureText: string, lookup: SignerLookup): { keyId: string; name: string } {
  const keyId = signatureKeyId(signatureText);
  if (!keyId.ok) throw new BundleError("bad-signature", SIGNIFY_REASON_TEXT[keyId.reason], SIGNATURE_PATH);
  const found = lookup(keyId.value);
  if (!found) {
    throw new BundleError("unknown-signer", `signed by key ${keyId.value}, which this appliance does not trust; if it should, run: goosed keys trust <its .pub file>`, SIGNATURE_PATH);
  }
  if (found.state === "revoked") throw new BundleError("revoked-signer", `signed by key ${keyId.value} (${found.name}), which was revoked`, SIGNATURE_PATH);
  const publicKey = readPublicKey(found.publicKey);
  if (!publicKey.ok) throw new BundleError("unknown-signer", `the trusted key ${keyId.value} cannot be read: ${SIGNIFY_REASON_TEXT[publicKey.reason]}`, SIGNATURE_PATH);
  const verdict = verify(publicKey.value, manifestBytes, signatureText);
  if (!verdict.ok) throw new BundleError("bad-signature", SIGNIFY_REASON_TEXT[verdict.reason], SIGNATURE_PATH);
  return { keyId: keyId.value, name: found.name };
}

/** The manifest entry a member carries, or why it is refused. */
function admit(member: TarEntryHeader, waiting: Map<string, ManifestEntry>, seen: Set<string>, manifest: Manifest): ManifestEntry {
  const path = member.path;
  if (member.type === "symlink" || member.type === "hardlink") throw new BundleError("link", `is a ${member.type === "symlink" ? "symbolic" : "hard"} link; bundles carry regular files only`, path);
  if (member.type === "char-device" || member.type === "block-device" || member.type === "fifo") throw new BundleError("device", `is a ${member.type}; bundles carry regular files only`, path);
  if (member.type !== "file") throw new BundleError("not-a-file", `is a ${member.type}; bundles carry regular files only`, path);
  const problem = entryPathProblem(path);
  if (problem) throw new BundleError("path-traversal", `the path ${problem}`, path);
  if (seen.has(path)) throw new BundleError("duplicate-path", "appears twice in the bundle", path);
  const entry = waiting.get(path);
  if (!entry) {
    const inBase = manifest.entries.some((e) => e.path === path && e.inBase);
    throw new BundleError("unexpected-file", inBase ? "is marked inBase in the manifest but is in the archive" : "is not in the manifest", path);
  }
  if (member.size !== entry.size) throw new BundleError("size-mismatch", `is ${member.size} bytes in the archive, the manifest says ${entry.size}`, path);
  return entry;
}

/** The tar reader turned into a pull stream of members, counting every decompressed byte against a budget. */
class MemberStream {
  private readonly reader = createTarReader();
  private readonly source: AsyncIterator<Uint8Array>;
  private events: TarEvent[] = [];
  private index = 0;
  private failure: TarFailure | null = null;
  private finished = false;
  /** Decompressed bytes not yet given to the tar reader. */
  private pending: Uint8Array = new Uint8Array(0);
  bytesRead = 0;

  constructor(
    tar: AsyncIterable<Uint8Array>,
    private budget: number,
  ) {
    this.source = tar[Symbol.asyncIterator]();
  }

  /** Raises the budget once the manifest says how much is coming. */
  allow(moreBytes: number): void {
    this.budget = this.bytesRead + moreBytes;
  }

  /** The next member's header, or null at the end of the archive. */
  async next(): Promise<TarEntryHeader | null> {
    for (;;) {
      const event = await this.event();
      if (event.kind === "entry") return event.header;
      if (event.kind === "end") return null;
    }
  }

  /** The current member's bytes, which must all be read before the next member is asked for. */
  async *body(entry: ManifestEntry): AsyncGenerator<Uint8Array> {
    for (;;) {
      const event = await this.event();
      if (event.kind === "data") yield event.bytes;
      else if (event.kind === "entry-end") return;
      else throw new BundleError("corrupt", "the archive's framing broke inside this member", entry.path);
    }
  }

  /** After the end blocks: only the end of the stream may follow (the tar reader refuses anything else). */
  async finish(): Promise<void> {
    while (!this.finished) await this.event();
  }

  async readAll(size: number): Promise<Uint8Array> {
    const whole = new Uint8Array(size);
    let filled = 0;
    for (;;) {
      const event = await this.event();
      if (event.kind === "data") {
        whole.set(event.bytes, filled);
        filled += event.bytes.byteLength;
      } else if (event.kind === "entry-end") return whole;
      else throw new BundleError("corrupt", "the archive's framing broke inside a member");
    }
  }

  private async event(): Promise<TarEvent> {
    while (this.index >= this.events.length) {
      if (this.failure) throw tarRefusal(this.failure);
      if (this.finished) return { kind: "end" };
      if (this.pending.byteLength === 0) {
        const chunk = await this.source.next().catch((error: unknown) => {
          throw compressedRefusal(error);
        });
        if (chunk.done) {
          const ended = this.reader.end();
          if (!ended.ok) throw tarRefusal(ended);
          this.finished = true;
          continue;
        }
        this.pending = chunk.value;
      }
      // Only what the budget allows goes to the tar reader: the rest waits until the manifest raises the budget.
      const room = this.budget - this.bytesRead;
      if (room <= 0) {
        throw new BundleError("too-much-data", `the bundle decompresses to more than its manifest declares (over ${this.budget} bytes); refused as a decompression bomb`);
      }
      const slice = this.pending.byteLength <= room ? this.pending : this.pending.subarray(0, room);
      this.pending = this.pending.subarray(slice.byteLength);
      this.bytesRead += slice.byteLength;
      const pushed = this.reader.push(slice);
      this.events = pushed.events;
      this.index = 0;
      if (!pushed.ok) this.failure = pushed;
    }
    return this.events[this.index++]!;
  }
}

/** A zstd failure as a refusal: a stream cut short is a truncated bundle (the common case: a copy that stopped), not damage. */
function compressedRefusal(error: unknown): BundleError {
  if (error instanceof BundleError) return error;
  if (error instanceof ZstdDataError && error.reason === "truncated") return new BundleError("truncated", `the compressed stream ends early (${error.message}); copy the bundle again`);
  if (error instanceof ZstdLimitError) return new BundleError("too-much-data", `${error.message}; refused as a decompression bomb`);
  return new BundleError("corrupt", `the compressed stream is damaged: ${(error as Error).message}`);
}

function tarRefusal(failure: TarFailure): BundleError {
  if (failure.reason === "truncated") return new BundleError("truncated", `the archive ends early, after ${failure.offset} bytes; copy the bundle again`);
  return new BundleError("corrupt", `the archive is damaged (${failure.reason} at byte ${failure.offset})`);
}
