import { expect, test } from "bun:test";
import { parseMac } from "../../src/lib/mac.ts";

test.each([
  ["colons", "52:54:00:ab:cd:ef", "52:54:00:ab:cd:ef"],
  ["upper-case hyphens (Windows)", "52-54-00-AB-CD-EF", "52:54:00:ab:cd:ef"],
  ["Cisco dotted", "5254.00ab.cdef", "52:54:00:ab:cd:ef"],
  ["bare hex (iPXE hexraw)", "525400ABCDEF", "52:54:00:ab:cd:ef"],
  ["surrounding spaces", "  52:54:00:ab:cd:ef ", "52:54:00:ab:cd:ef"],
])("%s: %s", (_name, raw, canonical) => {
  expect(parseMac(raw)).toBe(canonical);
});

test.each([
  ["mixed separators", "52:54-00:ab:cd:ef"],
  ["too short", "52:54:00:ab:cd"],
  ["too long", "52:54:00:ab:cd:ef:01"],
  ["not hex", "52:54:00:ab:cd:eg"],
  ["empty", ""],
  ["dotted with wrong group size", "525.400ab.cdef"],
])("rejects %s: %s", (_name, raw) => {
  expect(parseMac(raw)).toBeNull();
});
