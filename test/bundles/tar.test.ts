import { expect, test } from "bun:test";
import { chmodSync, linkSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  createTarReader,
  MAX_TAR_META_BYTES,
  TAR_END,
  tarHeader,
  tarPadding,
  tarStream,
  type TarEntryHeader,
  type TarEvent,
  type TarReaderOptions,
  type TarStreamEntry,
} from "../../src/bundles/tar.ts";
import { tempDir } from "../support/goosed.ts";
import { seededRandom } from "../support/seeded-random.ts";
import { requireTool } from "../support/tools.ts";

const FIXTURES = join(import.meta.dir, "../fixtures/tar");
const text = (s: string) => new TextEncoder().encode(s);
/** GNU tar must see UTF-8 names as UTF-8, and list them unescaped. */
const TAR_ENV = { ...process.env, LC_ALL: "C.UTF-8", TZ: "UTC" };

async function* chunksOf(bytes: Uint8Array, chunkBytes = 3): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += chunkBytes) yield bytes.subarray(i, i + chunkBytes);
}

function entry(path: string, body: Uint8Array, mode?: number): TarStreamEntry {
  return { path, size: body.length, mode, body: chunksOf(body) };
}

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of stream) parts.push(part.slice());
  return new Uint8Array(Buffer.concat(parts));
}

/** The golden archive's members: see test/fixtures/tar/small.txt. */
const goldenEntries = (): TarStreamEntry[] => [
  entry("hello.txt", text("hello\n")),
  entry("bin/empty", new Uint8Array(0), 0o755),
  entry(`${"p".repeat(60)}/${"q".repeat(60)}/deep.txt`, text("prefix and name\n")),
  entry("données/café.txt", text("pax path\n")),
];

/** Feeds `bytes` in chunks of `chunkBytes`, merging each entry's data events so the result is chunk-independent. */
function readArchive(bytes: Uint8Array, chunkBytes = bytes.length || 1, options: TarReaderOptions = {}) {
  const reader = createTarReader(options);
  const events: Array<TarEvent | { kind: "data"; bytes: Uint8Array }> = [];
  let failure: { reason: string; offset: number } | undefined;
  const take = (list: TarEvent[]) => {
    for (const event of list) {
      const last = events[events.length - 1];
      if (event.kind === "data" && last?.kind === "data") last.bytes = new Uint8Array(Buffer.concat([last.bytes, event.bytes]));
      else events.push(event.kind === "data" ? { kind: "data", bytes: event.bytes.slice() } : event);
    }
  };
  for (let i = 0; i < bytes.length && !failure; i += chunkBytes) {
    const result = reader.push(bytes.subarray(i, i + chunkBytes));
    take(result.events);
    if (!result.ok) failure = { reason: result.reason, offset: result.offset };
  }
  const ended = reader.end();
  if (!failure && !ended.ok) failure = { reason: ended.reason, offset: ended.offset };
  return { events, failure };
}

/** The members of an archive as header plus body text, for whole-value comparisons. */
function members(bytes: Uint8Array, options: TarReaderOptions = {}) {
  const { events, failure } = readArchive(bytes, bytes.length, options);
  expect(failure).toBeUndefined();
  const out: Array<TarEntryHeader & { body?: string }> = [];
  for (const event of events) {
    if (event.kind === "entry") out.push({ ...event.header });
    if (event.kind === "data") out[out.length - 1]!.body = new TextDecoder().decode(event.bytes);
  }
  expect(events[events.length - 1]).toEqual({ kind: "end" });
  return out;
}

