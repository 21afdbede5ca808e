// `goosed bundle build|inspect|verify|import|list`: signed offline bundles, from a connected machine to the lab.
import { readFileSync, statSync } from "node:fs";
import type { CAC } from "cac";
import { buildBundle, loadSpec } from "../bundles/build.ts";
import { compareVersions, type Manifest, parseManifest } from "../bundles/manifest.ts";
import { BundleError, readBundle, readBundleHead, type SignerLookup } from "../bundles/read.ts";
import { readPublicKey, readSecretKey, SIGNIFY_REASON_TEXT, signatureKeyId } from "../bundles/signify.ts";
import { zstdDecompressStream } from "../bundles/zstd.ts";
import type { ApiClient } from "./client.ts";
import { type JobView, watchJob } from "./jobs.ts";
import { age, createByteProgress, mib, printJson, printTable } from "./output.ts";
import { CliError, UsageError } from "./usage.ts";

const MiB = 1024 * 1024;

/** A bundle file's manifest and the key id its signature names, read without verifying anything. */
async function manifestOf(file: string): Promise<{ manifest: Manifest; signer: string | null }> {
  const head = await readBundleHead(zstdDecompressStream(Bun.file(file).stream(), { maxOutputBytes: 64 * MiB })).catch((error: unknown) => {
    throw new CliError(`${file} is not a bundle: ${(error as Error).message}`);
  });
  const parsed = parseManifest(head.manifestBytes);
  if (!parsed.ok) throw new CliError(`${file}: its manifest is not valid: ${parsed.problems.map((p) => `${p.path} ${p.message}`).join("; ")}`);
  const signer = signatureKeyId(head.signatureText);
  return { manifest: parsed.value, signer: signer.ok ? signer.value : null };
}

