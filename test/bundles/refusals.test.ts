// Every refusal of issue 6, each with its own crafted archive, imported in process against a real core: the right
// reason, the message naming the member, and afterwards nothing registered (artifacts, profiles, bundles), nothing in
// the blob store's tmp/ and nothing under bundles/incoming. The import job's refusal is an event and a permanent error.
import { afterAll, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { importBundle, importBundleJob, type ImportDeps } from "../../src/bundles/import.ts";
import { type Manifest, type ManifestEntry, MANIFEST_FORMAT, MANIFEST_PATH, SIGNATURE_PATH } from "../../src/bundles/manifest.ts";
import { BundleError, type BundleRefusal, readBundle } from "../../src/bundles/read.ts";
import { generateKeyPair, readSecretKey, type SignifySecretKey } from "../../src/bundles/signify.ts";
import { TrustStore } from "../../src/bundles/trust.ts";
import { zstdDecompressStream } from "../../src/bundles/zstd.ts";
import { type JobContext, PermanentJobError } from "../../src/core/index.ts";
import { ObjectCatalog } from "../../src/objects/catalog.ts";
import { LocalBlobBackend } from "../../src/objects/local-backend.ts";
import { type CraftMember, type CraftOptions, craftBundle, fileMember, signedHead } from "../support/bundle-craft.ts";
import { openTestCore, type TestCore } from "../support/core.ts";
import { tempDir } from "../support/goosed.ts";

const MiB = 1024 * 1024;
const actor = { id: "test" };
const log = { debug() {}, info() {}, warn() {}, error() {}, child: () => log };
const work = tempDir("goosed-refusals-");
afterAll(() => work[Symbol.asyncDispose]());

function secretKeyOf(pair: { secretKeyFile: string }): SignifySecretKey {
  const key = readSecretKey(pair.secretKeyFile);
  if (!key.ok) throw new Error(key.reason);
  return key.value;
}
const releasePair = generateKeyPair("release");
const release = secretKeyOf(releasePair);

const sha256 = (bytes: Uint8Array) => new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
const linux = randomBytes(3000);
const initrd = randomBytes(70 * 1024 + 3);
const preseed = new TextEncoder().encode("d-i debian-installer/locale string en_US\n");
const files: Record<string, { bytes: Uint8Array; kind: ManifestEntry["kind"] }> = {
  "lab/initrd.gz": { bytes: initrd, kind: "initrd" },
  "lab/linux": { bytes: linux, kind: "kernel" },
  "templates/preseed.cfg": { bytes: preseed, kind: "template" },
};
const entryOf = (path: string): ManifestEntry => ({ path, size: files[path]!.bytes.byteLength, sha256: sha256(files[path]!.bytes), kind: files[path]!.kind });

/** A valid manifest for the three files above: two artifacts and a profile with a template. */
function manifestOf(overrides: Partial<Manifest> = {}): Manifest {
  return {
    format: MANIFEST_FORMAT,
    name: "lab",
    version: "2.0",
    created: "2026-11-25T12:00:00Z",
    entries: Object.keys(files).map(entryOf),
    artifacts: [
      { name: "lab/initrd", path: "lab/initrd.gz", kind: "initrd" },
      { name: "lab/linux", path: "lab/linux", kind: "kernel" },
    ],
    profiles: [{ name: "lab", osFamily: "debian", kernel: "lab/linux", initrd: ["lab/initrd"], templates: { preseed: "templates/preseed.cfg" } }],
    ...overrides,
  };
}
const bodies = (): CraftMember[] => Object.keys(files).map((path) => fileMember(path, files[path]!.bytes));

interface Env extends AsyncDisposable {
  t: TestCore;
  deps: ImportDeps;
  backend: LocalBlobBackend;
  trust: TrustStore;
}

function openEnv(): Env {
  const t = openTestCore();
  const trust = new TrustStore(t.core.store, t.core.bus);
  trust.trust(releasePair.publicKeyFile, "release", actor);
  const backend = new LocalBlobBackend(t.core.store.blobsDir);
  const deps = { core: t.core, trust, catalog: new ObjectCatalog(t.core.store, t.core.bus), backend };
  return { t, deps, backend, trust, [Symbol.asyncDispose]: () => t[Symbol.asyncDispose]() };
}

let archives = 0;
async function craft(members: CraftMember[], options?: CraftOptions): Promise<string> {
  const path = join(work.path, `bundle-${++archives}.tar.zst`);
  await craftBundle(path, members, options);
  return path;
}

const importOptions = (allowDowngrade?: boolean) => ({ actor, log, progress: () => {}, allowDowngrade });

function rowCounts(env: Env): Record<"artifacts" | "profiles" | "bundles", number> {
  const count = (table: string) => env.t.core.store.sqlite.query<{ n: number }, []>(`SELECT count(*) AS n FROM ${table}`).get()!.n;
  return { artifacts: count("artifacts"), profiles: count("profiles"), bundles: count("bundles") };
}

function filesUnder(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => !d.isDirectory()).map((d) => d.name) : [];
}

