// Importing a bundle, as the `bundles.import` job: signature first, then every file streamed through sha256 into the
// blob store (content already there is only read past), then artifacts, profiles and the bundle's record in one
// transaction. A refusal or a crash registers nothing; blobs written before it are unreferenced and collected.
import { Type } from "@sinclair/typebox";
import { existsSync, rmSync, statSync } from "node:fs";
import { type Actor, type Core, defineJob, PermanentJobError } from "../core/index.ts";
import { recordAudit } from "../core/audit.ts";
import type { Logger } from "../lib/logger.ts";
import type { BlobBackend } from "../objects/backend.ts";
import { BlobWriteError } from "../objects/backend.ts";
import type { ObjectCatalog } from "../objects/catalog.ts";
import { compareVersions, type ManifestEntry } from "./manifest.ts";
import { BundleError, readBundle, type SignerLookup } from "./read.ts";
import type { TrustStore } from "./trust.ts";
import { zstdDecompressStream } from "./zstd.ts";

export const importBundlePayload = Type.Object(
  {
    path: Type.String({ minLength: 1, description: "the bundle file on the appliance, e.g. on a mounted USB stick" }),
    allowDowngrade: Type.Optional(Type.Boolean({ description: "import even if a newer version of this bundle is installed" })),
    removeAfter: Type.Optional(Type.Boolean({ description: "delete the file once imported or refused (an upload goosed stored)" })),
  },
  { additionalProperties: false },
);

export interface ImportDeps {
  core: Core;
  trust: TrustStore;
  catalog: ObjectCatalog;
  backend: BlobBackend;
}

export interface ImportSummary {
  name: string;
  version: string;
  signer: string;
  entries: number;
  bytes: number;
  newBlobs: number;
  newBytes: number;
  warnings: string[];
}

/** The trust store as the reader asks it. */
export function signerLookup(trust: TrustStore): SignerLookup {
  return (keyId) => {
    const key = trust.get(keyId);
    if (!key) return null;
    return key.revokedAt === null ? { state: "trusted", publicKey: key.publicKey, name: key.name } : { state: "revoked", name: key.name };
  };
}

/** The newest version of `name` imported so far, or null. */
export function installedVersion(core: Core, name: string): string | null {
  const versions = core.store.sqlite.query<{ version: string }, [string]>("SELECT version FROM bundles WHERE name = ?").all(name);
  return versions.map((v) => v.version).sort(compareVersions).at(-1) ?? null;
}

// A decompressed bundle beyond this is refused whatever its manifest says; the reader's own budget is tighter.
const MAX_DECOMPRESSED_BYTES = 16 * 1024 ** 4;

// A kernel-and-squashfs bundle is a few huge files: progress must move inside a file, not only between them. The job
// queue writes progress at most four times a second, so this only bounds the work of formatting the line.
const PROGRESS_EVERY_BYTES = 4 * 1024 * 1024;

