// What each combination of If-* headers gets (RFC 9110 §13), and the HTTP-dates and ETags they compare.
import { describe, expect, test } from "bun:test";
import {
  type Conditions,
  etagOf,
  evaluatePreconditions,
  httpDate,
  matchesAny,
  type Precondition,
  parseHttpDate,
  planRead,
  type ReadPlan,
} from "../../src/objects/conditional.ts";

const SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const ETAG = etagOf(SHA);
const OTHER = '"0000"';
// Sun, 06 Nov 1994 08:49:37 GMT, the RFC's own example; the object was written half a second into it.
const MODIFIED_MS = Date.UTC(1994, 10, 6, 8, 49, 37, 500);
const AT = "Sun, 06 Nov 1994 08:49:37 GMT";
const BEFORE = "Sun, 06 Nov 1994 08:49:36 GMT";
const AFTER = "Sun, 06 Nov 1994 08:49:38 GMT";
const NOW_MS = Date.UTC(2026, 10, 25, 12, 0, 0);
const current = { etag: ETAG, lastModifiedMs: MODIFIED_MS };
const none: Conditions = { ifMatch: null, ifNoneMatch: null, ifModifiedSince: null, ifUnmodifiedSince: null, ifRange: null, range: null };

describe("evaluatePreconditions", () => {
  test.each<[string, string, Partial<Conditions>, Precondition]>([
    ["no conditions", "GET", {}, "proceed"],
    // If-Match (§13.1.1): strong comparison.
    ["If-Match the ETag", "PUT", { ifMatch: ETAG }, "proceed"],
    ["If-Match *", "PUT", { ifMatch: "*" }, "proceed"],
    ["If-Match in a list", "DELETE", { ifMatch: `${OTHER}, ${ETAG}` }, "proceed"],
    ["If-Match another ETag", "PUT", { ifMatch: OTHER }, "precondition-failed"],
    ["If-Match the weak form never matches", "GET", { ifMatch: `W/${ETAG}` }, "precondition-failed"],
    ["If-Match that does not parse", "PUT", { ifMatch: SHA }, "precondition-failed"],
    // If-Unmodified-Since (§13.1.4): seconds, Last-Modified truncated.
    ["If-Unmodified-Since the same second", "PUT", { ifUnmodifiedSince: AT }, "proceed"],
    ["If-Unmodified-Since later", "PUT", { ifUnmodifiedSince: AFTER }, "proceed"],
    ["If-Unmodified-Since earlier", "PUT", { ifUnmodifiedSince: BEFORE }, "precondition-failed"],
    ["If-Unmodified-Since not a date is ignored", "PUT", { ifUnmodifiedSince: "yesterday" }, "proceed"],
    ["If-Unmodified-Since a list of dates is ignored", "PUT", { ifUnmodifiedSince: `${BEFORE}, ${AT}` }, "proceed"],
    ["If-Unmodified-Since ignored beside If-Match (step 1)", "PUT", { ifMatch: ETAG, ifUnmodifiedSince: BEFORE }, "proceed"],
    // If-None-Match (§13.1.2): weak comparison.
    ["If-None-Match the ETag on GET", "GET", { ifNoneMatch: ETAG }, "not-modified"],
    ["If-None-Match the ETag on HEAD", "HEAD", { ifNoneMatch: ETAG }, "not-modified"],
    ["If-None-Match the weak form", "GET", { ifNoneMatch: `W/${ETAG}` }, "not-modified"],
    ["If-None-Match in a list", "GET", { ifNoneMatch: `${OTHER},W/"x", ${ETAG}` }, "not-modified"],
    ["If-None-Match * on GET", "GET", { ifNoneMatch: "*" }, "not-modified"],
    ["If-None-Match * on PUT", "PUT", { ifNoneMatch: "*" }, "precondition-failed"],
    ["If-None-Match the ETag on DELETE", "DELETE", { ifNoneMatch: ETAG }, "precondition-failed"],
    ["If-None-Match another ETag", "GET", { ifNoneMatch: OTHER }, "proceed"],
    ["If-None-Match that does not parse", "GET", { ifNoneMatch: SHA }, "proceed"],
    // If-Modified-Since (§13.1.3): GET and HEAD only.
    ["If-Modified-Since the same second", "GET", { ifModifiedSince: AT }, "not-modified"],
    ["If-Modified-Since later", "HEAD", { ifModifiedSince: AFTER }, "not-modified"],
    ["If-Modified-Since earlier", "GET", { ifModifiedSince: BEFORE }, "proceed"],
    ["If-Modified-Since as rfc850-date", "GET", { ifModifiedSince: "Sunday, 06-Nov-94 08:49:37 GMT" }, "not-modified"],
    ["If-Modified-Since as asctime-date", "GET", { ifModifiedSince: "Sun Nov  6 08:49:37 1994" }, "not-modified"],
    ["If-Modified-Since not a date is ignored", "GET", { ifModifiedSince: "06/11/1994" }, "proceed"],
    ["If-Modified-Since on PUT is ignored", "PUT", { ifModifiedSince: AFTER }, "proceed"],
    ["If-Modified-Since ignored beside If-None-Match (step 3)", "GET", { ifNoneMatch: OTHER, ifModifiedSince: AFTER }, "proceed"],
    ["If-None-Match decides, not a stale If-Modified-Since", "GET", { ifNoneMatch: ETAG, ifModifiedSince: BEFORE }, "not-modified"],
    // Precedence (§13.2.2): a 412 beats a 304, a 304 beats If-Range.
    ["If-Match fails before If-None-Match is asked", "GET", { ifMatch: OTHER, ifNoneMatch: ETAG }, "precondition-failed"],
    ["If-Unmodified-Since fails before If-Modified-Since", "GET", { ifUnmodifiedSince: BEFORE, ifModifiedSince: AFTER }, "precondition-failed"],
    ["304 before If-Range", "GET", { ifNoneMatch: ETAG, range: "bytes=0-9", ifRange: OTHER }, "not-modified"],
    // If-Range (§13.1.5).
    ["If-Range the ETag", "GET", { range: "bytes=0-9", ifRange: ETAG }, "proceed"],
    ["If-Range another ETag", "GET", { range: "bytes=0-9", ifRange: OTHER }, "ignore-range"],
    ["If-Range a weak ETag", "GET", { range: "bytes=0-9", ifRange: `W/${ETAG}` }, "ignore-range"],
    ["If-Range the Last-Modified date", "GET", { range: "bytes=0-9", ifRange: AT }, "proceed"],
    ["If-Range a later date", "GET", { range: "bytes=0-9", ifRange: AFTER }, "ignore-range"],
    ["If-Range an earlier date", "GET", { range: "bytes=0-9", ifRange: BEFORE }, "ignore-range"],
    ["If-Range neither", "GET", { range: "bytes=0-9", ifRange: "soon" }, "ignore-range"],
    ["If-Range without a Range is ignored", "GET", { ifRange: OTHER }, "proceed"],
    ["If-Range on HEAD is ignored (Range is GET-only)", "HEAD", { range: "bytes=0-9", ifRange: OTHER }, "proceed"],
  ])("%s", (_name, method, given, expected) => {
    expect(evaluatePreconditions(method, { ...none, ...given }, current, NOW_MS)).toBe(expected);
  });

  test.each<[string, Partial<Conditions>, number, Precondition]>([
    ["If-Range a date while Last-Modified's second is still running is weak (§8.8.2.2)", { range: "bytes=0-9", ifRange: AT }, MODIFIED_MS + 100, "ignore-range"],
    ["If-Range the date once the second is over", { range: "bytes=0-9", ifRange: AT }, MODIFIED_MS + 500, "proceed"],
  ])("%s", (_name, given, nowMs, expected) => {
    expect(evaluatePreconditions("GET", { ...none, ...given }, current, nowMs)).toBe(expected);
  });

  test.each<[string, Partial<Conditions>, Precondition]>([
    ["If-Modified-Since", { ifModifiedSince: AFTER }, "proceed"],
    ["If-Unmodified-Since", { ifUnmodifiedSince: BEFORE }, "proceed"],
    ["If-Range a date", { range: "bytes=0-9", ifRange: AT }, "ignore-range"],
  ])("without a modification time, %s is ignored", (_name, given, expected) => {
    expect(evaluatePreconditions("GET", { ...none, ...given }, { etag: ETAG, lastModifiedMs: null }, NOW_MS)).toBe(expected);
  });
});

