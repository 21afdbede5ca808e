import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { directoryFiles, layeredFiles, memoryFiles, type TftpOpenResult } from "../../src/tftp/files.ts";

let dir: string;
let root: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "goosed-tftp-files-"));
  root = join(dir, "root");
  mkdirSync(join(root, "boot/x64"), { recursive: true });
  writeFileSync(join(root, "pxelinux.0"), "loader");
  writeFileSync(join(root, "boot/x64/wdsnbp.com"), "wds");
  writeFileSync(join(root, "empty"), "");
  writeFileSync(join(dir, "secret"), "outside");
  symlinkSync(join(dir, "secret"), join(root, "escape"));
  symlinkSync("pxelinux.0", join(root, "alias"));
  symlinkSync(dir, join(root, "up"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const content = (result: TftpOpenResult) => (result.ok ? new TextDecoder().decode(result.file.bytes) : { code: result.code, message: result.message });
const NOT_FOUND = { code: 1, message: "file not found" };
const ESCAPE = { code: 2, message: "path leaves the served root" };

test.each<[string, string, string | { code: number; message: string }]>([
  ["a file at the root", "pxelinux.0", "loader"],
  ["a leading slash, as firmware sends it", "/pxelinux.0", "loader"],
  ["backslashes, as Windows loaders send them", "boot\\x64\\wdsnbp.com", "wds"],
  ["a symlink that stays inside", "alias", "loader"],
  ["an empty file", "empty", ""],
  ["a missing file", "nothing.bin", NOT_FOUND],
  ["a directory", "boot", NOT_FOUND],
  ["the root itself", "/", NOT_FOUND],
  ["'..' climbing out", "../secret", ESCAPE],
  ["'..' that would land back inside", "boot/../pxelinux.0", ESCAPE],
  ["backslash '..'", "boot\\..\\..\\secret", ESCAPE],
  ["an absolute path outside the root (read under the root)", "/etc/passwd", NOT_FOUND],
  ["a symlink pointing outside", "escape", ESCAPE],
  ["a path through a symlinked directory outside", "up/secret", ESCAPE],
  ["a NUL byte", "pxelinux.0\0.txt", ESCAPE],
])("directoryFiles: %s", async (_name, path, expected) => {
  expect(content(await directoryFiles(root).open(path))).toEqual(expected);
});

test("memoryFiles: paths normalised like the directory's; a lazy file is loaded once", async () => {
  let loads = 0;
  const files = memoryFiles(
    new Map<string, Uint8Array | (() => Promise<Uint8Array>)>([
      ["ipxe.efi", new TextEncoder().encode("efi")],
      ["/undionly.kpxe", async () => (loads++, new TextEncoder().encode("kpxe"))],
    ]),
  );
  expect(content(await files.open("/ipxe.efi"))).toBe("efi");
  expect(content(await files.open("undionly.kpxe"))).toBe("kpxe");
  expect(content(await files.open("//undionly.kpxe"))).toBe("kpxe");
  expect(loads).toBe(1);
  expect(content(await files.open("../ipxe.efi"))).toEqual(ESCAPE);
  expect(content(await files.open("snponly.efi"))).toEqual(NOT_FOUND);
});

test("layeredFiles: the first layer with the file wins; a refusal other than not-found stops the search", async () => {
  const first = memoryFiles(new Map([["pxelinux.0", new TextEncoder().encode("memory")]]));
  const files = layeredFiles(first, directoryFiles(root));
  expect(content(await files.open("pxelinux.0"))).toBe("memory");
  expect(content(await files.open("boot/x64/wdsnbp.com"))).toBe("wds");
  expect(content(await files.open("escape"))).toEqual(ESCAPE);
  expect(content(await files.open("nothing"))).toEqual(NOT_FOUND);
});