/** Imports the bundle at `path`; throws BundleError on refusal. */
export async function importBundle(
  path: string,
  deps: ImportDeps,
  options: { allowDowngrade?: boolean; actor: Actor; log: Logger; progress: (fraction: number, message: string) => void; signal?: AbortSignal },
): Promise<ImportSummary> {
  const { core, catalog, backend } = deps;
  const fileBytes = statSync(path).size;
  let compressedRead = 0;
  const warnings: string[] = [];
  let newBlobs = 0;
  let newBytes = 0;
  // What is being read now; the progress line repeats it while one large file streams past.
  let reading = "opening";
  let reportedAt = 0;
  const counted = async function* (): AsyncGenerator<Uint8Array> {
    for await (const chunk of Bun.file(path).stream()) {
      options.signal?.throwIfAborted();
      compressedRead += chunk.byteLength;
      if (compressedRead - reportedAt >= PROGRESS_EVERY_BYTES) report(reading);
      yield chunk;
    }
  };
  const startedMs = performance.now();
  // Bytes of the bundle file read so far, its rate and the time left: what a progress bar on the status page shows.
  const report = (what: string) => {
    const seconds = Math.max((performance.now() - startedMs) / 1000, 0.001);
    const rate = compressedRead / seconds;
    const left = rate > 0 ? Math.ceil((fileBytes - compressedRead) / rate) : 0;
    const mib = (bytes: number) => (bytes / 1048576).toFixed(1);
    reading = what;
    reportedAt = compressedRead;
    options.progress(fileBytes === 0 ? 1 : Math.min(compressedRead / fileBytes, 0.99), `${what}: ${mib(compressedRead)} of ${mib(fileBytes)} MiB, ${mib(rate)} MiB/s, ${left} s left`);
  };

  const read = await readBundle(zstdDecompressStream(counted(), { maxOutputBytes: MAX_DECOMPRESSED_BYTES }), signerLookup(deps.trust), {
    manifest: async (manifest, signer) => {
      const installed = installedVersion(core, manifest.name);
      if (installed !== null && compareVersions(manifest.version, installed) < 0 && !options.allowDowngrade) {
        throw new BundleError("downgrade", `version ${manifest.version} is older than the installed ${installed}; import with --allow-downgrade to go back`, "manifest.json");
      }
      if (manifest.expires !== undefined && Date.parse(manifest.expires) < Date.now()) {
        const warning = `bundle ${manifest.name} ${manifest.version} expired at ${manifest.expires}; imported anyway (check the appliance's clock if that is wrong)`;
        warnings.push(warning);
        options.log.warn(warning, { component: "bundles" });
      }
      for (const entry of manifest.entries.filter((e) => e.inBase)) {
        if (!(await backend.has(entry.sha256))) {
          throw new BundleError("missing-base-content", `is in the base bundle ${manifest.base?.name} ${manifest.base?.version}, whose content this appliance does not have; import the base first`, entry.path);
        }
      }
      report(`signed by ${signer.name} (${signer.keyId}); reading ${manifest.entries.length} files`);
    },
    entry: async (entry: ManifestEntry, body) => {
      report(`reading ${entry.path}`);
      if (await backend.has(entry.sha256)) {
        // Held already: read past it. Its bytes here are not what gets registered, so they need no hash.
        for await (const _ of body);
        return;
      }
      try {
        await backend.put(body, { expectedSha256: entry.sha256, expectedBytes: entry.size, md5: false, signal: options.signal });
      } catch (error) {
        // A refusal raised while the blob store read this file's bytes (the archive cut inside it) comes back wrapped.
        if (error instanceof BlobWriteError && error.cause instanceof BundleError) throw error.cause;
        if (error instanceof BlobWriteError && error.reason === "sha256-mismatch") throw new BundleError("hash-mismatch", "its content does not match the sha256 in the manifest", entry.path);
        if (error instanceof BlobWriteError && error.reason === "size-mismatch") throw new BundleError("size-mismatch", error.message, entry.path);
        throw error;
      }
      newBlobs++;
      newBytes += entry.size;
    },
  });
  const manifest = read.manifest;
  const templates = new Map<string, string>();
  for (const entry of manifest.entries.filter((e) => e.kind === "template")) {
    const body = await backend.read(entry.sha256);
    if (!body) throw new BundleError("missing-file", "its content is missing from the blob store", entry.path);
    templates.set(entry.path, await new Response(body).text());
  }

  const summary: ImportSummary = {
    name: manifest.name,
    version: manifest.version,
    signer: read.signer.keyId,
    entries: manifest.entries.length,
    bytes: manifest.entries.reduce((sum, e) => sum + e.size, 0),
    newBlobs,
    newBytes,
    warnings,
  };
  const entryByPath = new Map(manifest.entries.map((e) => [e.path, e]));
  const now = Date.now();
  // One transaction: profiles write through it, the catalog's own transactions nest in it as savepoints, so all of it
  // lands or none does.
  const profileNames = new Set(core.profiles.list().map((p) => p.name));
  core.store.db.transaction((tx) => {
    for (const artifact of manifest.artifacts) {
      const entry = entryByPath.get(artifact.path)!;
      catalog.putArtifact(
        { name: artifact.name, kind: artifact.kind, digest: entry.sha256, sizeBytes: entry.size, contentType: artifact.contentType ?? "application/octet-stream", source: `bundle:${manifest.name}@${manifest.version}` },
        options.actor,
      );
    }
    for (const profile of manifest.profiles) {
      const input = {
        ...profile,
        templates: profile.templates === undefined ? undefined : Object.fromEntries(Object.entries(profile.templates).map(([name, path]) => [name, templates.get(path)!])),
      };
      if (profileNames.has(profile.name)) core.profiles.update(profile.name, input, options.actor, tx);
      else core.profiles.create(input, options.actor, tx);
    }
    core.store.sqlite
      .query("INSERT INTO bundles (name, version, signer_key_id, manifest_sha256, manifest, summary, imported_by, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
      .run(
        manifest.name,
        manifest.version,
        read.signer.keyId,
        new Bun.CryptoHasher("sha256").update(read.manifestBytes).digest("hex"),
        new TextDecoder().decode(read.manifestBytes),
        JSON.stringify({ entries: summary.entries, bytes: summary.bytes, newBlobs, newBytes }),
        options.actor.id,
        now,
      );
    recordAudit(core.store.db, options.actor, "bundle.import", `${manifest.name}@${manifest.version}`, { signer: read.signer.keyId, newBlobs, newBytes }, now);
  });
  core.bus.publish("bundle.imported", `${manifest.name}@${manifest.version}`, { ...summary });
  options.progress(1, `imported ${manifest.name} ${manifest.version}: ${summary.entries} files, ${newBlobs} new`);
  return summary;
}

/** The job type every import runs as: from the API, the status page's button, or the USB watcher. */
export const IMPORT_BUNDLE_JOB = "bundles.import";

export function importBundleJob(deps: ImportDeps) {
  return defineJob({
    type: IMPORT_BUNDLE_JOB,
    description: "verify a signed bundle and import its files, artifacts and profiles",
    payload: importBundlePayload,
    concurrency: 1,
    // A refused bundle stays refused; only I/O faults are worth another attempt.
    maxAttempts: 2,
    operatorStartable: true,
    async run(payload, ctx) {
      if (!existsSync(payload.path)) throw new PermanentJobError(`${payload.path} does not exist on the appliance; check the path or the mounted stick`);
      try {
        return await importBundle(payload.path, deps, {
          allowDowngrade: payload.allowDowngrade,
          actor: { id: `job:${ctx.jobId}` },
          log: ctx.log,
          progress: (fraction, message) => ctx.progress(fraction, message),
          signal: ctx.signal,
        });
      } catch (error) {
        if (error instanceof BundleError) {
          deps.core.bus.publish("bundle.refused", payload.path, { reason: error.reason, entry: error.entry ?? null, message: error.message });
          throw new PermanentJobError(`bundle refused (${error.reason}): ${error.message}`);
        }
        throw error;
      } finally {
        if (payload.removeAfter) rmSync(payload.path, { force: true });
      }
    },
  });
}