async function run(argv: string[], cwd?: string): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const proc = Bun.spawn(argv, { cwd, env: TAR_ENV, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { stdout, stderr, exitCode };
}

/** Recomputes a hand-edited header's checksum (unsigned, as the writer stores it). */
function rechecksum<T extends Uint8Array>(block: T, signed = false): T {
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += signed && byte >= 0x80 ? byte - 0x100 : byte;
  block.set(text(`${(sum & 0o777777).toString(8).padStart(6, "0")}\0 `), 148);
  return block;
}

const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
const withBody = (path: string, body: Uint8Array) => concat(tarHeader({ path, size: body.length }), body, tarPadding(body.length));

// --- writer ---------------------------------------------------------------------------------------------------

test("the writer makes the golden archive byte for byte, and the same bytes every time", async () => {
  const golden = new Uint8Array(readFileSync(join(FIXTURES, "small.tar")));
  const first = await collect(tarStream(goldenEntries()));
  const second = await collect(tarStream(goldenEntries()));
  expect(first).toEqual(golden);
  expect(second).toEqual(first);
});

test("a ustar header: fixed fields, octal numbers, checksum, and the prefix/name split", () => {
  const header = tarHeader({ path: "a/b.txt", size: 513 });
  expect(header.length).toBe(512);
  const field = (at: number, length: number) => new TextDecoder().decode(header.subarray(at, at + length));
  expect(field(0, 8)).toBe("a/b.txt\0");
  expect(field(100, 8)).toBe("0000644\0");
  expect(field(108, 16)).toBe("0000000\u00000000000\0");
  expect(field(124, 12)).toBe("00000001001\0");
  expect(field(136, 12)).toBe("00000000000\0");
  expect(field(156, 1)).toBe("0");
  expect(field(257, 8)).toBe("ustar\u000000");
  expect(header.subarray(265, 329).every((byte) => byte === 0)).toBe(true); // uname, gname empty
  expect(new Uint8Array(header)).toEqual(rechecksum(header.slice()));

  const split = tarHeader({ path: `${"d".repeat(150)}/${"n".repeat(100)}`, size: 0 });
  expect(split.length).toBe(512);
  expect(new TextDecoder().decode(split.subarray(0, 100))).toBe("n".repeat(100));
  expect(new TextDecoder().decode(split.subarray(345, 495))).toBe("d".repeat(150));
});

// A record's length counts itself: " path=" + path + "\n" plus the length's own digits.
test.each([
  ["a component over 100 bytes", `x/${"c".repeat(101)}`, 113],
  ["a prefix over 155 bytes", `${"d".repeat(156)}/n`, 168],
  ["a non-ASCII path", "é", 11],
])("%s gets a pax path record before its ustar header", (_name, path, recordBytes) => {
  const header = tarHeader({ path, size: 1 });
  expect(header.length).toBe(3 * 512);
  expect(header[156]).toBe(0x78); // 'x'
  const record = `${recordBytes} path=${path}\n`;
  expect(Buffer.byteLength(record)).toBe(recordBytes);
  expect(new TextDecoder().decode(header.subarray(512, 512 + Buffer.byteLength(record)))).toBe(record);
  expect(members(concat(header, text("z"), tarPadding(1), TAR_END))).toEqual([{ path, size: 1, type: "file", mode: 0o644, body: "z" }]);
});

test("sizes past 8 GiB go in a pax size record", () => {
  const size = 9 * 1024 ** 3;
  const header = tarHeader({ path: "big.img", size });
  expect(new TextDecoder().decode(header.subarray(512, 531))).toBe("19 size=9663676416\n");
  const { events, failure } = readArchive(header);
  expect(events).toEqual([{ kind: "entry", header: { path: "big.img", size, type: "file", mode: 0o644 } }]);
  expect(failure).toEqual({ reason: "truncated", offset: header.length });
});

test.each([
  ["an empty path", { path: "", size: 0 }, /cannot write path/],
  ["a NUL in the path", { path: "a\0b", size: 0 }, /cannot write path/],
  ["a negative size", { path: "a", size: -1 }, /bad size/],
  ["a fractional size", { path: "a", size: 1.5 }, /bad size/],
  ["a mode with type bits", { path: "a", size: 0, mode: 0o100644 }, /bad mode/],
])("tarHeader refuses %s", (_name, input, message) => {
  expect(() => tarHeader(input)).toThrow(message);
});

test("tarPadding and TAR_END", () => {
  expect([0, 1, 511, 512, 513].map((size) => tarPadding(size).length)).toEqual([0, 511, 1, 0, 511]);
  expect(tarPadding(1).every((byte) => byte === 0)).toBe(true);
  expect(TAR_END).toEqual(new Uint8Array(1024));
});

test.each([
  ["yields too few bytes", 4, [text("abc")], /yielded 3 bytes, not its 4/],
  ["yields too many bytes", 2, [text("ab"), text("c")], /more than its 2 bytes/],
])("tarStream throws when a body %s", async (_name, size, parts, message) => {
  async function* body() {
    yield* parts;
  }
  await expect(collect(tarStream([{ path: "f", size, body: body() }]))).rejects.toThrow(message);
});

test("tarStream takes ReadableStream bodies and passes body chunks through uncopied", async () => {
  const parts = [text("one "), text("two")];
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const part of parts) controller.enqueue(part);
      controller.close();
    },
  });
  const out: Uint8Array[] = [];
  for await (const chunk of tarStream([{ path: "s.txt", size: 7, body }])) out.push(chunk);
  expect(out.map((chunk) => chunk.length)).toEqual([512, 4, 3, 505, 1024]);
  expect(out[1]).toBe(parts[0]!);
  expect(out[2]).toBe(parts[1]!);
  expect(members(concat(...out))).toEqual([{ path: "s.txt", size: 7, type: "file", mode: 0o644, body: "one two" }]);
});

