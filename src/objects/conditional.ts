// Conditional requests on an object: If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since and If-Range
// (RFC 9110 §13), their precedence, the validators (ETag, HTTP-date) they compare, and with the Range weighed in, the
// status a GET or HEAD of an object gets. Pure.
import { type ByteRange, parseRange } from "./http-range.ts";

/** The representation's validators: its ETag as sent, and its modification time in ms (null when unknown). */
export interface Validators {
  etag: string;
  lastModifiedMs: number | null;
}

/** The request's conditional header fields and its Range, each null when absent. */
export interface Conditions {
  ifMatch: string | null;
  ifNoneMatch: string | null;
  ifModifiedSince: string | null;
  ifUnmodifiedSince: string | null;
  ifRange: string | null;
  range: string | null;
}

/**
 * What to do: `proceed` (honour the Range, if any), `ignore-range` (If-Range failed: send the whole 200, §13.1.5),
 * `not-modified` (304) or `precondition-failed` (412).
 */
export type Precondition = "proceed" | "ignore-range" | "not-modified" | "precondition-failed";

/**
 * Evaluates the preconditions of a request for `method` in the order of RFC 9110 §13.2.2: If-Match, else
 * If-Unmodified-Since; If-None-Match, else (GET and HEAD only) If-Modified-Since; then If-Range (GET with a Range
 * only). `nowMs` dates two-digit rfc850 years and tells whether Last-Modified is strong yet (§8.8.2.2).
 */
export function evaluatePreconditions(method: string, given: Conditions, current: Validators, nowMs: number): Precondition {
  const readOnly = method === "GET" || method === "HEAD";
  const modifiedSec = current.lastModifiedMs === null ? null : Math.floor(current.lastModifiedMs / 1000);
  // Step 1: If-Match uses the strong comparison (§13.1.1); `*` matches any current representation, which we have.
  if (given.ifMatch !== null) {
    if (!matchesAny(given.ifMatch, current.etag, "strong")) return "precondition-failed";
  } else if (given.ifUnmodifiedSince !== null && modifiedSec !== null) {
    // Step 2: only without If-Match, and an invalid date is ignored (§13.1.4).
    const since = parseHttpDate(given.ifUnmodifiedSince, nowMs);
    if (since !== null && modifiedSec > since / 1000) return "precondition-failed";
  }
  // Step 3: If-None-Match uses the weak comparison (§13.1.2); a match is a 304 for GET/HEAD, a 412 otherwise.
  if (given.ifNoneMatch !== null) {
    if (matchesAny(given.ifNoneMatch, current.etag, "weak")) return readOnly ? "not-modified" : "precondition-failed";
  } else if (readOnly && given.ifModifiedSince !== null && modifiedSec !== null) {
    // Step 4: only without If-None-Match, only for GET/HEAD, an invalid date ignored (§13.1.3).
    const since = parseHttpDate(given.ifModifiedSince, nowMs);
    if (since !== null && modifiedSec <= since / 1000) return "not-modified";
  }
  // Step 5: If-Range is ignored without a Range (§13.1.5), and Range itself only applies to GET (§14.2).
  if (method === "GET" && given.range !== null && given.ifRange !== null) {
    if (!ifRangeHolds(given.ifRange, current, modifiedSec, nowMs)) return "ignore-range";
  }
  return "proceed";
}

/** The status of the answer to a GET or HEAD of an object, with the ranges a 206 sends. */
export type ReadPlan = { status: 200 | 304 | 412 | 416 } | { status: 206; ranges: ByteRange[] };

/**
 * What a GET or HEAD of a `sizeBytes` object gets: preconditions first (§13.2.2), then its Range, which is defined
 * for GET only (§14.2; nginx answers HEAD with a 206 too, goosed sends HEAD the 200's header fields).
 */
export function planRead(method: "GET" | "HEAD", given: Conditions, current: Validators, sizeBytes: number, nowMs: number): ReadPlan {
  const precondition = evaluatePreconditions(method, given, current, nowMs);
  if (precondition === "not-modified") return { status: 304 };
  if (precondition === "precondition-failed") return { status: 412 };
  if (method !== "GET" || precondition === "ignore-range") return { status: 200 };
  const decision = parseRange(given.range, sizeBytes);
  if (decision.kind === "whole") return { status: 200 };
  if (decision.kind === "unsatisfiable") return { status: 416 };
  return { status: 206, ranges: decision.ranges };
}

/**
 * §13.1.5: an entity-tag must match strongly (a weak one never does); an HTTP-date must equal Last-Modified exactly,
 * and Last-Modified counts as a strong validator only once its second is over (§8.8.2.2), since the artifact's name
 * could be pointed at another object within that second. Anything else is false.
 */
