// What the TFTP server may send: a directory confined to its root, in-memory files, and layers of both.
import { realpath, stat } from "node:fs/promises";
import { join, sep } from "node:path";
import { TftpErrorCode } from "./codec.ts";

export interface TftpFile {
  size: number;
  /** The whole content; disk files are mmapped, so a large file costs no copy. */
  bytes: Uint8Array;
}

/** A refusal carries the TFTP error code (RFC 1350) the client receives. */
export type TftpRefusal = { ok: false; code: number; message: string };
export type TftpOpenResult = { ok: true; file: TftpFile } | TftpRefusal;

export interface TftpFiles {
  open(path: string): Promise<TftpOpenResult>;
}

const NOT_FOUND: TftpRefusal = { ok: false, code: TftpErrorCode.FileNotFound, message: "file not found" };
const ESCAPE: TftpRefusal = { ok: false, code: TftpErrorCode.AccessViolation, message: "path leaves the served root" };

/**
 * A requested filename as path segments under the root, or the refusal. Leading slashes are dropped (firmware and
 * pxelinux configs often ask for "/pxelinux.0" meaning the root), backslashes separate like slashes (Windows boot
 * loaders ask for "boot\x86\wdsnbp.com"), "." and empty segments vanish, and any ".." is refused outright rather
 * than resolved, so no spelling of a path can climb out of the root.
 */
export function tftpPathSegments(path: string): { ok: true; segments: string[] } | TftpRefusal {
  if (path.includes("\0")) return ESCAPE;
  const segments = path.split(/[/\\]+/).filter((s) => s !== "" && s !== ".");
  if (segments.includes("..")) return ESCAPE;
  if (segments.length === 0) return NOT_FOUND;
  return { ok: true, segments };
}

/**
 * Files under `root`. The resolved path (after every symlink) must stay under the resolved root, so a link
 * pointing outside is refused like "..". Files are mmapped read-only: goosed's served files are replaced by
 * rename, never truncated in place, which is what would make a mapping fault.
 */
export function directoryFiles(root: string): TftpFiles {
  let resolvedRoot: Promise<string> | null = null;
  return {
    async open(path) {
      const parsed = tftpPathSegments(path);
      if (!parsed.ok) return parsed;
      resolvedRoot ??= realpath(root);
      let base: string;
      let real: string;
      try {
        base = await resolvedRoot;
      } catch {
        resolvedRoot = null;
        return NOT_FOUND;
      }
      try {
        real = await realpath(join(base, ...parsed.segments));
      } catch (error) {
        return openFailure(error);
      }
      if (!real.startsWith(base.endsWith(sep) ? base : base + sep)) return ESCAPE;
      try {
        const info = await stat(real);
        if (!info.isFile()) return NOT_FOUND;
        // Bun.mmap refuses empty files (EINVAL); an empty file is one empty block.
        const bytes = info.size === 0 ? new Uint8Array(0) : Bun.mmap(real, { shared: false });
        return { ok: true, file: { size: bytes.length, bytes } };
      } catch (error) {
        return openFailure(error);
      }
    },
  };
}

function openFailure(error: unknown): TftpOpenResult {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "EACCES" || code === "EPERM") return { ok: false, code: TftpErrorCode.AccessViolation, message: "permission denied" };
  return NOT_FOUND;
}

/** Files held in memory, by path relative to the root; a function value is loaded on first request and kept. */
export function memoryFiles(files: ReadonlyMap<string, Uint8Array | (() => Promise<Uint8Array>)>): TftpFiles {
  const loaded = new Map<string, Promise<Uint8Array>>();
  const byKey = new Map<string, Uint8Array | (() => Promise<Uint8Array>)>();
  for (const [path, value] of files) {
    const parsed = tftpPathSegments(path);
    if (parsed.ok) byKey.set(parsed.segments.join("/"), value);
  }
  return {
    async open(path) {
      const parsed = tftpPathSegments(path);
      if (!parsed.ok) return parsed;
      const key = parsed.segments.join("/");
      const value = byKey.get(key);
      if (value === undefined) return NOT_FOUND;
      if (value instanceof Uint8Array) return { ok: true, file: { size: value.length, bytes: value } };
      let pending = loaded.get(key);
      if (!pending) {
        pending = value();
        loaded.set(key, pending);
      }
      try {
        const bytes = await pending;
        return { ok: true, file: { size: bytes.length, bytes } };
      } catch {
        // A failed load is retried on the next request rather than remembered.
        loaded.delete(key);
        return NOT_FOUND;
      }
    },
  };
}

/** The first layer that has the file wins; a refusal other than "not found" (an escape, a permission) stops the search. */
export function layeredFiles(...layers: TftpFiles[]): TftpFiles {
  return {
    async open(path) {
      for (const layer of layers) {
        const result = await layer.open(path);
        if (result.ok || result.code !== TftpErrorCode.FileNotFound) return result;
      }
      return NOT_FOUND;
    },
  };
}