test("GNU tar lists and extracts what we write", async () => {
  requireTool("tar");
  await using dir = tempDir("goosed-tar-");
  const long = `${"a".repeat(99)}/${"b".repeat(100)}`; // 200 characters, fits ustar's prefix/name split
  const longer = `deep/${"c".repeat(195)}`; // 200 characters, needs pax
  const files: Array<[string, Uint8Array<ArrayBuffer>, number]> = [
    [long, text("split\n"), 0o644],
    [longer, text("pax\n"), 0o644],
    ["données/été-日本語.txt", text("non-ascii\n"), 0o644],
    ["zero", new Uint8Array(0), 0o644],
    ["one", text("1"), 0o755],
    ["block", new Uint8Array(512).map((_, i) => i % 251), 0o600],
  ];
  const archive = join(dir.path, "ours.tar");
  writeFileSync(archive, await collect(tarStream(files.map(([path, body, mode]) => entry(path, body, mode)))));

  const list = await run(["tar", "--quoting-style=literal", "-tvf", archive]);
  expect({ stderr: list.stderr, exitCode: list.exitCode }).toEqual({ stderr: "", exitCode: 0 });
  const listed = list.stdout.trimEnd().split("\n").map((line) => {
    const [perms, owner, size, date, time, name] = line.split(/\s+/);
    return { perms, owner, size: Number(size), date, time, name };
  });
  const permsOf = { 0o644: "-rw-r--r--", 0o755: "-rwxr-xr-x", 0o600: "-rw-------" } as Record<number, string>;
  expect(listed).toEqual(
    files.map(([path, body, mode]) => ({ perms: permsOf[mode], owner: "0/0", size: body.length, date: "1970-01-01", time: "00:00", name: path })),
  );

  const out = join(dir.path, "out");
  mkdirSync(out);
  const extract = await run(["tar", "-xf", archive, "-C", out]);
  expect({ stderr: extract.stderr, exitCode: extract.exitCode }).toEqual({ stderr: "", exitCode: 0 });
  for (const [path, body, mode] of files) {
    expect(new Uint8Array(readFileSync(join(out, path)))).toEqual(body);
    expect(statSync(join(out, path)).mode & 0o777).toBe(mode);
  }
  expect(readdirSync(join(out, "données"))).toEqual(["été-日本語.txt"]);
});

