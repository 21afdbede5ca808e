// A bundle's manifest: what it carries (every file with its size, sha256 and kind) and what it defines (artifacts,
// profiles, templates). Parsing is strict and never throws; writing is canonical, so the same manifest is always the
// same bytes and a build is reproducible. The format is specified in bundles/FORMAT.md.
import { ARTIFACT_KINDS, type ArtifactKind } from "../db/index.ts";
import type { ProfileInput } from "../core/index.ts";
import { INSTALL_KINDS, type InstallKind, OS_FAMILIES, type OsFamily } from "../render/context.ts";

export const MANIFEST_FORMAT = "goosed-bundle/1";
export const MANIFEST_PATH = "manifest.json";
export const SIGNATURE_PATH = "manifest.sig";
/** A manifest is read whole before anything else; this bounds what a hostile archive can make goosed hold. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Templates are read into the database, so they are small text. */
export const MAX_TEMPLATE_BYTES = 1024 * 1024;

export const ENTRY_KINDS = [...ARTIFACT_KINDS, "template"] as const;
export type EntryKind = (typeof ENTRY_KINDS)[number];

export interface ManifestEntry {
  /** Where the file sits in the archive, and how the manifest refers to it. */
  path: string;
  size: number;
  sha256: string;
  kind: EntryKind;
  /** A delta bundle lists its base's files too, marked so; their bytes are not in the archive. */
  inBase?: true;
}

export interface ManifestArtifact {
  name: string;
  /** The entry whose bytes the artifact names. */
  path: string;
  kind: ArtifactKind;
  contentType?: string;
}

/**
 * A profile as the profile API takes it (kernel, initrd and artifacts name artifacts), except that `templates` maps
 * a template name to the path of a `template` entry in this bundle rather than to the template's text.
 */
export type ManifestProfile = ProfileInput & Required<Pick<ProfileInput, "name" | "osFamily" | "kernel">>;

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  name: string;
  version: string;
  /** RFC 3339. */
  created: string;
  /** RFC 3339; past it, import warns (an air-gapped clock may be wrong) but does not refuse. */
  expires?: string;
  /** A delta bundle: the bundle whose files it leaves out. */
  base?: { name: string; version: string };
  entries: ManifestEntry[];
  artifacts: ManifestArtifact[];
  profiles: ManifestProfile[];
}

export interface ManifestProblem {
  /** JSON pointer into the manifest. */
  path: string;
  message: string;
}

export type ManifestResult = { ok: true; value: Manifest } | { ok: false; problems: ManifestProblem[] };

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const VERSION = /^[0-9A-Za-z][0-9A-Za-z.+-]{0,63}$/;
const SHA256 = /^[0-9a-f]{64}$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const ARTIFACT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}(\/[A-Za-z0-9][A-Za-z0-9._-]{0,127}){0,7}$/;
const TEMPLATE_NAMES = new Set<string>([...INSTALL_KINDS.filter((k) => k !== "none" && k !== "cloud-init"), "meta-data", "user-data", "vendor-data"]);

/**
 * A path in the archive: relative, '/'-separated segments of printable characters, none empty, "." or "..", and
 * not the manifest's own names. Why a path is refused, or null.
 */
export function entryPathProblem(path: string): string | null {
  if (path.length === 0 || path.length > 1024) return "must be 1 to 1024 characters";
  if (path.startsWith("/")) return "must be relative, not absolute";
  if (path.includes("\\")) return "must use '/' to separate directories";
  if (/[\u0000-\u001f\u007f]/.test(path)) return "must not contain control characters";
  const segments = path.split("/");
  if (segments.some((s) => s === "" || s === "." || s === "..")) return "must not contain empty, '.' or '..' segments";
  if (path === MANIFEST_PATH || path === SIGNATURE_PATH) return `${path} is the bundle's own`;
  return null;
}

