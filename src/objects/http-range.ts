// Which bytes of a representation a Range header asks for (RFC 9110 §14), and the framing of the 206 that sends them.
// Pure: the server streams file slices between the framing pieces this returns, so no range is ever copied in memory.

/** Inclusive byte positions, as Content-Range writes them (RFC 9110 §14.4). */
export interface ByteRange {
  start: number;
  end: number;
}

/** Why a Range header, if any, leads to the whole representation with a 200. */
export type WholeReason =
  /** No Range header at all. */
  | "absent"
  /** A range unit other than bytes: RFC 9110 §14.2 says to ignore it. */
  | "other-unit"
  /** Not a valid ranges-specifier: ignored as well (§14.2), where nginx answers 416. */
  | "invalid"
  /** More satisfiable ranges than MAX_RANGES: §14.2 lets a server ignore such a request, nginx's max_ranges does so. */
  | "too-many"
  /** The ranges add up to more than the representation (overlaps): nginx sends it whole rather than repeat bytes. */
  | "exceeds-size"
  /**
   * A zero-length representation asked for from its start (`-N`, `0-`): no Content-Range can describe a part of
   * it, so it is sent (empty) whole. RFC 9110 §14.1.3 would make `0-` a 416; nginx sends the 200, and so do we,
   * since players that always send `bytes=0-` should get the empty file, not an error (§14.2 lets us ignore Range).
   */
  | "empty";

export type RangeDecision =
  | { kind: "whole"; reason: WholeReason }
  /** 206; one range is sent as a single part, several as multipart/byteranges (§14.6 forbids multipart for one). */
  | { kind: "partial"; ranges: ByteRange[] }
  /** 416 with `Content-Range: bytes *\/size` (§15.5.17). */
  | { kind: "unsatisfiable" };

/**
 * How many satisfiable ranges one request may ask for. §14.2 lets a server ignore "many small ranges"; a boot
 * client asks for one, download managers for a few. Over the cap the whole representation is sent, as nginx
 * does once `max_ranges` is exceeded.
 */
export const MAX_RANGES = 16;

// ranges-specifier = range-unit "=" range-set; range-set = 1#range-spec (RFC 9110 §14.1.1).
// int-range = first-pos "-" [ last-pos ]; suffix-range = "-" suffix-length; all DIGITs.
const SPEC = /^(?:(\d+)-(\d*)|-(\d+))$/;
// OWS = *( SP / HTAB ) (§5.6.3), around each list element.
const OWS = /^[ \t]+|[ \t]+$/g;

/**
 * What to send for a GET of a representation of `sizeBytes` bytes given its Range header (null when absent).
 * Satisfiable ranges come back clamped to the representation and coalesced where they overlap or touch
 * (§14.2 allows it; it keeps a multipart response from sending the same bytes twice), in the order the client
 * first asked for them (§14.6).
 */
export function parseRange(header: string | null, sizeBytes: number): RangeDecision {
  if (header === null) return { kind: "whole", reason: "absent" };
  const eq = header.indexOf("=");
  // Range unit names are case-insensitive (§14.1); anything but bytes is a unit we do not support.
  if (eq < 0 || header.slice(0, eq).trim().toLowerCase() !== "bytes") {
    return { kind: "whole", reason: eq < 0 ? "invalid" : "other-unit" };
  }
  const size = BigInt(sizeBytes);
  const wanted: ByteRange[] = [];
  let total = 0n;
  let specs = 0;
  // The #list rule (§5.6.1.2): elements separated by commas with optional whitespace; empty ones are ignored.
  for (const element of header.slice(eq + 1).split(",")) {
    const spec = element.replace(OWS, "");
    if (spec === "") continue;
    const m = SPEC.exec(spec);
    if (!m) return { kind: "whole", reason: "invalid" };
    specs++;
    // BigInt, so a 30-digit position is compared exactly rather than rounded.
    let start: bigint;
    let end: bigint;
    if (m[3] !== undefined) {
      // A suffix-range is satisfiable when its length is non-zero (§14.1.3); longer than the whole means all of it.
      const length = BigInt(m[3]);
      if (length === 0n) continue;
      if (size === 0n) return { kind: "whole", reason: "empty" };
      start = length >= size ? 0n : size - length;
      end = size - 1n;
    } else {
      start = BigInt(m[1] as string);
      const last = m[2] === "" ? null : BigInt(m[2] as string);
      // A last-pos below the first-pos makes the whole ranges-specifier invalid (§14.1.1), not just this range.
      if (last !== null && last < start) return { kind: "whole", reason: "invalid" };
      if (size === 0n && start === 0n) return { kind: "whole", reason: "empty" };
      // An int-range is satisfiable when its first-pos lies inside the representation (§14.1.3).
      if (start >= size) continue;
      end = last === null || last >= size ? size - 1n : last;
    }
    if (wanted.length === MAX_RANGES) return { kind: "whole", reason: "too-many" };
    wanted.push({ start: Number(start), end: Number(end) });
    total += end - start + 1n;
  }
  if (specs === 0) return { kind: "whole", reason: "invalid" };
  if (wanted.length === 0) return { kind: "unsatisfiable" };
  if (total > size) return { kind: "whole", reason: "exceeds-size" };
  return { kind: "partial", ranges: coalesce(wanted) };
}