// --- reader: archives GNU tar made ------------------------------------------------------------------------------

/** A tree with every member type; `long` adds names only pax and GNU can hold. Needs root for mknod. */
function makeTree(root: string, long: boolean) {
  if (process.getuid?.() !== 0) throw new Error("this test makes device nodes with mknod and must run as root");
  const dir = join(root, "tree/dir");
  mkdirSync(dir, { recursive: true });
  chmodSync(join(root, "tree"), 0o755);
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, "file.txt"), "file\n", { mode: 0o644 });
  writeFileSync(join(dir, "empty"), "", { mode: 0o600 });
  writeFileSync(join(dir, "café.txt"), "utf-8 name\n", { mode: 0o644 });
  linkSync(join(dir, "file.txt"), join(dir, "hard"));
  symlinkSync("file.txt", join(dir, "link"));
  if (long) {
    const deep = join(dir, "d".repeat(100), "e".repeat(100));
    mkdirSync(deep, { recursive: true });
    chmodSync(join(dir, "d".repeat(100)), 0o755);
    chmodSync(deep, 0o755);
    writeFileSync(join(deep, `${"f".repeat(120)}.txt`), "long\n", { mode: 0o644 });
    symlinkSync(`${"t".repeat(150)}`, join(dir, "long-link"));
    linkSync(join(deep, `${"f".repeat(120)}.txt`), join(dir, "long-hard"));
  }
}

async function makeDevices(root: string) {
  const dir = join(root, "tree/dir");
  for (const argv of [
    ["mkfifo", "-m", "0644", join(dir, "fifo")],
    ["mknod", "-m", "0600", join(dir, "null"), "c", "1", "3"],
    ["mknod", "-m", "0660", join(dir, "loop"), "b", "7", "0"],
  ]) {
    const result = await run(argv);
    if (result.exitCode !== 0) throw new Error(`${argv.join(" ")} failed: ${result.stderr}`);
  }
}

/** What our reader must report for the tree, in GNU tar's --sort=name order. */
function expectedTree(long: boolean): Array<TarEntryHeader & { body?: string }> {
  const d = "tree/dir/";
  const deepDir = `${d}${"d".repeat(100)}/`;
  const deep = `${deepDir}${"e".repeat(100)}/`;
  const deepFile = `${deep}${"f".repeat(120)}.txt`;
  return [
    { path: "tree/", size: 0, type: "directory", mode: 0o755 },
    { path: d, size: 0, type: "directory", mode: 0o755 },
    { path: `${d}café.txt`, size: 11, type: "file", mode: 0o644, body: "utf-8 name\n" },
    ...(long
      ? ([
          { path: deepDir, size: 0, type: "directory", mode: 0o755 },
          { path: deep, size: 0, type: "directory", mode: 0o755 },
          { path: deepFile, size: 5, type: "file", mode: 0o644, body: "long\n" },
        ] as const)
      : []),
    { path: `${d}empty`, size: 0, type: "file", mode: 0o600 },
    { path: `${d}fifo`, size: 0, type: "fifo", mode: 0o644 },
    { path: `${d}file.txt`, size: 5, type: "file", mode: 0o644, body: "file\n" },
    { path: `${d}hard`, size: 0, type: "hardlink", mode: 0o644, linkName: `${d}file.txt` },
    { path: `${d}link`, size: 0, type: "symlink", mode: 0o777, linkName: "file.txt" },
    ...(long
      ? ([
          { path: `${d}long-hard`, size: 0, type: "hardlink", mode: 0o644, linkName: deepFile },
          { path: `${d}long-link`, size: 0, type: "symlink", mode: 0o777, linkName: "t".repeat(150) },
        ] as const)
      : []),
    { path: `${d}loop`, size: 0, type: "block-device", mode: 0o660 },
    { path: `${d}null`, size: 0, type: "char-device", mode: 0o600 },
  ];
}