/** Nothing registered beyond `registered`, no temporary blob, no incoming upload. */
function expectNothingLeft(env: Env, registered = { artifacts: 0, profiles: 0, bundles: 0 }): void {
  expect(rowCounts(env)).toEqual(registered);
  expect(filesUnder(join(env.t.core.store.blobsDir, "tmp"))).toEqual([]);
  expect(filesUnder(join(env.t.dataDir, "bundles", "incoming"))).toEqual([]);
}

/** Imports `path` and returns the BundleError it was refused with, checking reason and entry. */
async function refusal(env: Env, path: string, reason: BundleRefusal, entry: string | undefined, allowDowngrade?: boolean): Promise<BundleError> {
  const error = await importBundle(path, env.deps, importOptions(allowDowngrade)).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BundleError);
  const refused = error as BundleError;
  expect({ reason: refused.reason, entry: refused.entry }).toEqual({ reason, entry });
  if (entry !== undefined) expect(refused.message.startsWith(`${entry}: `)).toBe(true);
  return refused;
}

/** Crafts `members`, expects the refusal, and that nothing was left behind. */
async function expectRefused(members: CraftMember[], reason: BundleRefusal, entry: string | undefined, options?: CraftOptions): Promise<BundleError> {
  await using env = openEnv();
  const error = await refusal(env, await craft(members, options), reason, entry);
  expectNothingLeft(env);
  return error;
}

test("the crafted good bundle imports (the baseline every refusal below departs from)", async () => {
  await using env = openEnv();
  const summary = await importBundle(await craft([...signedHead(manifestOf(), release), ...bodies()]), env.deps, importOptions());
  expect({ name: summary.name, version: summary.version, entries: summary.entries, newBlobs: summary.newBlobs }).toEqual({ name: "lab", version: "2.0", entries: 3, newBlobs: 3 });
  expectNothingLeft(env, { artifacts: 2, profiles: 1, bundles: 1 });
});

test("unknown signer", async () => {
  const stranger = secretKeyOf(generateKeyPair("stranger"));
  const error = await expectRefused([...signedHead(manifestOf(), stranger), ...bodies()], "unknown-signer", SIGNATURE_PATH);
  expect(error.message).toContain(stranger.keyId);
  expect(error.message).toContain("goosed keys trust");
});

test("revoked signer", async () => {
  await using env = openEnv();
  env.trust.revoke(release.keyId, actor);
  const error = await refusal(env, await craft([...signedHead(manifestOf(), release), ...bodies()]), "revoked-signer", SIGNATURE_PATH);
  expect(error.message).toContain(`${release.keyId} (release), which was revoked`);
  expectNothingLeft(env);
});

test("bad signature: the manifest changed after signing", async () => {
  const [manifest, signature] = signedHead(manifestOf(), release);
  const tampered = signedHead(manifestOf({ version: "9.0" }), release)[0];
  expect(manifest.body).not.toEqual(tampered.body);
  await expectRefused([tampered, signature, ...bodies()], "bad-signature", SIGNATURE_PATH);
});

test("bad signature: not a signify file", async () => {
  await expectRefused([...signedHead(manifestOf(), "untrusted comment: nothing\nbm90IGEgc2lnbmF0dXJl\n"), ...bodies()], "bad-signature", SIGNATURE_PATH);
});

test("manifest not first", async () => {
  const [manifest, signature] = signedHead(manifestOf(), release);
  const [first, ...rest] = bodies();
  await expectRefused([first!, manifest, signature, ...rest], "manifest-not-first", "lab/initrd.gz");
});

test("signature not second", async () => {
  const [manifest, signature] = signedHead(manifestOf(), release);
  const [first, ...rest] = bodies();
  await expectRefused([manifest, first!, signature, ...rest], "signature-not-second", "lab/initrd.gz");
});

test("a manifest that fails parsing, though signed by a trusted key", async () => {
  const broken = new TextEncoder().encode(JSON.stringify({ ...manifestOf(), format: "goosed-bundle/9" }));
  const error = await expectRefused([...signedHead(broken, release), ...bodies()], "invalid-manifest", MANIFEST_PATH);
  expect(error.message).toContain("/format");
});

