// Our streaming tar codec for bundles (issue 6), written from POSIX.1-2001 (pax, XCU "pax" / ustar interchange
// format) plus the GNU extensions GNU tar 1.34 writes: a deterministic writer and a pure push-based reader.
//
// ustar header block, 512 bytes (POSIX.1-2001 XCU pax, "ustar Interchange Format"); numbers are octal ASCII:
//
//   offset  size  field            offset  size  field
//        0   100  name                257     6  magic     "ustar\0" (POSIX) or "ustar " (GNU)
//      100     8  mode                263     2  version   "00" (POSIX) or " \0" (GNU)
//      108     8  uid                 265    32  uname
//      116     8  gid                 297    32  gname
//      124    12  size                329     8  devmajor
//      136    12  mtime               337     8  devminor
//      148     8  chksum              345   155  prefix    (POSIX only; GNU keeps atime/ctime here)
//      156     1  typeflag            500    12  (pad)
//      157   100  linkname
//
// A pax extended header (typeflag 'x') carries "<length> <key>=<value>\n" records, length counting the whole record
// in decimal, that override the next member's ustar fields. The archive ends with two zero blocks.

export const TAR_BLOCK_BYTES = 512;
/** The two zero blocks that end an archive. Shared: never write into it. */
export const TAR_END: Uint8Array<ArrayBuffer> = new Uint8Array(2 * TAR_BLOCK_BYTES);
/** pax records, GNU long names and long link names are held whole; this bounds what an archive can make us hold. */
export const MAX_TAR_META_BYTES = 64 * 1024;

/** Header field offsets and sizes (see the diagram above). */
const Field = {
  name: [0, 100],
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
  checksum: [148, 8],
  typeflag: [156, 1],
  linkname: [157, 100],
  magic: [257, 6],
  version: [263, 2],
  uname: [265, 32],
  gname: [297, 32],
  devmajor: [329, 8],
  devminor: [337, 8],
  prefix: [345, 155],
} as const satisfies Record<string, readonly [number, number]>;

/** typeflag values: POSIX.1-2001 ustar ('0'-'7', 'x', 'g') and GNU tar's long name/link members ('L', 'K'). */
const TypeFlag = {
  File: 0x30, // '0'
  OldFile: 0x00, // NUL, pre-POSIX regular file
  HardLink: 0x31, // '1'
  Symlink: 0x32, // '2'
  CharDevice: 0x33, // '3'
  BlockDevice: 0x34, // '4'
  Directory: 0x35, // '5'
  Fifo: 0x36, // '6'
  Contiguous: 0x37, // '7', a regular file everywhere that matters
  PaxExtended: 0x78, // 'x'
  PaxGlobal: 0x67, // 'g'
  GnuLongName: 0x4c, // 'L'
  GnuLongLink: 0x4b, // 'K'
} as const;

const MAX_OCTAL_SIZE = 0o77777777777; // 11 octal digits: 8 GiB - 1
const encoder = new TextEncoder();
const utf8 = new TextDecoder("utf-8", { fatal: true });

// ---------------------------------------------------------------------------------------------------------------
// Writer

/**
 * The header bytes of one regular file member: a 512-byte ustar header, preceded by a pax 'x' header and its records
 * when the path does not fit ustar's prefix/name split or is not ASCII, or the size needs more than 11 octal digits.
 * mtime, uid and gid are 0, uname and gname empty: the same entry always gives the same bytes.
 * Throws on an entry no archive can hold (empty path, NUL in it, bad size or mode): that is a caller's bug.
 */
