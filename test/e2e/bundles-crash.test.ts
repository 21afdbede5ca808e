// Issue 6: goosed SIGKILLed in the middle of a bundle import, with the real CLI and a real goosed. The kill lands
// while the bundle's big file is being written into the blob store (seen as a file in <data>/blobs/tmp, not guessed
// by a sleep). After a restart nothing of the bundle is visible and no temporary file is left; the interrupted job is
// recovered by the queue. With the bundle file gone it fails for good and a second import completes; with the file
// still there, the recovered job itself imports the bundle.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { createHash, randomFillSync } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { json } from "../support/http.ts";
import { api, type RunningGoosed, runGoosed, startGoosed, tempDir, type TempDir } from "../support/goosed.ts";

setDefaultTimeout(180_000);

const MiB = 1024 * 1024;
/** Big enough that writing it into the blob store takes a few hundred milliseconds even on a fast disk. */
const IMAGE_BYTES = 384 * MiB;

let dir: TempDir;
let goosed: RunningGoosed | undefined;
const data = () => join(dir.path, "data");
const cli = (...args: string[]) => runGoosed([...args, "--api", goosed!.url, "--token", goosed!.token]);
const files = (...parts: string[]) => (existsSync(join(...parts)) ? readdirSync(join(...parts)) : []);

interface Job {
  id: number;
  state: string;
  attempts: number;
  maxAttempts: number;
  error: string | null;
  progress: { fraction: number; message: string | null };
}

/** A bundle source directory: a kernel, an initrd and a big image of random bytes, and a profile using them. */
function writeSource(name: string, seed: number): { kernel: Buffer; initrd: Buffer; imageSha256: string } {
  const src = join(dir.path, name);
  for (const sub of ["boot", "images", "profiles"]) mkdirSync(join(src, sub), { recursive: true });
  const kernel = randomFillSync(Buffer.alloc(4 * MiB + seed));
  const initrd = randomFillSync(Buffer.alloc(16 * MiB + seed));
  writeFileSync(join(src, "boot", "linux"), kernel);
  writeFileSync(join(src, "boot", "initrd.gz"), initrd);
  const hash = createHash("sha256");
  const chunk = Buffer.alloc(16 * MiB);
  const fd = openSync(join(src, "images", "root.squashfs"), "w");
  for (let written = 0; written < IMAGE_BYTES; written += chunk.length) {
    randomFillSync(chunk);
    hash.update(chunk);
    writeSync(fd, chunk);
  }
  closeSync(fd);
  writeFileSync(join(src, "profiles", `${name}.yaml`), `name: ${name}\nosFamily: debian\nkernel: boot/linux\ninitrd: [boot/initrd.gz]\nartifacts:\n  root: images/root.squashfs\n`);
  return { kernel, initrd, imageSha256: hash.digest("hex") };
}

async function build(name: string, version: string): Promise<string> {
  const out = join(dir.path, `${name}-${version}.tar.zst`);
  const built = await runGoosed(["bundle", "build", join(dir.path, name), "--key", join(dir.path, "release.sec"), "--bundle-version", version, "--out", out]);
  if (built.code !== 0) throw new Error(`bundle build failed: ${built.stderr.trim().split("\n").at(-1)}`);
  return out;
}

async function job(id: number): Promise<Job> {
  return (await json(api(goosed!, `/v1/jobs/${id}`), 200)) as Job;
}

/**
 * Starts importing `path` on the appliance and SIGKILLs goosed once the job is writing the image: the job says so in
 * its progress and the blob store's tmp/ holds its partial file. Polls every 10 ms, at most 60 s.
 */
async function killMidImport(path: string): Promise<Job> {
  const started = (await json(api(goosed!, "/v1/bundles/import", { body: { path } }), 202)) as Job;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const now = await job(started.id);
    expect(now.state === "queued" || now.state === "running").toBe(true);
    const writingImage = now.progress.message?.includes("images/root.squashfs") ?? false;
    if (writingImage && now.progress.fraction > 0 && now.progress.fraction < 1 && files(data(), "blobs", "tmp").length > 0) {
      await goosed!.kill();
      goosed = undefined;
      return now;
    }
    if (Date.now() > deadline) throw new Error(`the import never got to the image within 60 s: ${JSON.stringify(now)}`);
    await Bun.sleep(10);
  }
}

async function expectNothingOf(name: string): Promise<void> {
  expect((await json(api(goosed!, "/v1/artifacts"), 200)).items.filter((a: { source: string }) => String(a.source).includes(name))).toEqual([]);
  expect((await api(goosed!, `/v1/profiles/${name}`)).status).toBe(404);
  expect((await json(api(goosed!, "/v1/bundles"), 200)).items.filter((b: { name: string }) => b.name === name)).toEqual([]);
}

