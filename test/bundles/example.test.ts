// bundles/example.yaml stays true: with stand-in files at the paths it names, it builds into a bundle whose manifest
// has what the spec says.
import { expect, test } from "bun:test";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildBundle, loadSpec } from "../../src/bundles/build.ts";
import { generateKeyPair, readSecretKey } from "../../src/bundles/signify.ts";
import { REPO_ROOT, tempDir } from "../support/goosed.ts";

test("the example spec builds, with its artifacts and profile", async () => {
  await using dir = tempDir("goosed-example-");
  copyFileSync(join(REPO_ROOT, "bundles/example.yaml"), join(dir.path, "example.yaml"));
  mkdirSync(join(dir.path, "files/debian12"), { recursive: true });
  writeFileSync(join(dir.path, "files/debian12/linux"), new Uint8Array(4096).fill(1));
  writeFileSync(join(dir.path, "files/debian12/initrd.gz"), new Uint8Array(8192).fill(2));
  writeFileSync(join(dir.path, "files/debian12-preseed.cfg"), "d-i mirror/http/hostname string {{ vars.mirror_host }}\n");
  const key = readSecretKey(generateKeyPair().secretKeyFile);
  if (!key.ok) throw new Error(key.reason);
  const built = await buildBundle(loadSpec(join(dir.path, "example.yaml")), { secretKey: key.value, out: join(dir.path, "out.tar.zst") });
  expect(built.manifest).toMatchObject({ name: "debian12", version: "2026.11.1", expires: "2027-11-25T00:00:00Z" });
  expect(built.manifest.entries.map((e) => [e.path, e.kind])).toEqual([
    ["debian12/initrd.gz", "initrd"],
    ["debian12/linux", "kernel"],
    ["templates/debian12-preseed.cfg", "template"],
  ]);
  expect(built.manifest.profiles[0]).toMatchObject({ name: "debian12", kernel: "debian12/linux", templates: { preseed: "templates/debian12-preseed.cfg" } });
});
