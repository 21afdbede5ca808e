// The manifest codec: strict parsing that names every problem and where it is, canonical bytes, version order.
import { describe, expect, test } from "bun:test";
import { compareVersions, entryPathProblem, type Manifest, MAX_MANIFEST_BYTES, parseManifest, writeManifest } from "../../src/bundles/manifest.ts";

const HASH = "ab".repeat(32);

function sample(): Manifest {
  return {
    format: "goosed-bundle/1",
    name: "debian12",
    version: "2026.11.1",
    created: "2026-11-25T12:00:00Z",
    entries: [
      { path: "templates/preseed.cfg", size: 120, sha256: HASH, kind: "template" },
      { path: "debian12/linux", size: 8_000_000, sha256: HASH, kind: "kernel" },
      { path: "debian12/initrd.gz", size: 40_000_000, sha256: HASH, kind: "initrd" },
    ],
    artifacts: [
      { name: "debian12/linux", path: "debian12/linux", kind: "kernel" },
      { name: "debian12/initrd.gz", path: "debian12/initrd.gz", kind: "initrd" },
    ],
    profiles: [
      {
        name: "debian12",
        osFamily: "debian",
        kernel: "debian12/linux",
        initrd: ["debian12/initrd.gz"],
        templates: { preseed: "templates/preseed.cfg" },
        vars: { zeta: 1, alpha: { b: 2, a: 1 } },
      },
    ],
  };
}

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const problemsOf = (value: unknown) => {
  const result = parseManifest(json(value));
  return result.ok ? [] : result.problems;
};