/** Parses and checks a manifest's bytes: every problem is reported, with where it is. */
export function parseManifest(bytes: Uint8Array): ManifestResult {
  if (bytes.byteLength > MAX_MANIFEST_BYTES) return fail("", `the manifest is larger than ${MAX_MANIFEST_BYTES} bytes`);
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    return fail("", `the manifest is not UTF-8 JSON: ${(error as Error).message}`);
  }
  const problems: ManifestProblem[] = [];
  const at = (path: string, message: string) => problems.push({ path, message });
  if (!isObject(raw)) return fail("", "the manifest must be a JSON object");
  allowOnly(raw, "", ["format", "name", "version", "created", "expires", "base", "entries", "artifacts", "profiles"], at);
  if (raw.format !== MANIFEST_FORMAT) at("/format", `must be "${MANIFEST_FORMAT}"; this goosed reads no other bundle format`);
  text(raw, "name", "", NAME, "1 to 64 letters, digits, '.', '_' or '-'", at);
  text(raw, "version", "", VERSION, "1 to 64 letters, digits, '.', '+' or '-', e.g. 2026.11.1", at);
  text(raw, "created", "", RFC3339, "an RFC 3339 time, e.g. 2026-11-25T12:00:00Z", at);
  if (raw.expires !== undefined) text(raw, "expires", "", RFC3339, "an RFC 3339 time", at);
  if (raw.base !== undefined) {
    if (!isObject(raw.base)) at("/base", "must be an object with name and version");
    else {
      allowOnly(raw.base, "/base", ["name", "version"], at);
      text(raw.base, "name", "/base", NAME, "a bundle name", at);
      text(raw.base, "version", "/base", VERSION, "a bundle version", at);
    }
  }

  const entries = list(raw, "entries", at);
  const byPath = new Map<string, Record<string, unknown>>();
  entries.forEach((entry, i) => {
    const where = `/entries/${i}`;
    if (!isObject(entry)) return at(where, "must be an object");
    allowOnly(entry, where, ["path", "size", "sha256", "kind", "inBase"], at);
    if (typeof entry.path !== "string") at(`${where}/path`, "must be a string");
    else {
      const problem = entryPathProblem(entry.path);
      if (problem) at(`${where}/path`, `${JSON.stringify(entry.path)} ${problem}`);
      else if (byPath.has(entry.path)) at(`${where}/path`, `${JSON.stringify(entry.path)} is listed twice`);
      else byPath.set(entry.path, entry);
    }
    if (!Number.isSafeInteger(entry.size) || (entry.size as number) < 0) at(`${where}/size`, "must be a whole number of bytes");
    text(entry, "sha256", where, SHA256, "64 lower-case hex digits", at);
    if (!ENTRY_KINDS.includes(entry.kind as EntryKind)) at(`${where}/kind`, `must be one of ${ENTRY_KINDS.join(", ")}`);
    if (entry.inBase !== undefined && entry.inBase !== true) at(`${where}/inBase`, "must be true when present");
    if (entry.kind === "template" && typeof entry.size === "number" && entry.size > MAX_TEMPLATE_BYTES) at(`${where}/size`, `templates are at most ${MAX_TEMPLATE_BYTES} bytes`);
  });
  if (raw.base === undefined && entries.some((e) => isObject(e) && e.inBase !== undefined)) at("/entries", "only a delta bundle (one with a base) has inBase entries");

  const artifacts = list(raw, "artifacts", at);
  const artifactNames = new Set<string>();
  artifacts.forEach((artifact, i) => {
    const where = `/artifacts/${i}`;
    if (!isObject(artifact)) return at(where, "must be an object");
    allowOnly(artifact, where, ["name", "path", "kind", "contentType"], at);
    if (text(artifact, "name", where, ARTIFACT_NAME, "an artifact name: up to 8 '/'-separated parts of letters, digits, '.', '_', '-'", at)) {
      if (artifactNames.has(artifact.name as string)) at(`${where}/name`, `${JSON.stringify(artifact.name)} is defined twice`);
      artifactNames.add(artifact.name as string);
    }
    const entry = typeof artifact.path === "string" ? byPath.get(artifact.path) : undefined;
    if (!entry) at(`${where}/path`, "must be the path of an entry in this manifest");
    else if (entry.kind === "template") at(`${where}/path`, "names a template entry; artifacts are kernels, initrds, images and other files");
    if (!ARTIFACT_KINDS.includes(artifact.kind as ArtifactKind)) at(`${where}/kind`, `must be one of ${ARTIFACT_KINDS.join(", ")}`);
    if (artifact.contentType !== undefined && typeof artifact.contentType !== "string") at(`${where}/contentType`, "must be a string");
  });

  const profiles = list(raw, "profiles", at);
  const profileNames = new Set<string>();
  profiles.forEach((profile, i) => {
    const where = `/profiles/${i}`;
    if (!isObject(profile)) return at(where, "must be an object");
    allowOnly(profile, where, ["name", "description", "osFamily", "kernel", "initrd", "artifacts", "cmdline", "installTemplate", "templates", "vars"], at);
    if (text(profile, "name", where, NAME, "a profile name", at)) {
      if (profileNames.has(profile.name as string)) at(`${where}/name`, `${JSON.stringify(profile.name)} is defined twice`);
      profileNames.add(profile.name as string);
    }
    if (!OS_FAMILIES.includes(profile.osFamily as OsFamily)) at(`${where}/osFamily`, `must be one of ${OS_FAMILIES.join(", ")}`);
    if (typeof profile.kernel !== "string" || profile.kernel === "") at(`${where}/kernel`, "must name the kernel's artifact");
    if (profile.initrd !== undefined && !(Array.isArray(profile.initrd) && profile.initrd.every((x) => typeof x === "string"))) at(`${where}/initrd`, "must be a list of artifact names");
    if (profile.artifacts !== undefined && !stringRecord(profile.artifacts)) at(`${where}/artifacts`, "must map names to artifact names");
    if (profile.description !== undefined && typeof profile.description !== "string") at(`${where}/description`, "must be a string");
    if (profile.cmdline !== undefined && profile.cmdline !== null && typeof profile.cmdline !== "string") at(`${where}/cmdline`, "must be a string or null");
    if (profile.installTemplate !== undefined && !INSTALL_KINDS.includes(profile.installTemplate as InstallKind)) at(`${where}/installTemplate`, `must be one of ${INSTALL_KINDS.join(", ")}`);
    if (profile.vars !== undefined && !isObject(profile.vars)) at(`${where}/vars`, "must be an object");
    if (profile.templates !== undefined) {
      if (!stringRecord(profile.templates)) at(`${where}/templates`, "must map template names to template entries");
      else {
        for (const [name, path] of Object.entries(profile.templates)) {
          if (!TEMPLATE_NAMES.has(name)) at(`${where}/templates/${name}`, `is not a template goosed renders (${[...TEMPLATE_NAMES].join(", ")})`);
          if (byPath.get(path)?.kind !== "template") at(`${where}/templates/${name}`, `${JSON.stringify(path)} must be the path of a template entry in this manifest`);
        }
      }
    }
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: raw as unknown as Manifest };
}