async function gnuArchive(root: string, format: "posix" | "gnu" | "ustar"): Promise<Uint8Array> {
  const file = join(root, `${format}.tar`);
  const result = await run(["tar", `--format=${format}`, "--sort=name", "--numeric-owner", "-C", root, "-cf", file, "tree"]);
  expect({ stderr: result.stderr, exitCode: result.exitCode }).toEqual({ stderr: "", exitCode: 0 });
  return new Uint8Array(readFileSync(file));
}

test.each([
  ["posix", true],
  ["gnu", true],
  ["ustar", false],
] as const)("our reader reads GNU tar --format=%s: every member type, long names, in any chunking", async (format, long) => {
  requireTool("tar");
  await using dir = tempDir("goosed-tar-");
  makeTree(dir.path, long);
  await makeDevices(dir.path);
  const archive = await gnuArchive(dir.path, format);
  const expected = expectedTree(long).map((member) => ({ ...member }));
  // GNU tar pads to its 10240-byte record, which a bundle must not have.
  expect(members(archive, { allowZeroPadding: true })).toEqual(expected);
  expect(readArchive(archive).failure).toEqual({ reason: "data-after-end", offset: expect.any(Number) });

  const whole = readArchive(archive, archive.length, { allowZeroPadding: true });
  for (const chunkBytes of [1, 7, 511]) expect(readArchive(archive, chunkBytes, { allowZeroPadding: true })).toEqual(whole);
});

// --- reader: chunking, truncation, corruption ---------------------------------------------------------------------

test("the golden archive reads back, and any chunking gives the same events", () => {
  const golden = new Uint8Array(readFileSync(join(FIXTURES, "small.tar")));
  expect(members(golden)).toEqual([
    { path: "hello.txt", size: 6, type: "file", mode: 0o644, body: "hello\n" },
    { path: "bin/empty", size: 0, type: "file", mode: 0o755 },
    { path: `${"p".repeat(60)}/${"q".repeat(60)}/deep.txt`, size: 16, type: "file", mode: 0o644, body: "prefix and name\n" },
    { path: "données/café.txt", size: 9, type: "file", mode: 0o644, body: "pax path\n" },
  ]);
  const whole = readArchive(golden);
  for (const chunkBytes of [1, 7, 511, 512, 513]) expect(readArchive(golden, chunkBytes)).toEqual(whole);
});

// Golden layout: hello.txt header 0, body 512; bin/empty header 1024; deep.txt header 1536, body 2048; the pax
// header for données/café.txt 2560, its records 3072, its ustar header 3584, body 4096; end blocks 4608..5632.
test.each([
  ["mid-header", 100],
  ["right after a header", 512],
  ["mid-body", 515],
  ["in a body's padding", 600],
  ["mid pax header", 2600],
  ["mid pax records", 3080],
  ["between the pax records and their header", 3584],
  ["before the end blocks", 4608],
  ["after one end block", 5120],
  ["mid second end block", 5200],
])("an archive cut %s is truncated at the cut", (_name, cut) => {
  const golden = new Uint8Array(readFileSync(join(FIXTURES, "small.tar")));
  expect(golden.length).toBe(5632);
  for (const chunkBytes of [1, 511, cut]) {
    const { events, failure } = readArchive(golden.subarray(0, cut), chunkBytes);
    expect(failure).toEqual({ reason: "truncated", offset: cut });
    expect(events).not.toContainEqual({ kind: "end" });
  }
});

test.each([
  ["a name byte of the first header", 5, 0],
  ["the size field of the second header", 1024 + 130, 1024],
  ["the checksum field itself", 1536 + 150, 1536],
  ["the pax header", 2560 + 1, 2560],
  ["the member header after pax records", 3584 + 300, 3584],
])("a flipped byte in %s is bad-checksum at that header", (_name, at, headerAt) => {
  const archive = new Uint8Array(readFileSync(join(FIXTURES, "small.tar")));
  archive[at]! ^= 0x01;
  for (const chunkBytes of [1, 7, archive.length]) expect(readArchive(archive, chunkBytes).failure).toEqual({ reason: "bad-checksum", offset: headerAt });
});