function ifRangeHolds(value: string, current: Validators, modifiedSec: number | null, nowMs: number): boolean {
  const trimmed = value.trim();
  if (trimmed.startsWith('"') || trimmed.startsWith("W/")) return matchesAny(trimmed, current.etag, "strong");
  const date = parseHttpDate(trimmed, nowMs);
  return date !== null && modifiedSec !== null && date / 1000 === modifiedSec && modifiedSec < Math.floor(nowMs / 1000);
}

// entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE; etagc = %x21 / %x23-7E / obs-text (RFC 9110 §8.8.3). etagc includes
// the comma, so a list is read tag by tag, never split on commas.
const ENTITY_TAG = /^(W\/)?("[\x21\x23-\x7e\x80-\xff]*")$/;
const LIST_ELEMENT = /[ \t]*(?:,[ \t]*)*(?:(W\/)?("[\x21\x23-\x7e\x80-\xff]*")[ \t]*(?:,|$))?/y;

/**
 * Whether `value` (`*` or a #list of entity-tags) matches `etag` (§8.8.3.2): strong comparison needs both tags strong
 * and the opaque-tags equal, weak comparison only the opaque-tags. A list that does not parse matches nothing, so a
 * garbled If-Match fails safe (412) and a garbled If-None-Match sends the representation.
 */
export function matchesAny(value: string, etag: string, comparison: "strong" | "weak"): boolean {
  if (value.trim() === "*") return true;
  const ours = ENTITY_TAG.exec(etag);
  if (!ours) return false;
  const tags: { weak: boolean; opaque: string }[] = [];
  LIST_ELEMENT.lastIndex = 0;
  while (LIST_ELEMENT.lastIndex < value.length) {
    const m = LIST_ELEMENT.exec(value);
    if (!m) return false;
    // Only separators and whitespace left: the end of the list (§5.6.1.2 allows empty elements).
    if (m[2] === undefined) {
      if (LIST_ELEMENT.lastIndex < value.length) return false;
      break;
    }
    tags.push({ weak: m[1] !== undefined, opaque: m[2] });
  }
  return tags.some((t) => t.opaque === ours[2] && (comparison === "weak" || (!t.weak && !ours[1])));
}

/** The strong ETag of a content-addressed object: its sha256 names its bytes exactly, so it is never weak (§8.8.3). */
export function etagOf(sha256Hex: string): string {
  return `"${sha256Hex}"`;
}

/** An IMF-fixdate (RFC 9110 §5.6.7), the only form a sender may generate; `toUTCString` writes exactly that form. */
export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)";
const LONG_DAY = "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)";
const MONTH = `(${MONTHS.join("|")})`;
const TIME = "(\\d{2}):(\\d{2}):(\\d{2})";
// The three forms a recipient must accept (§5.6.7); HTTP-date is case-sensitive.
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
const RFC850_DATE = new RegExp(`^${LONG_DAY}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
const ASCTIME_DATE = new RegExp(`^${DAY} ${MONTH} ( \\d|\\d{2}) ${TIME} (\\d{4})$`);

/**
 * An HTTP-date in any of its three forms (IMF-fixdate, rfc850-date, asctime-date) as ms since the epoch, or null.
 * A two-digit rfc850 year more than 50 years ahead of `nowMs` is the latest past year with those digits (§5.6.7).
 */
export function parseHttpDate(value: string, nowMs: number): number | null {
  const text = value.trim();
  let m = IMF_FIXDATE.exec(text);
  if (m) return utc(Number(m[3]), m[2] as string, Number(m[1]), m[4], m[5], m[6]);
  m = RFC850_DATE.exec(text);
  if (m) {
    const nowYear = new Date(nowMs).getUTCFullYear();
    let year = nowYear - (nowYear % 100) + Number(m[3]);
    if (year > nowYear + 50) year -= 100;
    return utc(year, m[2] as string, Number(m[1]), m[4], m[5], m[6]);
  }
  m = ASCTIME_DATE.exec(text);
  if (m) return utc(Number(m[6]), m[1] as string, Number((m[2] as string).trim()), m[3], m[4], m[5]);
  return null;
}

/** The instant, or null when a field is out of range (31 Feb, 25:00); second 60 is a leap second (RFC 5322 §3.3). */
function utc(year: number, month: string, day: number, hh?: string, mm?: string, ss?: string): number | null {
  const [hour, minute, second] = [Number(hh), Number(mm), Number(ss)];
  const monthIndex = MONTHS.indexOf(month);
  if (hour > 23 || minute > 59 || second > 60 || day < 1) return null;
  const ms = Date.UTC(year, monthIndex, day, hour, minute, Math.min(second, 59));
  // Date.UTC rolls 31 Feb over into March; a date that does not come back unchanged did not exist.
  const back = new Date(ms);
  if (back.getUTCFullYear() !== year || back.getUTCMonth() !== monthIndex || back.getUTCDate() !== day) return null;
  return ms;
}