export function tarHeader(entry: { path: string; size: number; mode?: number }): Uint8Array<ArrayBuffer> {
  const { path, size } = entry;
  const mode = entry.mode ?? 0o644;
  if (path.length === 0 || path.includes("\0")) throw new Error(`tar: cannot write path ${JSON.stringify(path)}`);
  if (!Number.isSafeInteger(size) || size < 0) throw new Error(`tar: bad size ${size} for ${path}`);
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw new Error(`tar: bad mode ${mode} for ${path}`);

  const split = /^[\x01-\x7f]*$/.test(path) ? splitUstarPath(path) : undefined;
  const records: Array<[string, string]> = [];
  if (!split) records.push(["path", path]);
  if (size > MAX_OCTAL_SIZE) records.push(["size", String(size)]);

  const main = ustarBlock({
    name: split?.name ?? asciiFallback(path, "").slice(-100),
    prefix: split?.prefix ?? "",
    mode,
    size: size > MAX_OCTAL_SIZE ? 0 : size,
    typeflag: TypeFlag.File,
  });
  if (records.length === 0) return main;

  const body = encodePaxRecords(records);
  const paxHeader = ustarBlock({
    name: asciiFallback(path, "PaxHeaders/").slice(0, 100),
    prefix: "",
    mode: 0o644,
    size: body.length,
    typeflag: TypeFlag.PaxExtended,
  });
  const out = new Uint8Array(TAR_BLOCK_BYTES + body.length + paddingBytes(body.length) + TAR_BLOCK_BYTES);
  out.set(paxHeader, 0);
  out.set(body, TAR_BLOCK_BYTES);
  out.set(main, out.length - TAR_BLOCK_BYTES);
  return out;
}

/** The zeros that take a member's body of `size` bytes to the next 512-byte boundary (possibly none). */
export function tarPadding(size: number): Uint8Array<ArrayBuffer> {
  return new Uint8Array(paddingBytes(size));
}

export interface TarStreamEntry {
  path: string;
  size: number;
  mode?: number;
  body: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>;
}

/**
 * A whole archive as a stream of chunks: each entry's header, its body chunks as they come (passed through, never
 * copied or gathered), its padding, then the end blocks. Throws as soon as a body yields more than its `size`, or
 * when it ends short, so a changed file never yields a corrupt archive.
 */
export async function* tarStream(entries: AsyncIterable<TarStreamEntry> | Iterable<TarStreamEntry>): AsyncGenerator<Uint8Array> {
  for await (const entry of entries) {
    yield tarHeader(entry);
    let seen = 0;
    for await (const chunk of iterateBody(entry.body)) {
      seen += chunk.length;
      if (seen > entry.size) throw new Error(`tar: ${entry.path} yielded more than its ${entry.size} bytes`);
      if (chunk.length > 0) yield chunk;
    }
    if (seen !== entry.size) throw new Error(`tar: ${entry.path} yielded ${seen} bytes, not its ${entry.size}`);
    const padding = paddingBytes(entry.size);
    if (padding > 0) yield new Uint8Array(padding);
  }
  yield TAR_END;
}

