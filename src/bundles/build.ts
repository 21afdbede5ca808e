// Building a bundle: hash every input file, write the canonical manifest, sign it, then stream manifest, signature and
// files through tar and zstd into the output, written to a temporary name and renamed once whole. Nothing is held
// whole in memory, and the same inputs and key always give the same bytes.
import { randomUUID } from "node:crypto";
import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { parse as parseYaml } from "yaml";
import type { ArtifactKind } from "../db/index.ts";
import { artifactKindOf } from "../objects/artifact-kind.ts";
import {
  type EntryKind,
  entryPathProblem,
  type Manifest,
  MANIFEST_FORMAT,
  MANIFEST_PATH,
  type ManifestArtifact,
  type ManifestEntry,
  type ManifestProfile,
  parseManifest,
  SIGNATURE_PATH,
  writeManifest,
} from "./manifest.ts";
import { BundleError } from "./read.ts";
import { sign, type SignifySecretKey } from "./signify.ts";
import { tarStream, type TarStreamEntry } from "./tar.ts";
import { zstdCompressStream } from "./zstd.ts";

/** What to pack: files from disk under archive paths, and what the bundle defines. */
export interface BundleSpec {
  name: string;
  version: string;
  /** RFC 3339; default: SOURCE_DATE_EPOCH if set, else the newest input file's time, so rebuilds match. */
  created?: string;
  expires?: string;
  files: { path: string; from: string; kind?: EntryKind }[];
  /** Default: one artifact per non-template file, named by its path. */
  artifacts?: ManifestArtifact[];
  profiles?: ManifestProfile[];
}

export interface BuildOptions {
  secretKey: SignifySecretKey;
  out: string;
  /** A delta bundle: files whose sha256 the base manifest lists are left out (marked inBase). */
  base?: Manifest;
  /** Called as bytes are hashed and packed: phase, bytes done, bytes in all. */
  progress?: (phase: "hashing" | "packing", doneBytes: number, totalBytes: number) => void;
}

export interface BuildResult {
  manifest: Manifest;
  out: string;
  /** Compressed bytes written. */
  sizeBytes: number;
  /** Bytes of file content packed (inBase files excluded). */
  packedBytes: number;
}

/** The kind a file's path suggests: templates by their directory or extension, else what the artifact's name says. */
export function kindOfPath(path: string): EntryKind {
  const base = path.toLowerCase().split("/").at(-1)!;
  if (path.toLowerCase().startsWith("templates/") || /\.(cfg|ks|preseed|seed|xml|j2|liquid)$/.test(base) || base === "user-data" || base === "meta-data") return "template";
  return artifactKindOf(path);
}

/**
 * A spec from a directory (every regular file under it, archive paths relative to it, kinds by name; profiles from
 * `profiles/*.yaml`, which are not packed) or from a YAML spec file (paths in `files[].from` relative to it).
 */
export function loadSpec(input: string, overrides: { name?: string; version?: string } = {}): BundleSpec {
  const info = statSync(input, { throwIfNoEntry: false });
  if (!info) throw new BundleError("missing-file", "does not exist; give a directory of files or a bundle spec (.yaml)", input);
  if (info.isDirectory()) {
    const root = resolve(input);
    const files: BundleSpec["files"] = [];
    const profiles: ManifestProfile[] = [];
    for (const path of walk(root)) {
      const archivePath = relative(root, path).split(sep).join("/");
      if (archivePath.startsWith("profiles/") && archivePath.endsWith(".yaml")) profiles.push(parseYaml(readText(path)));
      else files.push({ path: archivePath, from: path });
    }
    const name = overrides.name ?? root.split(sep).at(-1)!;
    if (!overrides.version) throw new BundleError("invalid-manifest", "a bundle built from a directory needs --bundle-version", input);
    return { name, version: overrides.version, files, profiles };
  }
  // YAML reads an unquoted timestamp as a Date.
  const spec = parseYaml(readText(input)) as (Partial<Omit<BundleSpec, "created" | "expires">> & { created?: unknown; expires?: unknown }) | null;
  if (!spec || typeof spec !== "object") throw new BundleError("invalid-manifest", "is not a YAML mapping with name, version and files", input);
  const base = dirname(resolve(input));
  return {
    name: overrides.name ?? String(spec.name ?? ""),
    version: overrides.version ?? String(spec.version ?? ""),
    created: timeText(spec.created),
    expires: timeText(spec.expires),
    files: (spec.files ?? []).map((f) => ({ ...f, from: resolve(base, f.from ?? f.path) })),
    artifacts: spec.artifacts,
    profiles: spec.profiles ?? [],
  };
}