// --- reader: annotated edge cases -----------------------------------------------------------------------------------

/** A header for `path` with one field overwritten, checksum fixed up. */
function patched(path: string, size: number, at: number, bytes: number[] | string, typeflag?: string): Uint8Array {
  const block = tarHeader({ path, size });
  block.set(typeof bytes === "string" ? text(bytes) : bytes, at);
  if (typeflag) block[156] = typeflag.charCodeAt(0);
  return rechecksum(block);
}

/** A pax 'x' (or GNU 'L'/'K') member carrying `body`, then a file member. */
function meta(typeflag: string, body: Uint8Array, then: Uint8Array = withBody("real", text("r"))): Uint8Array {
  const header = tarHeader({ path: "meta", size: body.length });
  header[156] = typeflag.charCodeAt(0);
  return concat(rechecksum(header), body, tarPadding(body.length), then, TAR_END);
}

test("base-256 sizes (GNU, for 8 GiB and more) read as numbers", () => {
  // size field: 0x80 marks base-256, then big-endian: 0x000000000000000000000006 = 6
  const header = patched("b256", 6, 124, [0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 6]);
  expect(members(concat(header, text("abcdef"), tarPadding(6), TAR_END))).toEqual([{ path: "b256", size: 6, type: "file", mode: 0o644, body: "abcdef" }]);
  // 2^33 = 8 GiB, past 11 octal digits: 0x80 0 0 0 0 0 0 0x02 0 0 0 0
  expect(readArchive(patched("big", 0, 124, [0x80, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0])).events).toEqual([
    { kind: "entry", header: { path: "big", size: 2 ** 33, type: "file", mode: 0o644 } },
  ]);
});

test("a checksum summed over signed bytes (old Sun and GNU writers) is accepted like the unsigned one", () => {
  const header = rechecksum(tarHeader({ path: "x", size: 0 }).fill(0, 0, 100).fill(0xc3, 0, 1).fill(0xa9, 1, 2), true); // "é"
  expect(members(concat(header, TAR_END))).toEqual([{ path: "é", size: 0, type: "file", mode: 0o644 }]);
});

test("GNU long name and long link members, and pax linkpath, override the ustar fields", () => {
  const name = "n".repeat(300);
  const target = "t".repeat(200);
  const link = rechecksum(tarHeader({ path: "short", size: 0 }).fill(0x32, 156, 157)); // typeflag '2', a symlink
  expect(members(meta("L", text(`${name}\0`), meta("K", text(`${target}\0`), link).subarray(0, -1024)))).toEqual([
    { path: name, size: 0, type: "symlink", mode: 0o644, linkName: target },
  ]);
  expect(members(meta("x", text("16 linkpath=abc\n"), link))).toEqual([{ path: "short", size: 0, type: "symlink", mode: 0o644, linkName: "abc" }]);
});

test("pax global headers are skipped; ustar prefix joins the name; unknown pax keys are ignored", () => {
  const global = meta("g", text("22 comment=0123456789\n"));
  expect(members(global)).toEqual([{ path: "real", size: 1, type: "file", mode: 0o644, body: "r" }]);
  expect(members(meta("x", text("30 mtime=1700000000.123456789\n")))).toEqual([{ path: "real", size: 1, type: "file", mode: 0o644, body: "r" }]);
  expect(members(concat(patched("name", 0, 345, "pre/fix"), TAR_END))).toEqual([{ path: "pre/fix/name", size: 0, type: "file", mode: 0o644 }]);
});