test("hash mismatch: same size, other bytes", async () => {
  const forged = Uint8Array.from(linux);
  forged[1234]! ^= 0xff;
  const members = [...signedHead(manifestOf(), release), ...bodies().map((m) => (m.path === "lab/linux" ? fileMember("lab/linux", forged) : m))];
  await expectRefused(members, "hash-mismatch", "lab/linux");
});

test("size mismatch: the member is longer than the manifest says", async () => {
  const members = [...signedHead(manifestOf(), release), ...bodies().map((m) => (m.path === "lab/linux" ? fileMember("lab/linux", new Uint8Array([...linux, 0])) : m))];
  const error = await expectRefused(members, "size-mismatch", "lab/linux");
  expect(error.message).toContain("is 3001 bytes in the archive, the manifest says 3000");
});

test("a file not in the manifest", async () => {
  await expectRefused([...signedHead(manifestOf(), release), ...bodies(), fileMember("lab/extra", new Uint8Array(10))], "unexpected-file", "lab/extra");
});

test("a missing file", async () => {
  await expectRefused([...signedHead(manifestOf(), release), ...bodies().filter((m) => m.path !== "templates/preseed.cfg")], "missing-file", "templates/preseed.cfg");
});

test.each([
  ["a '..' segment", "lab/../../etc/cron.d/evil"],
  ["a leading '..'", "../lab/linux"],
  ["an absolute path", "/etc/passwd"],
])("path traversal: %s", async (_, path) => {
  await expectRefused([...signedHead(manifestOf(), release), fileMember(path, linux), ...bodies()], "path-traversal", path);
});

test.each([
  ["a symbolic link", "2", "link"],
  ["a hard link", "1", "link"],
  ["a character device", "3", "device"],
  ["a block device", "4", "device"],
  ["a fifo", "6", "device"],
  ["a directory", "5", "not-a-file"],
  ["an unknown type", "V", "not-a-file"],
] as const)("%s in place of a listed file", async (_, type, reason) => {
  // The member takes the path of a listed file, so only its type can be what refuses it.
  const impostor: CraftMember = { path: "lab/linux", type, linkName: type === "1" || type === "2" ? "/etc/shadow" : undefined };
  await expectRefused([...signedHead(manifestOf(), release), impostor, ...bodies().filter((m) => m.path !== "lab/linux")], reason, "lab/linux");
});

test("duplicate paths", async () => {
  await expectRefused([...signedHead(manifestOf(), release), ...bodies(), fileMember("lab/linux", linux)], "duplicate-path", "lab/linux");
});

test("an inBase entry present in the archive", async () => {
  await using env = openEnv();
  // The base's content is held, so the delta passes the base check and only the stray member can refuse it.
  await env.backend.put((async function* () { yield linux; })(), { expectedSha256: sha256(linux), md5: false });
  const delta = manifestOf({ version: "2.1", base: { name: "lab", version: "2.0" }, entries: Object.keys(files).map((p) => (p === "lab/linux" ? { ...entryOf(p), inBase: true as const } : entryOf(p))) });
  const error = await refusal(env, await craft([...signedHead(delta, release), ...bodies()]), "unexpected-file", "lab/linux");
  expect(error.message).toContain("inBase");
  expectNothingLeft(env);
});

test("a version lower than the installed one, unless allowed", async () => {
  await using env = openEnv();
  await importBundle(await craft([...signedHead(manifestOf({ version: "2.0" }), release), ...bodies()]), env.deps, importOptions());
  const installed = rowCounts(env);
  expect(installed).toEqual({ artifacts: 2, profiles: 1, bundles: 1 });
  const older = await craft([...signedHead(manifestOf({ version: "1.0" }), release), ...bodies()]);

  const error = await refusal(env, older, "downgrade", MANIFEST_PATH);
  expect(error.message).toContain("1.0 is older than the installed 2.0");
  expectNothingLeft(env, installed);
  expect(env.t.core.store.sqlite.query<{ version: string }, []>("SELECT version FROM bundles").all()).toEqual([{ version: "2.0" }]);

  const summary = await importBundle(older, env.deps, importOptions(true));
  expect(summary.version).toBe("1.0");
  expect(env.t.core.store.sqlite.query<{ version: string }, []>("SELECT version FROM bundles ORDER BY version").all()).toEqual([{ version: "1.0" }, { version: "2.0" }]);
});

test("a truncated archive: the tar ends inside a file", async () => {
  // Cut 1000 bytes into the initrd's body: the import has started writing that blob, and must drop it.
  const head = signedHead(manifestOf(), release);
  const before = head.reduce((sum, m) => sum + 512 + Math.ceil((m.body as Uint8Array).byteLength / 512) * 512, 0);
  const error = await expectRefused([...head, ...bodies()], "truncated", undefined, { tarBytes: before + 512 + 1000 });
  expect(error.message).toContain("copy the bundle again");
});

