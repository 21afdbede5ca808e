// Bundles on a USB stick: goosed watches the directory sticks are mounted under, offers what it finds with its signer,
// forgets a stick that is pulled out, and with bundles.autoImport imports a trusted bundle as soon as it appears.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { json } from "../support/http.ts";
import { api, type RunningGoosed, runGoosed, startGoosed, tempDir, type TempDir } from "../support/goosed.ts";

setDefaultTimeout(90_000);

let dir: TempDir;
let bundle = "";

interface Found {
  path: string;
  name: string | null;
  version: string | null;
  signer: string;
  problem: string | null;
}

/** Polls until `check` passes or the deadline comes; the watcher scans every 5 s. */
async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last saw ${JSON.stringify(value)}`);
    await Bun.sleep(250);
  }
}

async function startWatching(name: string, extra: string[] = []): Promise<{ goosed: RunningGoosed; media: string }> {
  const media = join(dir.path, `${name}-media`);
  mkdirSync(media, { recursive: true });
  const goosed = await startGoosed({ dataDir: join(dir.path, `${name}-data`), args: ["--bundles-watch-dir", media, ...extra] });
  expect((await runGoosed(["keys", "trust", join(dir.path, "usb.pub"), "--api", goosed.url, "--token", goosed.token])).code).toBe(0);
  return { goosed, media };
}

beforeAll(async () => {
  dir = tempDir("goosed-usb-");
  expect((await runGoosed(["keys", "generate", join(dir.path, "usb")])).code).toBe(0);
  const src = join(dir.path, "src", "tools");
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, "memtest.efi"), new Uint8Array(200_000).fill(9));
  bundle = join(dir.path, "tools-1.0.tar.zst");
  const built = await runGoosed(["bundle", "build", join(dir.path, "src"), "--name", "tools", "--bundle-version", "1.0", "--key", join(dir.path, "usb.sec"), "--out", bundle]);
  expect(built.code).toBe(0);
});

afterAll(async () => {
  await dir?.[Symbol.asyncDispose]();
});

test("a bundle on an inserted stick is offered with its trusted signer, imports on request, and goes when the stick does", async () => {
  const { goosed, media } = await startWatching("offer");
  try {
    expect(await json(api(goosed, "/v1/bundles/found"), 200)).toEqual({ watching: true, items: [] });
    mkdirSync(join(media, "usb0", "bundles"), { recursive: true });
    copyFileSync(bundle, join(media, "usb0", "bundles", "tools-1.0.tar.zst"));
    writeFileSync(join(media, "usb0", "broken.tar.zst"), "not a bundle");
    const found = await eventually(
      async () => (await json(api(goosed, "/v1/bundles/found"), 200)).items as Found[],
      (items) => items.length === 2,
      "both files to be found",
    );
    expect(found.find((f) => f.name === "tools")).toMatchObject({ version: "1.0", signer: "trusted", problem: null });
    expect(found.find((f) => f.path.endsWith("broken.tar.zst"))!.problem).toContain("not a readable bundle");
    // Found is not imported: nothing is registered until an operator says so.
    expect((await json(api(goosed, "/v1/bundles"), 200)).items).toEqual([]);

    const job = await json(api(goosed, "/v1/bundles/import", { body: { path: join(media, "usb0", "bundles", "tools-1.0.tar.zst") } }), 202);
    await eventually(async () => (await json(api(goosed, `/v1/jobs/${job.id}`), 200)).state, (state) => state === "succeeded", "the import job");
    expect((await json(api(goosed, "/v1/artifacts/tools/memtest.efi"), 200)).kind).toBe("loader");

    rmSync(join(media, "usb0"), { recursive: true });
    await eventually(async () => (await json(api(goosed, "/v1/bundles/found"), 200)).items as Found[], (items) => items.length === 0, "the pulled stick to be forgotten");
  } finally {
    await goosed.stop();
  }
});

test("with bundles.autoImport a trusted bundle is imported as soon as it appears", async () => {
  const { goosed, media } = await startWatching("auto", ["--bundles-auto-import", "true"]);
  try {
    copyFileSync(bundle, join(media, "tools-1.0.tar.zst"));
    const imported = await eventually(async () => (await json(api(goosed, "/v1/bundles"), 200)).items as { name: string }[], (items) => items.length === 1, "the automatic import");
    expect(imported[0]!.name).toBe("tools");
  } finally {
    await goosed.stop();
  }
});

test("bundles.trustKeys trusts a signer at start, so a stick already inserted at boot is auto-imported; a restart keeps it", async () => {
  const media = join(dir.path, "boot-media");
  const dataDir = join(dir.path, "boot-data");
  mkdirSync(join(media, "usb0"), { recursive: true });
  copyFileSync(bundle, join(media, "usb0", "tools-1.0.tar.zst"));
  const args = ["--bundles-watch-dir", media, "--bundles-auto-import", "true", "--bundles-trust-keys", join(dir.path, "usb.pub")];
  const first = await startGoosed({ dataDir, args });
  try {
    const keys = (await json(api(first, "/v1/keys"), 200)).items as { name: string; revokedAt: string | null }[];
    expect(keys.map((k) => ({ name: k.name, revokedAt: k.revokedAt }))).toEqual([{ name: "usb", revokedAt: null }]);
    await eventually(async () => (await json(api(first, "/v1/bundles"), 200)).items as unknown[], (items) => items.length === 1, "the import at boot");
  } finally {
    expect(await first.stop()).toBe(0);
  }
  // The same key at the next boot is already known: nothing changes and goosed starts.
  const second = await startGoosed({ dataDir, args });
  expect((await json(api(second, "/v1/keys"), 200)).items).toHaveLength(1);
  expect(await second.stop()).toBe(0);

  writeFileSync(join(dir.path, "not-a-key.pub"), "hello\n");
  const refused = await runGoosed(["serve", "--data-dir", join(dir.path, "refused-data"), "--http-port", "0", "--bundles-trust-keys", join(dir.path, "not-a-key.pub")]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain("not-a-key.pub (bundles.trustKeys): the key cannot be trusted");
});