async function waitForJob(id: number, states: string[]): Promise<Job> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const now = await job(id);
    if (states.includes(now.state)) return now;
    if (Date.now() > deadline) throw new Error(`job ${id} is still ${now.state} after 120 s: ${JSON.stringify(now)}`);
    await Bun.sleep(50);
  }
}

async function fetchSha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  const response = await fetch(`${goosed!.url}${path}`);
  expect(response.status).toBe(200);
  for await (const chunk of response.body!) hash.update(chunk);
  return hash.digest("hex");
}

beforeAll(async () => {
  dir = tempDir("goosed-bundles-crash-");
  goosed = await startGoosed({ dataDir: data() });
  expect((await runGoosed(["keys", "generate", join(dir.path, "release")])).code).toBe(0);
  expect((await cli("keys", "trust", join(dir.path, "release.pub"), "--name", "release")).code).toBe(0);
});

afterAll(async () => {
  if (goosed) await goosed.stop();
  await dir?.[Symbol.asyncDispose]();
});

test("killed mid-import: nothing of the bundle is visible after a restart, and a second import completes", async () => {
  const source = writeSource("crashlab", 0);
  const bundle = await build("crashlab", "2026.11.1");
  const killedAt = await killMidImport(bundle);
  // The stick was pulled while goosed was down: the recovered attempt cannot find the file and gives up for good.
  const moved = join(dir.path, "crashlab-moved.tar.zst");
  renameSync(bundle, moved);

  goosed = await startGoosed({ dataDir: data() });
  const recovered = await waitForJob(killedAt.id, ["succeeded", "failed", "cancelled"]);
  expect(recovered).toMatchObject({ state: "failed", attempts: 2, maxAttempts: 2 });
  expect(recovered.error).toContain("does not exist on the appliance");
  await expectNothingOf("crashlab");
  expect(files(data(), "blobs", "tmp")).toEqual([]);
  expect(files(data(), "bundles", "incoming").filter((n) => n.endsWith(".partial"))).toEqual([]);

  const imported = await cli("bundle", "import", moved);
  expect(imported.stderr).not.toContain("error");
  expect(imported.code).toBe(0);
  // The kernel and initrd were stored whole before the kill: their blobs stayed, unreferenced (the collector's to
  // remove), so only the image is new.
  expect(imported.stdout).toBe("imported crashlab 2026.11.1: 3 files, 1 new (384.0 MiB)\n");
  expect(files(data(), "bundles", "incoming")).toEqual([]);
  expect((await json(api(goosed, "/v1/profiles/crashlab"), 200)).kernel).toBe("boot/linux");
  expect(await fetchSha256("/artifacts/boot/linux")).toBe(createHash("sha256").update(source.kernel).digest("hex"));
  expect(await fetchSha256("/artifacts/boot/initrd.gz")).toBe(createHash("sha256").update(source.initrd).digest("hex"));
  expect(await fetchSha256("/artifacts/images/root.squashfs")).toBe(source.imageSha256);
  expect((await json(api(goosed, "/v1/bundles"), 200)).items.map((b: { name: string; version: string }) => `${b.name} ${b.version}`)).toEqual(["crashlab 2026.11.1"]);
});

test("killed mid-import with the bundle file still there: the queue re-runs the import at start and it completes", async () => {
  const source = writeSource("crashlab2", 1);
  const bundle = await build("crashlab2", "2026.11.2");
  const killedAt = await killMidImport(bundle);
  expect(killedAt.attempts).toBe(1);

  goosed = await startGoosed({ dataDir: data() });
  const recovered = await waitForJob(killedAt.id, ["succeeded", "failed", "cancelled"]);
  // The killed attempt counts: this was the second and last one allowed.
  expect(recovered).toMatchObject({ state: "succeeded", attempts: 2, maxAttempts: 2, error: null });
  expect(recovered.progress.fraction).toBe(1);
  expect(files(data(), "blobs", "tmp")).toEqual([]);
  expect((await json(api(goosed, "/v1/profiles/crashlab2"), 200)).artifacts).toEqual({ root: "images/root.squashfs" });
  expect(await fetchSha256("/artifacts/boot/linux")).toBe(createHash("sha256").update(source.kernel).digest("hex"));
  expect(await fetchSha256("/artifacts/images/root.squashfs")).toBe(source.imageSha256);
  expect(readFileSync(bundle).length).toBeGreaterThan(IMAGE_BYTES);
});