test("paths come out raw: dot-dot, absolute, duplicates are the importer's business", () => {
  const archive = concat(withBody("../etc/passwd", text("a")), withBody("/abs", text("b")), withBody("/abs", text("c")), TAR_END);
  expect(members(archive).map((member) => member.path)).toEqual(["../etc/passwd", "/abs", "/abs"]);
});

const golden = () => new Uint8Array(readFileSync(join(FIXTURES, "small.tar")));
const oneFile = () => concat(withBody("a", text("a")), TAR_END); // header 0, body 512, end blocks 1024

test.each([
  ["bad magic", () => concat(patched("a", 0, 257, "ustaX\0"), TAR_END), { reason: "bad-header", offset: 0 }],
  ["a non-octal size", () => concat(patched("a", 0, 124, "12x45678901\0"), TAR_END), { reason: "bad-header", offset: 0 }],
  ["a negative base-256 size", () => concat(patched("a", 0, 124, [0xff, 0xff]), TAR_END), { reason: "bad-header", offset: 0 }],
  ["a name that is not UTF-8", () => concat(patched("a", 0, 0, [0xff, 0xfe]), TAR_END), { reason: "bad-header", offset: 0 }],
  ["a blank checksum field", () => concat(tarHeader({ path: "a", size: 0 }).fill(0x20, 148, 156), TAR_END), { reason: "bad-checksum", offset: 0 }],
  ["a pax record whose length is wrong", () => meta("x", text("99 path=a\n")), { reason: "bad-pax", offset: 512 }],
  ["a second pax record without '='", () => meta("x", text("10 path=a\n6 abc\n")), { reason: "bad-pax", offset: 522 }],
  ["a pax record without its newline", () => meta("x", text("10 path=ab")), { reason: "bad-pax", offset: 512 }],
  ["a pax record with an empty key", () => meta("x", text("6 =ab\n")), { reason: "bad-pax", offset: 512 }],
  ["a pax size that is not a number", () => meta("x", text("12 size=1x3\n")), { reason: "bad-pax", offset: 512 }],
  ["a pax path that is not UTF-8", () => meta("x", new Uint8Array([...text("9 path="), 0xff, 0x0a])), { reason: "bad-pax", offset: 512 }],
  ["pax records over the cap", () => meta("x", new Uint8Array(MAX_TAR_META_BYTES + 1)), { reason: "bad-pax", offset: 0 }],
  ["a GNU long name over the cap", () => meta("L", new Uint8Array(MAX_TAR_META_BYTES + 1)), { reason: "bad-header", offset: 0 }],
  ["pax records followed by the end", () => meta("x", text("10 path=a\n"), new Uint8Array(0)), { reason: "bad-pax", offset: 1024 }],
  ["a lone zero block before a member", () => concat(new Uint8Array(512), oneFile()), { reason: "bad-header", offset: 0 }],
  ["a byte after the end blocks", () => concat(oneFile(), new Uint8Array([0])), { reason: "data-after-end", offset: 2048 }],
  ["a member after the end blocks", () => concat(oneFile(), oneFile()), { reason: "data-after-end", offset: 2048 }],
  ["only one zero block", () => concat(withBody("a", text("a")), new Uint8Array(512)), { reason: "truncated", offset: 1536 }],
  ["nothing at all", () => new Uint8Array(0), { reason: "truncated", offset: 0 }],
])("%s is refused with its reason and offset", (_name, make, expected) => {
  const archive = make();
  for (const chunkBytes of [1, 7, 511, Math.max(archive.length, 1)]) expect(readArchive(archive, chunkBytes).failure).toEqual(expected);
});

test("zero padding after the end blocks is accepted only when asked for", () => {
  const padded = concat(golden(), new Uint8Array(10240 - 5632));
  expect(readArchive(padded).failure).toEqual({ reason: "data-after-end", offset: 5632 });
  expect(readArchive(padded, 7, { allowZeroPadding: true }).failure).toBeUndefined();
  expect(readArchive(concat(padded, new Uint8Array([1])), 7, { allowZeroPadding: true }).failure).toEqual({ reason: "data-after-end", offset: 10240 });
});