/**
 * The canonical bytes of a manifest: keys in a fixed order, entries sorted by path, artifacts and profiles by name,
 * two-space JSON and a final newline. Building twice from the same inputs gives the same bytes, and so the same
 * signature (ed25519 is deterministic).
 */
export function writeManifest(manifest: Manifest): Uint8Array {
  const ordered = {
    format: manifest.format,
    name: manifest.name,
    version: manifest.version,
    created: manifest.created,
    ...(manifest.expires === undefined ? {} : { expires: manifest.expires }),
    ...(manifest.base === undefined ? {} : { base: { name: manifest.base.name, version: manifest.base.version } }),
    entries: [...manifest.entries]
      .sort((a, b) => compareText(a.path, b.path))
      .map((e) => ({ path: e.path, size: e.size, sha256: e.sha256, kind: e.kind, ...(e.inBase ? { inBase: true } : {}) })),
    artifacts: [...manifest.artifacts]
      .sort((a, b) => compareText(a.name, b.name))
      .map((a) => ({ name: a.name, path: a.path, kind: a.kind, ...(a.contentType === undefined ? {} : { contentType: a.contentType }) })),
    profiles: [...manifest.profiles].sort((a, b) => compareText(a.name, b.name)).map(sortedKeys),
  };
  return new TextEncoder().encode(`${JSON.stringify(ordered, null, 2)}\n`);
}

/**
 * Orders bundle versions: dot- and dash-separated parts compared left to right, numerically when both parts are
 * digits and by code point otherwise; a version that is a prefix of another is older (2026.11 < 2026.11.1).
 */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.+-]/);
  const pb = b.split(/[.+-]/);
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    const order = /^\d+$/.test(x) && /^\d+$/.test(y) ? Math.sign(Number(BigInt(x) - BigInt(y))) : compareText(x, y);
    if (order !== 0) return order;
  }
  return Math.sign(pa.length - pb.length);
}

const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Object keys sorted at every depth, so profile variables serialise the same whatever order they were given in. */
function sortedKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map(sortedKeys) as T;
  if (!isObject(value)) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort(compareText)
      .map((k) => [k, sortedKeys(value[k])]),
  ) as T;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function stringRecord(value: unknown): value is Record<string, string> {
  return isObject(value) && Object.values(value).every((v) => typeof v === "string");
}

function fail(path: string, message: string): ManifestResult {
  return { ok: false, problems: [{ path, message }] };
}

function allowOnly(value: Record<string, unknown>, where: string, keys: string[], at: (path: string, message: string) => void): void {
  for (const key of Object.keys(value)) if (!keys.includes(key)) at(`${where}/${key}`, "is not a field this bundle format has");
}

function text(value: Record<string, unknown>, key: string, where: string, pattern: RegExp, expected: string, at: (path: string, message: string) => void): boolean {
  const found = value[key];
  if (typeof found === "string" && pattern.test(found)) return true;
  at(`${where}/${key}`, found === undefined ? `is missing; expected ${expected}` : `${JSON.stringify(found)} is not ${expected}`);
  return false;
}

function list(value: Record<string, unknown>, key: string, at: (path: string, message: string) => void): unknown[] {
  const found = value[key];
  if (found === undefined) {
    at(`/${key}`, "is missing; expected a list (it may be empty)");
    return [];
  }
  if (!Array.isArray(found)) {
    at(`/${key}`, "must be a list");
    return [];
  }
  return found;
}