describe("planRead", () => {
  test.each<[string, "GET" | "HEAD", Partial<Conditions>, ReadPlan]>([
    ["plain GET", "GET", {}, { status: 200 }],
    ["GET of a range", "GET", { range: "bytes=0-9" }, { status: 206, ranges: [{ start: 0, end: 9 }] }],
    ["GET of two ranges", "GET", { range: "bytes=0-9,-10" }, { status: 206, ranges: [{ start: 0, end: 9 }, { start: 990, end: 999 }] }],
    ["GET past the end", "GET", { range: "bytes=1000-" }, { status: 416 }],
    ["GET with an invalid Range", "GET", { range: "bytes=9-0" }, { status: 200 }],
    ["HEAD ignores Range (§14.2)", "HEAD", { range: "bytes=0-9" }, { status: 200 }],
    ["HEAD past the end is still a 200", "HEAD", { range: "bytes=1000-" }, { status: 200 }],
    ["If-Range failing sends it whole", "GET", { range: "bytes=0-9", ifRange: OTHER }, { status: 200 }],
    ["If-Range failing beats a 416", "GET", { range: "bytes=1000-", ifRange: OTHER }, { status: 200 }],
    ["a 304 beats the Range", "GET", { range: "bytes=0-9", ifNoneMatch: ETAG }, { status: 304 }],
    ["a 412 beats the Range", "GET", { range: "bytes=0-9", ifMatch: OTHER }, { status: 412 }],
    ["a 304 on HEAD", "HEAD", { ifModifiedSince: AT }, { status: 304 }],
  ])("%s", (_name, method, given, expected) => {
    expect(planRead(method, { ...none, ...given }, current, 1000, NOW_MS)).toEqual(expected);
  });
});