/** Merges ranges that overlap or touch; each merged range takes the place of the first one asked for within it. */
function coalesce(ranges: ByteRange[]): ByteRange[] {
  const order = ranges.map((r, index) => ({ ...r, index })).sort((a, b) => a.start - b.start);
  const merged: { start: number; end: number; index: number }[] = [];
  for (const r of order) {
    const last = merged.at(-1);
    if (last && r.start <= last.end + 1) {
      last.end = Math.max(last.end, r.end);
      last.index = Math.min(last.index, r.index);
    } else {
      merged.push({ ...r });
    }
  }
  return merged.sort((a, b) => a.index - b.index).map(({ start, end }) => ({ start, end }));
}

/** The Content-Range of one part of a 206 (RFC 9110 §14.4). */
export function contentRange(range: ByteRange, sizeBytes: number): string {
  return `bytes ${range.start}-${range.end}/${sizeBytes}`;
}

/** The Content-Range of a 416: no range, only the current length (RFC 9110 §14.4, §15.5.17). */
export function unsatisfiedRange(sizeBytes: number): string {
  return `bytes */${sizeBytes}`;
}

/** One part of a multipart/byteranges body: its header bytes, then the file slice `range` (inclusive). */
export interface MultipartPart {
  head: Uint8Array;
  range: ByteRange;
}

export interface MultipartFraming {
  /** The response's Content-Type, naming the boundary. */
  contentType: string;
  parts: MultipartPart[];
  /** The close-delimiter that ends the body. */
  tail: Uint8Array;
  /** Every head, slice and the tail together: the response's Content-Length. */
  contentLength: number;
}

// bchars of RFC 2046 §5.1.1 less the space (which would need quoting in the Content-Type), 1 to 70 of them.
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=?]{1,70}$/;

/**
 * The body of a multipart/byteranges 206 (RFC 9110 §14.6) for `ranges` of a `sizeBytes` representation of
 * `contentType`. Each part is `--boundary`, its Content-Type and Content-Range, a blank line and the bytes; parts
 * after the first start with the CRLF that belongs to their delimiter (RFC 2046 §5.1.1), the body ends with
 * `--boundary--`. `boundary` comes from the caller (random per response) so this stays deterministic.
 */
export function frameMultipart(boundary: string, contentType: string, sizeBytes: number, ranges: ByteRange[]): MultipartFraming {
  if (!BOUNDARY.test(boundary)) throw new Error(`not a multipart boundary: ${JSON.stringify(boundary)}`);
  const encoder = new TextEncoder();
  const parts = ranges.map((range, i) => ({
    head: encoder.encode(
      `${i === 0 ? "" : "\r\n"}--${boundary}\r\nContent-Type: ${contentType}\r\nContent-Range: ${contentRange(range, sizeBytes)}\r\n\r\n`,
    ),
    range,
  }));
  const tail = encoder.encode(`\r\n--${boundary}--\r\n`);
  const contentLength = parts.reduce((n, p) => n + p.head.length + (p.range.end - p.range.start + 1), tail.length);
  return { contentType: `multipart/byteranges; boundary=${boundary}`, parts, tail, contentLength };
}
