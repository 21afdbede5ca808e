// Which bytes each Range header gets (RFC 9110 §14), and the exact multipart/byteranges framing around them.
import { describe, expect, test } from "bun:test";
import {
  type ByteRange,
  contentRange,
  frameMultipart,
  MAX_RANGES,
  parseRange,
  type RangeDecision,
  unsatisfiedRange,
} from "../../src/objects/http-range.ts";

const partial = (...ranges: [number, number][]): RangeDecision => ({
  kind: "partial",
  ranges: ranges.map(([start, end]) => ({ start, end })),
});
const whole = (reason: Extract<RangeDecision, { kind: "whole" }>["reason"]): RangeDecision => ({ kind: "whole", reason });
const UNSATISFIABLE: RangeDecision = { kind: "unsatisfiable" };
const many = (n: number, step: number) => `bytes=${Array.from({ length: n }, (_, i) => `${i * step}-${i * step}`).join(",")}`;

describe("parseRange", () => {
  test.each<[string, string | null, number, RangeDecision]>([
    ["no header", null, 1000, whole("absent")],
    ["first ten bytes", "bytes=0-9", 1000, partial([0, 9])],
    ["one byte", "bytes=5-5", 1000, partial([5, 5])],
    ["open range", "bytes=990-", 1000, partial([990, 999])],
    ["open range from zero", "bytes=0-", 1000, partial([0, 999])],
    ["last-pos past the end is clamped", "bytes=900-5000", 1000, partial([900, 999])],
    ["suffix", "bytes=-100", 1000, partial([900, 999])],
    ["suffix longer than the whole", "bytes=-5000", 1000, partial([0, 999])],
    ["unit is case-insensitive (§14.1)", "BYTES=0-9", 1000, partial([0, 9])],
    ["whitespace around list elements (§5.6.1)", "bytes= 0-9 , 20-29", 1000, partial([0, 9], [20, 29])],
    ["empty list elements are ignored (§5.6.1.2)", "bytes=0-9,,20-29,", 1000, partial([0, 9], [20, 29])],
    ["two ranges keep their order (§14.6)", "bytes=500-599,0-9", 1000, partial([500, 599], [0, 9])],
    ["overlapping ranges coalesce", "bytes=0-99,50-149", 1000, partial([0, 149])],
    ["adjacent ranges coalesce", "bytes=0-9,10-19", 1000, partial([0, 19])],
    ["a coalesced range takes the first one's place", "bytes=500-599,0-9,10-19", 1000, partial([500, 599], [0, 19])],
    ["a later range bridging two earlier ones", "bytes=0-9,20-29,5-25", 1000, partial([0, 29])],
    ["unsatisfiable ranges are dropped from a set", "bytes=0-9,5000-6000", 1000, partial([0, 9])],
    ["first-pos at the size", "bytes=1000-", 1000, UNSATISFIABLE],
    ["first-pos past the size", "bytes=2000-3000", 1000, UNSATISFIABLE],
    ["zero-length suffix", "bytes=-0", 1000, UNSATISFIABLE],
    ["every range unsatisfiable", "bytes=1000-1001,-0", 1000, UNSATISFIABLE],
    ["a 30-digit first-pos", `bytes=${"9".repeat(30)}-`, 1000, UNSATISFIABLE],
    ["a 30-digit last-pos is clamped", `bytes=0-${"9".repeat(30)}`, 1000, partial([0, 999])],
    ["other unit (§14.2: ignored)", "items=0-9", 1000, whole("other-unit")],
    ["no equals sign", "bytes 0-9", 1000, whole("invalid")],
    ["no spec", "bytes=", 1000, whole("invalid")],
    ["last-pos below first-pos (§14.1.1)", "bytes=5-2", 1000, whole("invalid")],
    ["whitespace inside a spec", "bytes=0 - 9", 1000, whole("invalid")],
    ["a bare dash", "bytes=-", 1000, whole("invalid")],
    ["a negative first-pos", "bytes=--5", 1000, whole("invalid")],
    ["one bad spec spoils the set", "bytes=0-9,x", 1000, whole("invalid")],
    ["a sign", "bytes=+0-9", 1000, whole("invalid")],
    [`${MAX_RANGES} ranges`, many(MAX_RANGES, 10), 1000, partial(...Array.from({ length: MAX_RANGES }, (_, i): [number, number] => [i * 10, i * 10]))],
    [`${MAX_RANGES + 1} ranges`, many(MAX_RANGES + 1, 10), 1000, whole("too-many")],
    ["unsatisfiable ranges do not count toward the cap", `${many(MAX_RANGES, 10)},${Array(40).fill("5000-").join(",")}`, 1000, partial(...Array.from({ length: MAX_RANGES }, (_, i): [number, number] => [i * 10, i * 10]))],
    ["overlaps adding up past the size", "bytes=0-599,400-999", 1000, whole("exceeds-size")],
    ["the same whole range twice", "bytes=0-,0-", 1000, whole("exceeds-size")],
    ["empty representation from the start", "bytes=0-", 0, whole("empty")],
    ["empty representation, suffix", "bytes=-5", 0, whole("empty")],
    ["empty representation past the start", "bytes=5-", 0, UNSATISFIABLE],
  ])("%s", (_name, header, size, expected) => {
    expect(parseRange(header, size)).toEqual(expected);
  });
});