/** Builds `spec` into `options.out`, deterministically; a failure leaves no output and no temporary file. */
export async function buildBundle(spec: BundleSpec, options: BuildOptions): Promise<BuildResult> {
  const totalBytes = spec.files.reduce((sum, f) => sum + sizeOf(f.from, f.path), 0);
  const entries: ManifestEntry[] = [];
  let hashed = 0;
  let newestMs = 0;
  for (const file of [...spec.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    const problem = entryPathProblem(file.path);
    if (problem) throw new BundleError("path-traversal", `the archive path ${problem}`, file.path);
    const hasher = new Bun.CryptoHasher("sha256");
    let size = 0;
    for await (const chunk of Bun.file(file.from).stream()) {
      hasher.update(chunk);
      size += chunk.byteLength;
      hashed += chunk.byteLength;
      options.progress?.("hashing", hashed, totalBytes);
    }
    newestMs = Math.max(newestMs, statSync(file.from).mtimeMs);
    const sha256 = hasher.digest("hex");
    const inBase = options.base?.entries.some((e) => e.sha256 === sha256 && e.size === size) ?? false;
    entries.push({ path: file.path, size, sha256, kind: file.kind ?? kindOfPath(file.path), ...(inBase ? { inBase: true as const } : {}) });
  }
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    name: spec.name,
    version: spec.version,
    created: spec.created ?? createdTime(newestMs),
    ...(spec.expires === undefined ? {} : { expires: spec.expires }),
    ...(options.base ? { base: { name: options.base.name, version: options.base.version } } : {}),
    entries,
    artifacts: spec.artifacts ?? entries.filter((e) => e.kind !== "template").map((e) => ({ name: e.path, path: e.path, kind: e.kind as ArtifactKind })),
    profiles: spec.profiles ?? [],
  };
  const manifestBytes = writeManifest(manifest);
  const checked = parseManifest(manifestBytes);
  if (!checked.ok) {
    throw new BundleError("invalid-manifest", checked.problems.map((p) => `${p.path || "/"} ${p.message}`).join("; "), MANIFEST_PATH);
  }
  const signature = new TextEncoder().encode(sign(options.secretKey, manifestBytes));
  const carried = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)).filter((e) => !e.inBase);
  const fromOf = new Map(spec.files.map((f) => [f.path, f.from]));
  const packedBytes = carried.reduce((sum, e) => sum + e.size, 0);
  let packed = 0;
  function* members(): Generator<TarStreamEntry> {
    yield { path: MANIFEST_PATH, size: manifestBytes.byteLength, body: once(manifestBytes) };
    yield { path: SIGNATURE_PATH, size: signature.byteLength, body: once(signature) };
    for (const entry of carried) {
      yield {
        path: entry.path,
        size: entry.size,
        body: counted(Bun.file(fromOf.get(entry.path)!).stream(), (n) => {
          packed += n;
          options.progress?.("packing", packed, packedBytes);
        }),
      };
    }
  }

  const tmp = join(dirname(resolve(options.out)), `.${randomUUID()}.partial`);
  const fd = openSync(tmp, "wx", 0o644);
  let sizeBytes = 0;
  try {
    const sink = Bun.file(tmp).writer({ highWaterMark: 8 * 1024 * 1024 });
    for await (const chunk of zstdCompressStream(tarStream(members()))) {
      sink.write(chunk);
      sizeBytes += chunk.byteLength;
      await sink.flush();
    }
    await sink.end();
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, options.out);
  } catch (error) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw error;
  }
  return { manifest, out: options.out, sizeBytes, packedBytes };
}

function timeText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return value instanceof Date ? value.toISOString().replace(/\.000Z$/, "Z") : String(value);
}

function createdTime(newestMs: number): string {
  const epoch = process.env.SOURCE_DATE_EPOCH;
  const ms = epoch !== undefined && /^\d+$/.test(epoch) ? Number(epoch) * 1000 : Math.floor(newestMs / 1000) * 1000;
  return new Date(ms).toISOString().replace(/\.000Z$/, "Z");
}

function sizeOf(from: string, path: string): number {
  const info = statSync(from, { throwIfNoEntry: false });
  if (!info?.isFile()) throw new BundleError("missing-file", `its source ${from} is not a readable regular file`, path);
  return info.size;
}

function readText(path: string): string {
  return readFileSync(path, "utf8");
}

function* walk(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (entry.isFile()) yield path;
    else throw new BundleError("link", "is not a regular file or directory; bundles carry regular files only", path);
  }
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

async function* counted(body: ReadableStream<Uint8Array>, add: (bytes: number) => void): AsyncGenerator<Uint8Array> {
  for await (const chunk of body) {
    add(chunk.byteLength);
    yield chunk;
  }
}

