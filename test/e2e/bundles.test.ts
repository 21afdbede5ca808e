// A bundle from build to boot, with the real CLI and a real goosed: keys generated and trusted, a bundle built from a
// directory (a kernel-sized and an initrd-sized file, a profile and a template), built twice to the same bytes,
// inspected, verified, imported as a job, and a machine's install script then points at its artifacts, whose bytes
// goosed serves. A re-import adds no blob; an older version is refused unless forced; a delta imports on its base.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { json, text } from "../support/http.ts";
import { api, type RunningGoosed, runGoosed, startGoosed, tempDir, type TempDir } from "../support/goosed.ts";

setDefaultTimeout(120_000);

let dir: TempDir;
let goosed: RunningGoosed;
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const cli = (...args: string[]) => runGoosed([...args, "--api", goosed.url, "--token", goosed.token]);
let kernel: Buffer;
let initrd: Buffer;

beforeAll(async () => {
  dir = tempDir("goosed-bundles-");
  goosed = await startGoosed({ dataDir: join(dir.path, "data") });
  const src = join(dir.path, "debian12");
  mkdirSync(join(src, "debian12"), { recursive: true });
  mkdirSync(join(src, "templates"), { recursive: true });
  mkdirSync(join(src, "profiles"), { recursive: true });
  kernel = randomBytes(8 * 1024 * 1024 + 17);
  initrd = randomBytes(48 * 1024 * 1024 + 5);
  writeFileSync(join(src, "debian12", "linux"), kernel);
  writeFileSync(join(src, "debian12", "initrd.gz"), initrd);
  writeFileSync(join(src, "templates", "preseed.cfg"), "d-i debian-installer/locale string en_US\nd-i passwd/root-login boolean false\n");
  writeFileSync(
    join(src, "profiles", "debian12.yaml"),
    "name: debian12\nosFamily: debian\nkernel: debian12/linux\ninitrd: [debian12/initrd.gz]\ntemplates:\n  preseed: templates/preseed.cfg\n",
  );
});

afterAll(async () => {
  await goosed?.stop();
  await dir?.[Symbol.asyncDispose]();
});

test("keys are generated and trusted; a directory builds to the same bytes twice", async () => {
  expect((await runGoosed(["keys", "generate", join(dir.path, "release")])).code).toBe(0);
  expect((await cli("keys", "trust", join(dir.path, "release.pub"), "--name", "release")).code).toBe(0);
  const args = (out: string) => ["bundle", "build", join(dir.path, "debian12"), "--key", join(dir.path, "release.sec"), "--bundle-version", "2026.11.1", "--out", out];
  const first = await runGoosed(args(join(dir.path, "one.tar.zst")), { SOURCE_DATE_EPOCH: "1795000000" });
  expect(first.stderr).toContain("packing");
  expect(first.code).toBe(0);
  const second = await runGoosed(args(join(dir.path, "two.tar.zst")), { SOURCE_DATE_EPOCH: "1795000000" });
  expect(second.code).toBe(0);
  expect(sha256(readFileSync(join(dir.path, "one.tar.zst")))).toBe(sha256(readFileSync(join(dir.path, "two.tar.zst"))));
  // Debian's own tools read it: zstd and tar list the members in the order the format sets.
  const listed = Bun.spawnSync(["sh", "-c", `zstd -dc ${join(dir.path, "one.tar.zst")} | tar -tf -`]).stdout.toString().trim().split("\n");
  expect(listed).toEqual(["manifest.json", "manifest.sig", "debian12/initrd.gz", "debian12/linux", "templates/preseed.cfg"]);
});

test("inspect shows the manifest and signer; verify checks every file against the appliance's trusted keys", async () => {
  const inspected = JSON.parse((await runGoosed(["bundle", "inspect", join(dir.path, "one.tar.zst"), "--json"])).stdout);
  expect(inspected.manifest.name).toBe("debian12");
  expect(inspected.manifest.entries.find((e: { path: string }) => e.path === "debian12/linux")).toMatchObject({ size: kernel.length, sha256: sha256(kernel), kind: "kernel" });
  const verified = await cli("bundle", "verify", join(dir.path, "one.tar.zst"));
  expect(verified.code).toBe(0);
  expect(verified.stdout).toContain("debian12 2026.11.1 verified, signed by release");
  expect(verified.stdout).toContain("new bundle debian12 2026.11.1");
  expect(verified.stdout).toContain("new artifacts: debian12/initrd.gz, debian12/linux");
  expect(verified.stdout).toContain("new profiles: debian12");
});