export function registerBundles(cli: CAC, client: (options: Record<string, unknown>) => ApiClient): void {
  cli
    .command("bundle build <input>", "Build a signed bundle from a directory or a spec (.yaml); the same inputs and key give the same bytes")
    .option("--key <file>", "the signing key (.sec from goosed keys generate)")
    .option("--out <file>", "the bundle to write (default NAME-VERSION.tar.zst)")
    .option("--name <name>", "bundle name (default: the spec's, or the directory's name)")
    // Not --version: that is goosed's own.
    .option("--bundle-version <version>", "bundle version (default: the spec's; required for a directory)")
    .option("--base <file>", "build a delta: leave out files this bundle (or manifest.json) already carries")
    .action(async (input: string, options: Record<string, unknown>) => {
      if (options.key === undefined) throw new UsageError("--key is required: the .sec file that signs the bundle", "bundle build");
      const secret = readSecretKey(readText(String(options.key)));
      if (!secret.ok) throw new CliError(`${options.key}: ${SIGNIFY_REASON_TEXT[secret.reason]}`);
      const spec = loadSpecOrFail(input, options);
      const base = options.base === undefined ? undefined : await baseManifest(String(options.base));
      const out = options.out === undefined ? `${spec.name}-${spec.version}.tar.zst` : String(options.out);
      const progress = createByteProgress();
      let phase = "";
      const built = await buildBundle(spec, {
        secretKey: secret.value,
        out,
        base,
        progress: (now, done, total) => {
          if (now !== phase) progress.restart();
          phase = now;
          progress.update(now, done, total);
        },
      }).catch((error: unknown) => {
        if (error instanceof BundleError) throw new CliError(error.message);
        throw error;
      });
      progress.done();
      if (options.json) return printJson({ out: built.out, sizeBytes: built.sizeBytes, manifest: built.manifest });
      const carried = built.manifest.entries.filter((e) => !e.inBase).length;
      process.stdout.write(`${built.out}: ${built.manifest.name} ${built.manifest.version}, ${carried} files (${mib(built.packedBytes)}) in ${mib(built.sizeBytes)}, signed by ${secret.value.keyId}\n`);
    });

  cli.command("bundle inspect <file>", "Show a bundle's manifest and signer, without verifying it").action(async (file: string, options: Record<string, unknown>) => {
    const { manifest, signer } = await manifestOf(file);
    if (options.json) return printJson({ signer, manifest });
    process.stdout.write(`${manifest.name} ${manifest.version}, created ${manifest.created}${manifest.expires ? `, expires ${manifest.expires}` : ""}, signed by ${signer ?? "?"}\n`);
    if (manifest.base) process.stdout.write(`delta on ${manifest.base.name} ${manifest.base.version}\n`);
    printTable(
      ["path", "kind", "size", "sha256"],
      manifest.entries.map((e) => [e.path, e.kind, e.inBase ? "(in base)" : mib(e.size), e.sha256.slice(0, 16)]),
    );
    if (manifest.profiles.length > 0) process.stdout.write(`profiles: ${manifest.profiles.map((p) => p.name).join(", ")}\n`);
  });

  cli
    .command("bundle verify <file>", "Check a bundle's signature and every file, offline; say what importing it would change")
    .option("--key <file>", "a trusted public key (.pub); repeat for several; default: the appliance's trusted keys")
    .action(async (file: string, options: Record<string, unknown>) => {
      const keys = [options.key ?? []].flat().map((k) => String(k));
      const trusted = keys.length > 0 ? keys.map((k) => ({ publicKey: readText(k), name: k })) : (await client(options).request<{ items: { publicKey: string; name: string; state: string }[] }>("GET", "/v1/keys")).items.filter((k) => k.state === "trusted");
      const lookup: SignerLookup = (keyId) => {
        const key = trusted.find((k) => {
          const parsed = readPublicKey(k.publicKey);
          return parsed.ok && parsed.value.keyId === keyId;
        });
        return key ? { state: "trusted", publicKey: key.publicKey, name: key.name } : null;
      };
      const total = statSync(file).size;
      const progress = createByteProgress();
      let read = 0;
      const counted = async function* () {
        for await (const chunk of Bun.file(file).stream()) {
          read += chunk.byteLength;
          progress.update("verifying", read, total);
          yield chunk;
        }
      };
      const result = await readBundle(zstdDecompressStream(counted(), { maxOutputBytes: 16 * 1024 * MiB * 1024 }), lookup, {
        async entry(entry, body) {
          const hasher = new Bun.CryptoHasher("sha256");
          for await (const chunk of body) hasher.update(chunk);
          if (hasher.digest("hex") !== entry.sha256) throw new BundleError("hash-mismatch", "its content does not match the sha256 in the manifest", entry.path);
        },
      }).catch((error: unknown) => {
        progress.done();
        if (error instanceof BundleError) throw new CliError(`refused (${error.reason}): ${error.message}`);
        throw error;
      });
      progress.done();
      const m = result.manifest;
      if (options.json) return printJson({ ok: true, signer: result.signer, manifest: m });
      process.stdout.write(`${file}: ${m.name} ${m.version} verified, signed by ${result.signer.name} (${result.signer.keyId}), ${m.entries.length} files\n`);
      if (m.expires && Date.parse(m.expires) < Date.now()) process.stdout.write(`warning: expired at ${m.expires} (an import warns but goes ahead)\n`);
      for (const line of await changes(m, keys.length > 0 ? null : client(options))) process.stdout.write(`${line}\n`);
    });

  cli
    .command("bundle import <file>", "Import a bundle: upload it to the appliance and follow the import job (or --on-appliance for a path there)")
    .option("--allow-downgrade", "import even if a newer version of this bundle is installed")
    .option("--on-appliance", "FILE is a path on the appliance (a mounted USB stick), not here")
    .action(async (file: string, options: Record<string, unknown>) => {
      const api = client(options);
      let job: JobView;
      if (options.onAppliance) {
        job = await api.request<JobView>("POST", "/v1/bundles/import", { path: file, allowDowngrade: options.allowDowngrade === true });
      } else {
        const size = statSync(file, { throwIfNoEntry: false })?.size;
        if (size === undefined) throw new CliError(`cannot read ${file}; check the path (or pass --on-appliance for a path on the appliance)`);
        const progress = createByteProgress();
        let sent = 0;
        const body = Bun.file(file)
          .stream()
          .pipeThrough(
            new TransformStream<Uint8Array, Uint8Array>({
              transform(chunk, controller) {
                sent += chunk.byteLength;
                progress.update("uploading", sent, size);
                controller.enqueue(chunk);
              },
            }),
          );
        job = await api.upload<JobView>("PUT", `/v1/bundles/upload${options.allowDowngrade ? "?allowDowngrade=true" : ""}`, body, size);
        progress.done();
      }
      const finished = await watchJob(api, job.id);
      if (options.json) return printJson(finished);
      if (finished.state !== "succeeded") throw new CliError(finished.error ?? `the import job ${finished.id} ${finished.state}`);
      const result = finished.result as { name: string; version: string; entries: number; newBlobs: number; newBytes: number; warnings: string[] };
      for (const warning of result.warnings) process.stderr.write(`warning: ${warning}\n`);
      process.stdout.write(`imported ${result.name} ${result.version}: ${result.entries} files, ${result.newBlobs} new (${mib(result.newBytes)})\n`);
    });

  cli.command("bundle list", "List imported bundles, newest first").action(async (options: Record<string, unknown>) => {
    const { items } = await client(options).request<{ items: { name: string; version: string; signerKeyId: string; importedAt: string; summary: { entries: number; newBytes: number } }[] }>("GET", "/v1/bundles");
    if (options.json) return printJson(items);
    printTable(
      ["name", "version", "signer", "files", "imported"],
      items.map((b) => [b.name, b.version, b.signerKeyId, b.summary.entries, age(b.importedAt)]),
    );
  });
}