async function* iterateBody(body: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  if (!(body instanceof ReadableStream)) return yield* body;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

function paddingBytes(size: number): number {
  return (TAR_BLOCK_BYTES - (size % TAR_BLOCK_BYTES)) % TAR_BLOCK_BYTES;
}

/** ustar keeps a path as prefix "/" name with name <= 100 and prefix <= 155 bytes; the shortest prefix that works. */
function splitUstarPath(path: string): { name: string; prefix: string } | undefined {
  if (path.length <= 100) return { name: path, prefix: "" };
  for (let slash = path.indexOf("/", path.length - 101); slash !== -1 && slash <= 155; slash = path.indexOf("/", slash + 1)) {
    const name = path.slice(slash + 1);
    if (name.length > 0 && name.length <= 100) return { name, prefix: path.slice(0, slash) };
  }
  return undefined;
}

/** What a reader that ignores pax headers shows: the last path component (after `lead`), non-ASCII as '_'. */
function asciiFallback(path: string, lead: string): string {
  const base = path.replace(/\/+$/, "").split("/").pop() || "_";
  return lead + base.replace(/[^\x20-\x7e]/g, "_");
}

/** pax records, "%d %s=%s\n", whose length counts its own digits. */
function encodePaxRecords(records: Array<[string, string]>): Uint8Array<ArrayBuffer> {
  const lines = records.map(([key, value]) => {
    const rest = encoder.encode(` ${key}=${value}\n`).length;
    let length = rest + 1;
    while (String(length).length + rest !== length) length = String(length).length + rest;
    return `${length} ${key}=${value}\n`;
  });
  return encoder.encode(lines.join(""));
}

function ustarBlock(fields: { name: string; prefix: string; mode: number; size: number; typeflag: number }): Uint8Array<ArrayBuffer> {
  const block = new Uint8Array(TAR_BLOCK_BYTES);
  const put = ([at, length]: readonly [number, number], text: string) => {
    const bytes = encoder.encode(text);
    if (bytes.length > length) throw new Error(`tar: ${JSON.stringify(text)} does not fit ${length} bytes`);
    block.set(bytes, at);
  };
  const octal = (field: readonly [number, number], value: number) => put(field, value.toString(8).padStart(field[1] - 1, "0"));
  put(Field.name, fields.name);
  octal(Field.mode, fields.mode);
  octal(Field.uid, 0);
  octal(Field.gid, 0);
  octal(Field.size, fields.size);
  octal(Field.mtime, 0);
  block[Field.typeflag[0]] = fields.typeflag;
  put(Field.magic, "ustar\0");
  put(Field.version, "00");
  octal(Field.devmajor, 0);
  octal(Field.devminor, 0);
  put(Field.prefix, fields.prefix);
  // The checksum is computed with its own field as eight spaces, then stored as six digits, NUL, space.
  block.fill(0x20, Field.checksum[0], Field.checksum[0] + 8);
  put(Field.checksum, `${checksums(block).unsigned.toString(8).padStart(6, "0")}\0 `);
  return block;
}

function checksums(block: Uint8Array): { unsigned: number; signed: number } {
  let unsigned = 0;
  let signed = 0;
  const [at, length] = Field.checksum;
  for (let i = 0; i < TAR_BLOCK_BYTES; i++) {
    const byte = i >= at && i < at + length ? 0x20 : block[i]!;
    unsigned += byte;
    signed += byte >= 0x80 ? byte - 0x100 : byte;
  }
  return { unsigned, signed };
}

// ---------------------------------------------------------------------------------------------------------------
// Reader

export type TarEntryType = "file" | "directory" | "symlink" | "hardlink" | "char-device" | "block-device" | "fifo" | "other";

export interface TarEntryHeader {
  /** As found (pax `path`, else a GNU long name, else ustar prefix/name): never normalised or checked. */
  path: string;
  /** Body bytes that follow as data events; a directory has none whatever its size field says, as in GNU tar. */
  size: number;
  type: TarEntryType;
  /** pax `linkpath`, else a GNU long link name, else the ustar linkname; present when not empty. */
  linkName?: string;
  /** Permission bits (07777). */
  mode: number;
}

export type TarEvent =
  | { kind: "entry"; header: TarEntryHeader }
  /** A view into the chunk that was pushed, valid as long as that chunk is: copy it to keep it. */
  | { kind: "data"; bytes: Uint8Array }
  | { kind: "entry-end" }
  | { kind: "end" };

/** Every way an archive can be refused: a fixed set, safe as a metric label. */
export type TarFailureReason = "truncated" | "bad-checksum" | "bad-header" | "bad-pax" | "data-after-end";

/**
 * `offset` is the archive byte where the problem is: the header block for bad-checksum and bad-header, the record
 * (or the 'x' header, when over the cap) for bad-pax, the first stray byte for data-after-end, and for truncated the
 * number of bytes the archive had (where more were needed).
 */
export interface TarFailure {
  ok: false;
  reason: TarFailureReason;
  offset: number;
}

/** What one push produced; on failure, also the events before the failure, so no event depends on chunk size. */
export type TarPushResult = { ok: true; events: TarEvent[] } | (TarFailure & { events: TarEvent[] });

export interface TarReader {
  /** Feeds the next bytes, split anywhere. After a failure every push returns that failure. */
  push(chunk: Uint8Array): TarPushResult;
  /** The input is over: ok only if the end blocks came (and nothing but allowed padding after them). */
  end(): { ok: true } | TarFailure;
}

export interface TarReaderOptions {
  /**
   * Accept zero bytes after the end blocks, as GNU tar pads an archive to its 10240-byte record. Off by default:
   * a bundle (bundles/FORMAT.md) ends at its end blocks.
   */
  allowZeroPadding?: boolean;
}

type Phase =
  | { at: "header" }
  | { at: "body"; remaining: number; padding: number }
  | { at: "skip"; remaining: number }
  | { at: "meta"; kind: "pax" | "long-name" | "long-link"; bytes: Uint8Array; filled: number; padding: number; start: number }
  | { at: "after-end" }
  | { at: "failed"; failure: TarFailure };

/** Overrides collected from 'x', 'L' and 'K' members for the next real member. */
interface Pending {
  path?: string;
  linkName?: string;
  size?: number;
  /** Which kind of meta member is waiting, so end blocks right after one name the right reason. */
  from?: "bad-pax" | "bad-header";
}

/**
 * A pure streaming tar parser: bytes in, events out, no I/O. It holds one header block and at most
 * MAX_TAR_META_BYTES of pax or GNU long-name data; member bodies pass through as views of the pushed chunks.
 * pax global headers ('g') are skipped unread: POSIX lets them set defaults for every later member, but what writers
 * put there (git archive's commit `comment`) never changes a path, and our writer never writes one.
 * GNU sparse members and multi-volume archives are not understood: they come out as what their headers say.
 */
export function createTarReader(options: TarReaderOptions = {}): TarReader {
  const header = new Uint8Array(TAR_BLOCK_BYTES);
  let headerFilled = 0;
  let offset = 0; // archive bytes consumed so far
  let phase: Phase = { at: "header" };
  let pending: Pending = {};
  let zeroBlockAt: number | undefined; // the first end block, when seen

  function fail(reason: TarFailureReason, at: number): TarFailure {
    const failure: TarFailure = { ok: false, reason, offset: at };
    phase = { at: "failed", failure };
    return failure;
  }

  /** Decides what a complete header block means; returns a failure or undefined. */
  function onHeader(events: TarEvent[], at: number): TarFailure | undefined {
    if (header.every((byte) => byte === 0)) {
      if (pending.from) return fail(pending.from, at);
      if (zeroBlockAt === undefined) {
        zeroBlockAt = at;
        return undefined;
      }
      events.push({ kind: "end" });
      phase = { at: "after-end" };
      return undefined;
    }
    // A zero block must be followed by a second one: anything else is not an archive we can trust.
    if (zeroBlockAt !== undefined) return fail("bad-header", zeroBlockAt);

    const stored = parseOctal(header, Field.checksum);
    const sums = checksums(header);
    if (stored === undefined || (stored !== sums.unsigned && stored !== sums.signed)) return fail("bad-checksum", at);

    const magic = ascii(header, Field.magic[0], 8);
    const posix = magic === "ustar\x0000";
    const gnu = magic === "ustar  \0";
    const v7 = header.subarray(Field.magic[0], Field.magic[0] + 8).every((byte) => byte === 0);
    if (!posix && !gnu && !v7) return fail("bad-header", at);

    const fieldSize = parseNumber(header, Field.size);
    const mode = parseNumber(header, Field.mode);
    const name = text(header, Field.name);
    const prefix = posix ? text(header, Field.prefix) : "";
    const linkname = text(header, Field.linkname);
    if (fieldSize === undefined || mode === undefined || name === undefined || prefix === undefined || linkname === undefined) {
      return fail("bad-header", at);
    }
    const typeflag = header[Field.typeflag[0]]!;
    const bodyStart = at + TAR_BLOCK_BYTES;

    if (typeflag === TypeFlag.PaxExtended || typeflag === TypeFlag.GnuLongName || typeflag === TypeFlag.GnuLongLink) {
      const reason = typeflag === TypeFlag.PaxExtended ? "bad-pax" : "bad-header";
      if (fieldSize > MAX_TAR_META_BYTES) return fail(reason, at);
      const kind = typeflag === TypeFlag.PaxExtended ? "pax" : typeflag === TypeFlag.GnuLongName ? "long-name" : "long-link";
      pending.from = reason;
      phase = { at: "meta", kind, bytes: new Uint8Array(fieldSize), filled: 0, padding: paddingBytes(fieldSize), start: bodyStart };
      return fieldSize === 0 ? onMeta(phase) : undefined;
    }
    if (typeflag === TypeFlag.PaxGlobal) {
      phase = { at: "skip", remaining: fieldSize + paddingBytes(fieldSize) };
      return undefined;
    }

    const type = entryType(typeflag);
    const size = type === "directory" ? 0 : (pending.size ?? fieldSize);
    const path = pending.path ?? (prefix ? `${prefix}/${name}` : name);
    const linkName = pending.linkName ?? linkname;
    pending = {};
    const entry: TarEntryHeader = { path, size, type, mode: mode & 0o7777 };
    if (linkName !== "") entry.linkName = linkName;
    events.push({ kind: "entry", header: entry });
    if (size === 0) {
      events.push({ kind: "entry-end" });
      phase = { at: "header" };
    } else {
      phase = { at: "body", remaining: size, padding: paddingBytes(size) };
    }
    return undefined;
  }

  /** A meta member's data is complete: fold it into the pending overrides. */
  function onMeta(meta: Extract<Phase, { at: "meta" }>): TarFailure | undefined {
    phase = meta.padding > 0 ? { at: "skip", remaining: meta.padding } : { at: "header" };
    if (meta.kind === "pax") {
      const parsed = parsePaxRecords(meta.bytes);
      if (!parsed.ok) return fail("bad-pax", meta.start + parsed.offset);
      for (const [key, value] of parsed.records) {
        // An empty value removes the keyword (POSIX): the ustar field counts again.
        if (key === "path") pending.path = value || undefined;
        else if (key === "linkpath") pending.linkName = value || undefined;
        else if (key === "size") {
          if (value === "") pending.size = undefined;
          else if (/^[0-9]{1,16}$/.test(value) && Number.isSafeInteger(Number(value))) pending.size = Number(value);
          else return fail("bad-pax", meta.start + parsed.offsets.get(key)!);
        }
      }
      return undefined;
    }
    const end = meta.bytes.indexOf(0);
    const value = decodeUtf8(end === -1 ? meta.bytes : meta.bytes.subarray(0, end));
    if (value === undefined) return fail("bad-header", meta.start);
    if (meta.kind === "long-name") pending.path = value;
    else pending.linkName = value;
    return undefined;
  }

  function push(chunk: Uint8Array): TarPushResult {
    const events: TarEvent[] = [];
    let p = 0;
    while (p < chunk.length) {
      if (phase.at === "failed") return { ...phase.failure, events };
      if (phase.at === "header") {
        const n = Math.min(TAR_BLOCK_BYTES - headerFilled, chunk.length - p);
        header.set(chunk.subarray(p, p + n), headerFilled);
        headerFilled += n;
        p += n;
        offset += n;
        if (headerFilled < TAR_BLOCK_BYTES) continue;
        headerFilled = 0;
        const failure = onHeader(events, offset - TAR_BLOCK_BYTES);
        if (failure) return { ...failure, events };
      } else if (phase.at === "body") {
        const n = Math.min(phase.remaining, chunk.length - p);
        events.push({ kind: "data", bytes: chunk.subarray(p, p + n) });
        phase.remaining -= n;
        p += n;
        offset += n;
        if (phase.remaining === 0) {
          events.push({ kind: "entry-end" });
          phase = phase.padding > 0 ? { at: "skip", remaining: phase.padding } : { at: "header" };
        }
      } else if (phase.at === "skip") {
        const n = Math.min(phase.remaining, chunk.length - p);
        phase.remaining -= n;
        p += n;
        offset += n;
        if (phase.remaining === 0) phase = { at: "header" };
      } else if (phase.at === "meta") {
        const n = Math.min(phase.bytes.length - phase.filled, chunk.length - p);
        phase.bytes.set(chunk.subarray(p, p + n), phase.filled);
        phase.filled += n;
        p += n;
        offset += n;
        if (phase.filled === phase.bytes.length) {
          const failure = onMeta(phase);
          if (failure) return { ...failure, events };
        }
      } else {
        const stray = options.allowZeroPadding ? chunk.subarray(p).findIndex((byte) => byte !== 0) : 0;
        if (stray !== -1) return { ...fail("data-after-end", offset + stray), events };
        offset += chunk.length - p;
        p = chunk.length;
      }
    }
    if (phase.at === "failed") return { ...phase.failure, events };
    return { ok: true, events };
  }

  function end(): { ok: true } | TarFailure {
    if (phase.at === "failed") return phase.failure;
    if (phase.at === "after-end") return { ok: true };
    return fail("truncated", offset);
  }

  return { push, end };
}

function entryType(typeflag: number): TarEntryType {
  switch (typeflag) {
    case TypeFlag.File:
    case TypeFlag.OldFile:
    case TypeFlag.Contiguous:
      return "file";
    case TypeFlag.HardLink:
      return "hardlink";
    case TypeFlag.Symlink:
      return "symlink";
    case TypeFlag.CharDevice:
      return "char-device";
    case TypeFlag.BlockDevice:
      return "block-device";
    case TypeFlag.Directory:
      return "directory";
    case TypeFlag.Fifo:
      return "fifo";
    default:
      return "other";
  }
}

function ascii(block: Uint8Array, at: number, length: number): string {
  return String.fromCharCode(...block.subarray(at, at + length));
}

function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** A NUL-terminated (or full-width) text field; undefined when it is not UTF-8, which a path must be here. */
function text(block: Uint8Array, [at, length]: readonly [number, number]): string | undefined {
  const field = block.subarray(at, at + length);
  const end = field.indexOf(0);
  return decodeUtf8(end === -1 ? field : field.subarray(0, end));
}

/**
 * A numeric field: octal ASCII, optionally led by spaces and ended by NUL or space (an all-NUL field reads 0, as
 * old writers leave unused fields empty); or GNU base-256, a first byte with the top bit set followed by big-endian
 * two's complement. Negative and unsafe values are refused.
 */
function parseNumber(block: Uint8Array, field: readonly [number, number]): number | undefined {
  const [at, length] = field;
  const first = block[at]!;
  if ((first & 0x80) === 0) return parseOctal(block, field);
  if (first & 0x40) return undefined; // negative
  let value = first & 0x3f;
  for (let i = 1; i < length; i++) {
    value = value * 256 + block[at + i]!;
    if (value > Number.MAX_SAFE_INTEGER) return undefined;
  }
  return value;
}

function parseOctal(block: Uint8Array, [at, length]: readonly [number, number]): number | undefined {
  let i = at;
  const end = at + length;
  while (i < end && block[i] === 0x20) i++;
  let value = 0;
  let digits = 0;
  for (; i < end && block[i]! >= 0x30 && block[i]! <= 0x37; i++, digits++) value = value * 8 + (block[i]! - 0x30);
  for (; i < end; i++) if (block[i] !== 0 && block[i] !== 0x20) return undefined;
  if (digits === 0 && block.subarray(at, end).some((byte) => byte !== 0)) return undefined;
  return value;
}

type PaxParse =
  | { ok: true; records: Map<string, string>; offsets: Map<string, number> }
  | { ok: false; offset: number };

/** "%d %s=%s\n" records, each length counting the whole record; a later record for a key wins. */
function parsePaxRecords(bytes: Uint8Array): PaxParse {
  const records = new Map<string, string>();
  const offsets = new Map<string, number>();
  let p = 0;
  while (p < bytes.length) {
    let q = p;
    let length = 0;
    while (q < bytes.length && bytes[q]! >= 0x30 && bytes[q]! <= 0x39 && q - p < 8) length = length * 10 + (bytes[q++]! - 0x30);
    if (q === p || bytes[q] !== 0x20 || length <= q - p + 1 || p + length > bytes.length) return { ok: false, offset: p };
    const record = bytes.subarray(q + 1, p + length);
    const equals = record.indexOf(0x3d);
    if (record[record.length - 1] !== 0x0a || equals <= 0) return { ok: false, offset: p };
    const key = decodeUtf8(record.subarray(0, equals));
    const value = decodeUtf8(record.subarray(equals + 1, record.length - 1));
    if (key === undefined || value === undefined) return { ok: false, offset: p };
    records.set(key, value);
    offsets.set(key, p);
    p += length;
  }
  return { ok: true, records, offsets };
}