test("after a failure every push and end report it", () => {
  const reader = createTarReader();
  const bad = patched("a", 0, 257, "ustaX\0");
  expect(reader.push(bad)).toEqual({ ok: false, reason: "bad-header", offset: 0, events: [] });
  expect(reader.push(TAR_END)).toEqual({ ok: false, reason: "bad-header", offset: 0, events: [] });
  expect(reader.end()).toEqual({ ok: false, reason: "bad-header", offset: 0 });
});

test("seeded mutations of the golden archive never throw, fail only with known reasons, and read the same in any chunking", () => {
  const seed = Number(process.env.TAR_FUZZ_SEED ?? Date.now() % 2 ** 31);
  console.log(`tar fuzz seed ${seed} (rerun with TAR_FUZZ_SEED=${seed})`);
  const random = seededRandom(seed);
  const base = golden();
  const reasons = new Set(["truncated", "bad-checksum", "bad-header", "bad-pax", "data-after-end"]);
  for (let round = 0; round < 300; round++) {
    const archive = base.slice(0, Math.floor(random() * (base.length + 1)));
    for (let flips = Math.floor(random() * 4); flips >= 0 && archive.length > 0; flips--) {
      archive[Math.floor(random() * archive.length)] = Math.floor(random() * 256);
    }
    const chunked = readArchive(archive, 1 + Math.floor(random() * 700));
    if (chunked.failure) expect(reasons.has(chunked.failure.reason)).toBe(true);
    expect(chunked).toEqual(readArchive(archive));
  }
});

// --- streaming both ways ------------------------------------------------------------------------------------------

test("64 MiB through tarStream and back through the reader, as views of the chunks, never gathered", async () => {
  const totalBytes = 64 * 1024 * 1024;
  const chunkBytes = 64 * 1024;
  const sourceChunks = new WeakSet<Uint8Array>();
  const sent = new Bun.CryptoHasher("sha256");
  async function* body() {
    for (let at = 0; at < totalBytes; at += chunkBytes) {
      const chunk = new Uint8Array(Math.min(chunkBytes, totalBytes - at));
      for (let i = 0; i < chunk.length; i += 4096) chunk.fill((at + i) / 4096, i, i + 4096);
      sent.update(chunk);
      sourceChunks.add(chunk);
      yield chunk;
    }
  }
  async function* entries(): AsyncGenerator<TarStreamEntry> {
    yield entry("before.txt", text("x".repeat(700)));
    yield { path: "big.img", size: totalBytes, body: body() };
    yield entry("after.txt", text("y"));
  }

  const reader = createTarReader();
  const received = new Bun.CryptoHasher("sha256");
  const headers: TarEntryHeader[] = [];
  let current = "";
  let passedThrough = 0;
  let largestDataBytes = 0;
  for await (const chunk of tarStream(entries())) {
    if (sourceChunks.has(chunk)) passedThrough++;
    const result = reader.push(chunk);
    expect(result.ok).toBe(true);
    for (const event of result.events) {
      if (event.kind === "entry") {
        headers.push(event.header);
        current = event.header.path;
      }
      if (event.kind !== "data" || current !== "big.img") continue;
      expect(event.bytes.buffer).toBe(chunk.buffer as ArrayBuffer); // a view of what was pushed, not a copy
      largestDataBytes = Math.max(largestDataBytes, event.bytes.length);
      received.update(event.bytes);
    }
  }
  expect(reader.end()).toEqual({ ok: true });
  expect(passedThrough).toBe(totalBytes / chunkBytes);
  expect(largestDataBytes).toBe(chunkBytes);
  expect(headers.map((header) => [header.path, header.size])).toEqual([
    ["before.txt", 700],
    ["big.img", totalBytes],
    ["after.txt", 1],
  ]);
  expect(received.digest("hex")).toBe(sent.digest("hex"));
});