describe("matchesAny", () => {
  test.each<[string, string, string, "strong" | "weak", boolean]>([
    ["strong, both strong", '"a"', '"a"', "strong", true],
    ["strong, request weak", 'W/"a"', '"a"', "strong", false],
    ["strong, ours weak", '"a"', 'W/"a"', "strong", false],
    ["weak, request weak", 'W/"a"', '"a"', "weak", true],
    ["weak, both weak", 'W/"a"', 'W/"a"', "weak", true],
    ["different opaque tags", '"a"', '"b"', "weak", false],
    ["quotes are part of the tag", "a", '"a"', "weak", false],
    ["lowercase w/ is not weak", 'w/"a"', '"a"', "weak", false],
    ["a comma inside a tag (etagc allows it)", '"x", "a,b"', '"a,b"', "strong", true],
    ["empty list elements", ', ,"x",,"a" ,', '"a"', "strong", true],
    ["tags without a separator", '"x""a"', '"a"', "weak", false],
    ["junk after a tag", '"a" junk', '"a"', "weak", false],
  ])("%s", (_name, value, etag, comparison, expected) => {
    expect(matchesAny(value, etag, comparison)).toBe(expected);
  });
});

describe("parseHttpDate", () => {
  const ms = Date.UTC(1994, 10, 6, 8, 49, 37);
  test.each<[string, string, number | null]>([
    ["IMF-fixdate", "Sun, 06 Nov 1994 08:49:37 GMT", ms],
    ["rfc850-date", "Sunday, 06-Nov-94 08:49:37 GMT", ms],
    ["asctime-date", "Sun Nov  6 08:49:37 1994", ms],
    ["asctime-date, two-digit day", "Sun Nov 16 08:49:37 1994", Date.UTC(1994, 10, 16, 8, 49, 37)],
    ["rfc850 year within 50 years ahead", "Thursday, 01-Jan-70 00:00:00 GMT", Date.UTC(2070, 0, 1)],
    ["rfc850 year over 50 years ahead is the past one", "Monday, 01-Jan-80 00:00:00 GMT", Date.UTC(1980, 0, 1)],
    ["leap second", "Wed, 31 Dec 2008 23:59:60 GMT", Date.UTC(2008, 11, 31, 23, 59, 59)],
    ["29 Feb in a leap year", "Thu, 29 Feb 2024 00:00:00 GMT", Date.UTC(2024, 1, 29)],
    ["29 Feb in another year", "Wed, 29 Feb 2023 00:00:00 GMT", null],
    ["31 Nov", "Sun, 31 Nov 1994 08:49:37 GMT", null],
    ["hour 24", "Sun, 06 Nov 1994 24:00:00 GMT", null],
    ["not GMT", "Sun, 06 Nov 1994 08:49:37 UTC", null],
    ["case-sensitive (§5.6.7)", "sun, 06 nov 1994 08:49:37 gmt", null],
    ["one-digit day in IMF-fixdate", "Sun, 6 Nov 1994 08:49:37 GMT", null],
    ["ISO 8601", "1994-11-06T08:49:37Z", null],
    ["a number", "784111777", null],
    ["empty", "", null],
  ])("%s", (_name, value, expected) => {
    expect(parseHttpDate(value, NOW_MS)).toBe(expected);
  });
});

describe("validators", () => {
  test.each<[string, string, string]>([
    ["etagOf is the sha256, quoted and strong", etagOf(SHA), `"${SHA}"`],
    ["httpDate is an IMF-fixdate, ms dropped", httpDate(MODIFIED_MS), AT],
    ["httpDate pads the day", httpDate(Date.UTC(2026, 0, 5, 1, 2, 3)), "Mon, 05 Jan 2026 01:02:03 GMT"],
  ])("%s", (_name, actual, expected) => {
    expect(actual).toBe(expected);
  });
});