/**
 * What importing `m` would change on the appliance, as lines: the version step, and artifacts and profiles that are
 * new, changed or unchanged. Offline (no appliance asked), what the bundle defines.
 */
async function changes(m: Manifest, api: ApiClient | null): Promise<string[]> {
  const state = api
    ? await Promise.all([
        api.request<{ items: { name: string; version: string }[] }>("GET", "/v1/bundles"),
        api.request<{ items: { name: string; digest: string }[] }>("GET", "/v1/artifacts"),
        api.request<{ items: { name: string }[] } | { name: string }[]>("GET", "/v1/profiles"),
      ]).catch(() => null)
    : null;
  if (!state) {
    return [
      `defines artifacts: ${m.artifacts.map((a) => a.name).join(", ") || "none"}`,
      `defines profiles: ${m.profiles.map((p) => p.name).join(", ") || "none"}`,
    ];
  }
  const [bundles, artifacts, profiles] = state;
  const installed = bundles.items.filter((b) => b.name === m.name).map((b) => b.version).sort(compareVersions).at(-1);
  const step =
    installed === undefined
      ? `new bundle ${m.name} ${m.version}`
      : compareVersions(m.version, installed) < 0
        ? `${m.version} is OLDER than the installed ${installed}: refused unless --allow-downgrade`
        : `${m.name} ${installed} → ${m.version}`;
  const digests = new Map(artifacts.items.map((a) => [a.name, a.digest]));
  const entryDigest = new Map(m.entries.map((e) => [e.path, e.sha256]));
  const group = (names: string[], label: string) => (names.length > 0 ? [`${label}: ${names.join(", ")}`] : []);
  const newArtifacts = m.artifacts.filter((a) => !digests.has(a.name)).map((a) => a.name);
  const changed = m.artifacts.filter((a) => digests.has(a.name) && digests.get(a.name) !== entryDigest.get(a.path)).map((a) => a.name);
  const same = m.artifacts.length - newArtifacts.length - changed.length;
  const profileNames = new Set((Array.isArray(profiles) ? profiles : profiles.items).map((p) => p.name));
  return [
    step,
    ...group(newArtifacts, "new artifacts"),
    ...group(changed, "changed artifacts"),
    ...(same > 0 ? [`unchanged artifacts: ${same}`] : []),
    ...group(m.profiles.filter((p) => !profileNames.has(p.name)).map((p) => p.name), "new profiles"),
    ...group(m.profiles.filter((p) => profileNames.has(p.name)).map((p) => p.name), "replaced profiles"),
  ];
}

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new CliError(`cannot read ${path} (${(err as NodeJS.ErrnoException).code}); check the path`);
  }
}

function loadSpecOrFail(input: string, options: Record<string, unknown>) {
  try {
    return loadSpec(input, { name: options.name === undefined ? undefined : String(options.name), version: options.bundleVersion === undefined ? undefined : String(options.bundleVersion) });
  } catch (error) {
    if (error instanceof BundleError) throw new CliError(error.message);
    throw error;
  }
}

async function baseManifest(file: string): Promise<Manifest> {
  if (file.endsWith(".json")) {
    const parsed = parseManifest(new TextEncoder().encode(readText(file)));
    if (!parsed.ok) throw new CliError(`${file} is not a bundle manifest: ${parsed.problems[0]!.path} ${parsed.problems[0]!.message}`);
    return parsed.value;
  }
  return (await manifestOf(file)).manifest;
}