describe("parseManifest", () => {
  test("a well-formed manifest parses, and its canonical bytes parse back to the same value", () => {
    const bytes = writeManifest(sample());
    const parsed = parseManifest(bytes);
    expect(parsed.ok).toBe(true);
    expect(writeManifest((parsed as { value: Manifest }).value)).toEqual(bytes);
  });

  test("canonical bytes do not depend on the order entries, artifacts, profiles or variables were given in", () => {
    const shuffled = sample();
    shuffled.entries.reverse();
    shuffled.artifacts.reverse();
    shuffled.profiles[0]!.vars = { alpha: { a: 1, b: 2 }, zeta: 1 };
    expect(new TextDecoder().decode(writeManifest(shuffled))).toBe(new TextDecoder().decode(writeManifest(sample())));
    const text = new TextDecoder().decode(writeManifest(sample()));
    expect(text.indexOf('"debian12/initrd.gz"')).toBeLessThan(text.indexOf('"debian12/linux"'));
    expect(text.endsWith("}\n")).toBe(true);
  });

  test.each<[string, (m: Record<string, any>) => void, string, string]>([
    ["another format", (m) => (m.format = "goosed-bundle/2"), "/format", "no other bundle format"],
    ["an unknown field", (m) => (m.signer = "me"), "/signer", "not a field"],
    ["a missing version", (m) => delete m.version, "/version", "is missing"],
    ["a bad created time", (m) => (m.created = "yesterday"), "/created", "RFC 3339"],
    ["an absolute path", (m) => (m.entries[0].path = "/etc/passwd"), "/entries/0/path", "relative"],
    ["a '..' segment", (m) => (m.entries[0].path = "a/../../etc/passwd"), "/entries/0/path", "'..'"],
    ["an empty segment", (m) => (m.entries[0].path = "a//b"), "/entries/0/path", "empty"],
    ["a backslash", (m) => (m.entries[0].path = "a\\b"), "/entries/0/path", "'/'"],
    ["a control character", (m) => (m.entries[0].path = "a\nb"), "/entries/0/path", "control"],
    ["the manifest's own name", (m) => (m.entries[0].path = "manifest.sig"), "/entries/0/path", "bundle's own"],
    ["a duplicate path", (m) => (m.entries[1].path = m.entries[0].path), "/entries/1/path", "listed twice"],
    ["a negative size", (m) => (m.entries[0].size = -1), "/entries/0/size", "whole number"],
    ["an upper-case digest", (m) => (m.entries[0].sha256 = HASH.toUpperCase()), "/entries/0/sha256", "lower-case hex"],
    ["an unknown kind", (m) => (m.entries[0].kind = "firmware"), "/entries/0/kind", "one of"],
    ["inBase without a base", (m) => (m.entries[0].inBase = true), "/entries", "delta bundle"],
    ["an artifact of a file not in the bundle", (m) => (m.artifacts[0].path = "nowhere"), "/artifacts/0/path", "entry in this manifest"],
    ["an artifact of a template", (m) => (m.artifacts[0].path = "templates/preseed.cfg"), "/artifacts/0/path", "template entry"],
    ["an artifact defined twice", (m) => (m.artifacts[1].name = m.artifacts[0].name), "/artifacts/1/name", "defined twice"],
    ["a profile template that is not an entry", (m) => (m.profiles[0].templates.preseed = "missing.cfg"), "/profiles/0/templates/preseed", "template entry"],
    ["a template goosed does not render", (m) => (m.profiles[0].templates.grub = "templates/preseed.cfg"), "/profiles/0/templates/grub", "not a template"],
    ["an unknown OS family", (m) => (m.profiles[0].osFamily = "plan9"), "/profiles/0/osFamily", "one of"],
  ])("%s is refused, naming where", (_name, edit, path, message) => {
    const manifest = structuredClone(sample()) as Record<string, any>;
    edit(manifest);
    const problems = problemsOf(manifest);
    expect(problems).toContainEqual({ path, message: expect.stringContaining(message) });
  });

  test("every problem is reported at once, not only the first", () => {
    const manifest = structuredClone(sample()) as Record<string, any>;
    manifest.version = "";
    manifest.entries[0].path = "/abs";
    manifest.profiles[0].osFamily = "plan9";
    expect(problemsOf(manifest).map((p) => p.path)).toEqual(expect.arrayContaining(["/version", "/entries/0/path", "/profiles/0/osFamily"]));
  });

  test("not JSON, not UTF-8, not an object, or too large: one problem saying which", () => {
    for (const [bytes, message] of [
      [new TextEncoder().encode("{"), "not UTF-8 JSON"],
      [new Uint8Array([0x7b, 0xff, 0x7d]), "not UTF-8 JSON"],
      [json([1, 2]), "JSON object"],
      [new Uint8Array(MAX_MANIFEST_BYTES + 1), "larger than"],
    ] as const) {
      const result = parseManifest(bytes);
      expect(result.ok).toBe(false);
      expect((result as { problems: { message: string }[] }).problems[0]!.message).toContain(message);
    }
  });

  test("a delta bundle names its base and marks the files it leaves out", () => {
    const delta = { ...sample(), base: { name: "debian12", version: "2026.11.0" } };
    delta.entries[1] = { ...delta.entries[1]!, inBase: true };
    const parsed = parseManifest(writeManifest(delta));
    expect(parsed.ok).toBe(true);
  });
});

test("entryPathProblem accepts ordinary relative paths", () => {
  for (const path of ["a", "debian12/linux", "win/boot.wim", "a.b/c-d_e/f"]) expect(entryPathProblem(path)).toBeNull();
});

test.each<[string, string, number]>([
  ["2026.11.1", "2026.11.1", 0],
  ["2026.11.1", "2026.11.2", -1],
  ["2026.11.10", "2026.11.9", 1],
  ["2026.11", "2026.11.1", -1],
  ["1.0.0-rc1", "1.0.0-rc2", -1],
  ["10", "9", 1],
  ["123456789012345678901234567890", "123456789012345678901234567891", -1],
])("compareVersions(%s, %s) is %d", (a, b, order) => {
  expect(compareVersions(a, b)).toBe(order);
  expect(compareVersions(b, a)).toBe(-order || 0);
});