test("import runs as a job; the profile boots the bundle's kernel and initrd over HTTP", async () => {
  const imported = await cli("bundle", "import", join(dir.path, "one.tar.zst"));
  expect(imported.stderr).not.toContain("error");
  expect(imported.stdout).toBe("imported debian12 2026.11.1: 3 files, 3 new (56.0 MiB)\n");
  expect(readdirSync(join(dir.path, "data", "bundles", "incoming"))).toEqual([]);
  const profile = await json(api(goosed, "/v1/profiles/debian12"), 200);
  expect(profile.templates.preseed).toContain("d-i debian-installer/locale");

  await json(api(goosed, "/v1/machines", { body: { hostname: "deb01", profile: "debian12", interfaces: [{ mac: "52:54:00:00:0d:01" }] } }), 201);
  await json(api(goosed, "/v1/machines/deb01/provision", { body: {} }), 201);
  const boot = await text(`${goosed.url}/boot/boot.ipxe?mac=52:54:00:00:0d:01`);
  const token = /token=(gb_[0-9a-f_]+)/.exec(boot)![1]!;
  const install = await text(`${goosed.url}/boot/install.ipxe?mac=52:54:00:00:0d:01&token=${token}`);
  const kernelUrl = /^kernel (\S+)/m.exec(install)![1]!;
  const initrdUrl = /^initrd -n \S+ (\S+)/m.exec(install)![1]!;
  expect(kernelUrl).toBe(`${goosed.url}/artifacts/debian12/linux`);
  expect(sha256(new Uint8Array(await (await fetch(kernelUrl)).arrayBuffer()))).toBe(sha256(kernel));
  expect(sha256(new Uint8Array(await (await fetch(initrdUrl)).arrayBuffer()))).toBe(sha256(initrd));
  const listed = JSON.parse((await cli("bundle", "list", "--json")).stdout);
  expect(listed[0]).toMatchObject({ name: "debian12", version: "2026.11.1" });
});

test("a re-import stores nothing new; an older version is refused unless forced", async () => {
  const again = await cli("bundle", "import", join(dir.path, "one.tar.zst"));
  expect(again.stdout).toBe("imported debian12 2026.11.1: 3 files, 0 new (0.0 MiB)\n");
  const older = await runGoosed(["bundle", "build", join(dir.path, "debian12"), "--key", join(dir.path, "release.sec"), "--bundle-version", "2026.10", "--out", join(dir.path, "older.tar.zst")]);
  expect(older.code).toBe(0);
  const refused = await cli("bundle", "import", join(dir.path, "older.tar.zst"));
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain("downgrade");
  expect(refused.stderr).toContain("--allow-downgrade");
  const forced = await cli("bundle", "import", join(dir.path, "older.tar.zst"), "--allow-downgrade");
  expect(forced.code).toBe(0);
});

test("a delta bundle carries only what its base lacks and imports on top of it", async () => {
  writeFileSync(join(dir.path, "debian12", "templates", "preseed.cfg"), "d-i debian-installer/locale string de_DE\n");
  const delta = await runGoosed([
    "bundle", "build", join(dir.path, "debian12"), "--key", join(dir.path, "release.sec"), "--bundle-version", "2026.11.2",
    "--base", join(dir.path, "one.tar.zst"), "--out", join(dir.path, "delta.tar.zst"),
  ]);
  expect(delta.code).toBe(0);
  expect(readFileSync(join(dir.path, "delta.tar.zst")).length).toBeLessThan(1024 * 1024);
  const imported = await cli("bundle", "import", join(dir.path, "delta.tar.zst"));
  expect(imported.stdout).toBe("imported debian12 2026.11.2: 3 files, 1 new (0.0 MiB)\n");
  expect((await json(api(goosed, "/v1/profiles/debian12"), 200)).templates.preseed).toContain("de_DE");
});