test("a truncated archive: the end blocks are missing", async () => {
  await expectRefused([...signedHead(manifestOf(), release), ...bodies()], "truncated", undefined, { noEnd: true });
});

test("a truncated archive: the compressed file is cut", async () => {
  // 80 KiB of random initrd keeps the compressed file large enough to cut inside the data.
  await using env = openEnv();
  const whole = await craft([...signedHead(manifestOf(), release), ...bodies()]);
  const size = Bun.file(whole).size;
  const cut = await craft([...signedHead(manifestOf(), release), ...bodies()], { compressedBytes: Math.floor(size * 0.8) });
  await refusal(env, cut, "truncated", undefined);
  expectNothingLeft(env);
});

test("decompressed data larger than the manifest declares: a 256 MiB pax global header is stopped early", async () => {
  // A pax global header ('g') is skipped by the tar reader whatever its size, so only the byte budget the manifest
  // sets (its sizes plus framing) can stop it: 256 MiB of zeros compresses to a few KiB.
  const members: CraftMember[] = [...signedHead(manifestOf(), release), { path: "pax_global_header", type: "g", body: { zeros: 256 * MiB } }, ...bodies()];
  const path = await craft(members);
  expect(Bun.file(path).size).toBeLessThan(MiB);
  await using env = openEnv();
  const error = await refusal(env, path, "too-much-data", undefined);
  expect(error.message).toContain("decompression bomb");
  expectNothingLeft(env);

  // And early: the reader pulls little more than its budget out of the decompressor, not the 256 MiB.
  let decompressed = 0;
  const counted = async function* () {
    for await (const chunk of zstdDecompressStream(Bun.file(path).stream(), { maxOutputBytes: 2 * 1024 * MiB })) {
      decompressed += chunk.byteLength;
      yield chunk;
    }
  };
  const lookup = () => ({ state: "trusted" as const, publicKey: releasePair.publicKeyFile, name: "release" });
  const early = await readBundle(counted(), lookup, { entry: async () => {} }).then(
    () => null,
    (e: unknown) => e,
  );
  expect((early as BundleError).reason).toBe("too-much-data");
  expect(decompressed).toBeLessThan(64 * MiB);
});

test("the import job: a refusal is a bundle.refused event and a permanent error, and an upload is removed", async () => {
  await using env = openEnv();
  const incoming = join(env.t.dataDir, "bundles", "incoming");
  const upload = join(incoming, "upload-1.tar.zst");
  const crafted = await craft([...signedHead(manifestOf(), release), ...bodies(), fileMember("lab/extra", new Uint8Array(10))]);
  mkdirSync(incoming, { recursive: true });
  copyFileSync(crafted, upload);
  const ctx: JobContext = { jobId: 7, attempt: 1, signal: new AbortController().signal, progress: () => {}, log };

  const error = await importBundleJob(env.deps)
    .run({ path: upload, removeAfter: true }, ctx)
    .then(
      () => null,
      (e: unknown) => e,
    );
  expect(error).toBeInstanceOf(PermanentJobError);
  expect((error as Error).message).toBe("bundle refused (unexpected-file): lab/extra: is not in the manifest");
  const refused = env.t.events.find((e) => e.type === "bundle.refused");
  expect(refused && { subject: refused.subject, data: refused.data }).toEqual({
    subject: upload,
    data: { reason: "unexpected-file", entry: "lab/extra", message: "lab/extra: is not in the manifest" },
  });
  expectNothingLeft(env);
});

test("the import job: a refusal inside a file's body is still a refusal, not a retryable fault", async () => {
  await using env = openEnv();
  const head = signedHead(manifestOf(), release);
  const before = head.reduce((sum, m) => sum + 512 + Math.ceil((m.body as Uint8Array).byteLength / 512) * 512, 0);
  const path = await craft([...head, ...bodies()], { tarBytes: before + 512 + 1000 });
  const ctx: JobContext = { jobId: 8, attempt: 1, signal: new AbortController().signal, progress: () => {}, log };
  const error = await importBundleJob(env.deps)
    .run({ path }, ctx)
    .then(
      () => null,
      (e: unknown) => e,
    );
  expect(error).toBeInstanceOf(PermanentJobError);
  expect((error as Error).message).toContain("bundle refused (truncated)");
  expect(env.t.events.find((e) => e.type === "bundle.refused")?.data.reason).toBe("truncated");
  expectNothingLeft(env);
});