describe("Content-Range", () => {
  test.each<[string, string, string]>([
    ["a part", contentRange({ start: 0, end: 9 }, 1000), "bytes 0-9/1000"],
    ["a 416", unsatisfiedRange(1000), "bytes */1000"],
  ])("%s", (_name, actual, expected) => {
    expect(actual).toBe(expected);
  });
});

describe("frameMultipart", () => {
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  const body = "0123456789abcdefghij";
  /** The body a server streams: each head, then its slice, then the tail. */
  const assemble = (framing: ReturnType<typeof frameMultipart>) =>
    framing.parts.map((p) => text(p.head) + body.slice(p.range.start, p.range.end + 1)).join("") + text(framing.tail);

  test("two parts, byte for byte (RFC 9110 §14.6, RFC 2046 §5.1.1)", () => {
    const ranges: ByteRange[] = [{ start: 0, end: 1 }, { start: 15, end: 19 }];
    const framing = frameMultipart("B0UND", "text/plain", body.length, ranges);
    expect(framing.contentType).toBe("multipart/byteranges; boundary=B0UND");
    expect(framing.parts.map((p) => [text(p.head), p.range])).toEqual([
      ["--B0UND\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/20\r\n\r\n", { start: 0, end: 1 }],
      ["\r\n--B0UND\r\nContent-Type: text/plain\r\nContent-Range: bytes 15-19/20\r\n\r\n", { start: 15, end: 19 }],
    ]);
    expect(text(framing.tail)).toBe("\r\n--B0UND--\r\n");
    const assembled = assemble(framing);
    expect(assembled).toBe(
      "--B0UND\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/20\r\n\r\n01" +
        "\r\n--B0UND\r\nContent-Type: text/plain\r\nContent-Range: bytes 15-19/20\r\n\r\nfghij" +
        "\r\n--B0UND--\r\n",
    );
    expect(framing.contentLength).toBe(assembled.length);
  });

  test("Content-Length counts bytes, not characters", () => {
    const framing = frameMultipart("b", "text/plain; charset=utf-8; x=\"é\"", 20, [{ start: 0, end: 0 }, { start: 2, end: 2 }]);
    const bytes = framing.parts.reduce((n, p) => n + p.head.length + 1, framing.tail.length);
    expect(framing.contentLength).toBe(bytes);
    expect(new TextEncoder().encode(assemble(framing)).length).toBe(bytes);
  });

  test.each<[string, string]>([
    ["empty", ""],
    ["71 characters", "a".repeat(71)],
    ["a space", "a b"],
    ["a CRLF", "a\r\nX-Injected: 1"],
  ])("refuses a boundary with %s", (_name, boundary) => {
    expect(() => frameMultipart(boundary, "text/plain", 20, [{ start: 0, end: 0 }])).toThrow("not a multipart boundary");
  });
});
