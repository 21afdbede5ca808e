// The compiled binary on its own: built as `npm run build` builds it, copied alone into an empty directory, and
// driven through a boot. It proves what only the binary can get wrong: embedded migrations, templates and agent
// files, and the token writer's thread, whose entry point lives at a different path inside the executable.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import pkg from "../../package.json" with { type: "json" };
import { MIGRATIONS } from "../../src/db/migrations/index.ts";
import { api, REPO_ROOT, tempDir, type TempDir } from "../support/goosed.ts";
import { json, text } from "../support/http.ts";
import { signRequest } from "../support/sigv4-sign.ts";
import { requireTool } from "../support/tools.ts";

let dir: TempDir;
let proc: Subprocess<"ignore", "pipe", "pipe">;
let goosed: { url: string; token: string };
let tftpPort = 0;

beforeAll(async () => {
  dir = tempDir("goosed-binary-");
  // Exactly package.json's "build" (fetch the loaders, then compile with them), into the scratch directory.
  const build = pkg.scripts.build.replace("--outfile dist/goosed", `--outfile ${join(dir.path, "built")}`);
  const built = Bun.spawnSync(["sh", "-c", build], { cwd: REPO_ROOT, stdout: "pipe", stderr: "pipe" });
  if (built.exitCode !== 0) throw new Error(`build failed: ${built.stderr.toString()}`);
  const alone = join(dir.path, "empty");
  Bun.spawnSync(["mkdir", alone]);
  copyFileSync(join(dir.path, "built"), join(alone, "goosed"));
  Bun.spawnSync(["chmod", "+x", join(alone, "goosed")]);

  const dataDir = join(dir.path, "data");
  const args = ["serve", "--data-dir", dataDir, "--http-host", "127.0.0.1", "--http-port", "0", "--log-format", "json", "--tftp-mode", "on", "--tftp-host", "127.0.0.1", "--tftp-port", "0"];
  proc = Bun.spawn([join(alone, "goosed"), ...args], {
    cwd: alone,
    env: { PATH: "/usr/bin:/bin", GOOSED_CONFIG: "/dev/null" },
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  // Read the log to its end (a closed pipe would fail goosed's last lines), resolving once it says it is ready.
  const ready = Promise.withResolvers<string>();
  void (async () => {
    let buffer = "";
    for await (const chunk of proc.stdout) {
      buffer += new TextDecoder().decode(chunk);
      const line = buffer.split("\n").find((l) => l.includes('"message":"goosed ready"'));
      if (line) ready.resolve(line);
      const tftp = buffer.split("\n").find((l) => l.includes('"message":"tftp listening"'));
      if (tftp) tftpPort = (JSON.parse(tftp) as { port: number }).port;
    }
    ready.reject(new Error(`the binary exited before it was ready: ${await new Response(proc.stderr).text()}`));
  })();
  const line = await ready.promise;
  goosed = { url: (JSON.parse(line) as { url: string }).url, token: readFileSync(join(dataDir, "admin-token"), "utf8").trim() };
});

afterAll(async () => {
  proc?.kill("SIGTERM");
  expect(await proc?.exited).toBe(0);
  await dir?.[Symbol.asyncDispose]();
});

test("the binary alone serves /readyz with its migrations applied and every service up", async () => {
  const ready = await json(fetch(`${goosed.url}/readyz`), 200);
  expect(ready.services.migrations.detail).toBe(`schema at ${MIGRATIONS.at(-1)!.tag}`);
  expect(Object.values(ready.services).every((s) => (s as { ok: boolean }).ok)).toBe(true);
});

test("the binary alone serves the status page with its embedded style sheet, script and icon", async () => {
  const login = await fetch(`${goosed.url}/login`);
  expect(login.status).toBe(200);
  expect(await login.text()).toContain('<form class="login"');
  for (const [path, type] of [["/assets/status.css", "text/css"], ["/assets/status.js", "text/javascript"], ["/assets/icon.svg", "image/svg+xml"]]) {
    const asset = await fetch(`${goosed.url}${path}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get("content-type")).toStartWith(type!);
    expect((await asset.text()).length).toBeGreaterThan(100);
  }
});

test("the binary alone boots a machine: token committed by the writer thread, embedded templates and agent", async () => {
  await json(api(goosed, "/v1/profiles", { body: { name: "rocky9", osFamily: "rhel", kernel: "rocky9/vmlinuz", initrd: ["rocky9/initrd.img"] } }), 201);
  await json(api(goosed, "/v1/machines", { body: { hostname: "bin01", profile: "rocky9", interfaces: [{ mac: "52:54:00:00:0b:01" }] } }), 201);
  await json(api(goosed, "/v1/machines/bin01/provision", { body: {} }), 201);

  const boot = await text(`${goosed.url}/boot/boot.ipxe?mac=52:54:00:00:0b:01`);
  const bootToken = /token=(gb_[0-9a-f_]+)/.exec(boot)?.[1];
  expect(bootToken).toBeString();
  const install = await text(`${goosed.url}/boot/install.ipxe?mac=52:54:00:00:0b:01&token=${bootToken}`);
  const installer = /inst\.ks=\S+token=(gi_[0-9a-f_]+)/.exec(install)?.[1];
  expect(installer).toBeString();
  const kickstart = await text(`${goosed.url}/v1/render/kickstart?token=${installer}`);
  expect(kickstart).toContain(`${goosed.url}/agents/linux/goosed-agent`);
  const agent = await text(`${goosed.url}/agents/linux/goosed-agent`);
  expect(agent).toStartWith("#!/bin/sh\n");
  expect(agent).toBe(readFileSync(join(REPO_ROOT, "agents/linux/goosed-agent"), "utf8"));
});

test("the binary alone serves the iPXE loaders it embedded, over HTTP and over TFTP", async () => {
  const tftp = requireTool("tftp", "tftp-hpa");
  for (const name of ["undionly.kpxe", "ipxe.efi", "snponly.efi"]) {
    const expected = readFileSync(join(REPO_ROOT, "assets/loaders", name));
    const overHttp = await fetch(`${goosed.url}/boot/loaders/${name}`);
    expect(overHttp.status).toBe(200);
    expect(Buffer.from(await overHttp.arrayBuffer()).equals(expected)).toBe(true);
    const target = join(dir.path, `tftp-${name}`);
    const fetched = Bun.spawnSync([tftp, "127.0.0.1", String(tftpPort), "-m", "binary", "-c", "get", name, target], { stdout: "pipe", stderr: "pipe" });
    expect(fetched.exitCode).toBe(0);
    expect(readFileSync(target).equals(expected)).toBe(true);
  }
});

test("the binary alone takes an S3 PUT through its MD5 thread, and serves the object and an artifact of it", async () => {
  const key = await json(api(goosed, "/v1/s3/keys", { body: { name: "binary" } }), 201);
  const signing = { accessKey: key.accessKeyId as string, secretKey: key.secretAccessKey as string };
  const send = (method: string, path: string, body?: Uint8Array) => {
    const url = `${goosed.url}/s3${path}`;
    return fetch(url, { method, headers: signRequest(method, url, {}, "UNSIGNED-PAYLOAD", signing).headers, body });
  };
  expect((await send("PUT", "/bin")).status).toBe(200);
  // Past one 4 MiB batch, so the MD5 worker (another entry point inside the executable) hashes for the ETag.
  const bytes = new Uint8Array(12 * 1024 * 1024 + 7).map((_, i) => (i * 2654435761) >>> 24);
  const put = await send("PUT", "/bin/big.iso", bytes);
  expect(put.status).toBe(200);
  expect(put.headers.get("etag")).toBe(`"${createHash("md5").update(bytes).digest("hex")}"`);
  const back = new Uint8Array(await (await send("GET", "/bin/big.iso")).arrayBuffer());
  expect(createHash("sha256").update(back).digest("hex")).toBe(createHash("sha256").update(bytes).digest("hex"));
  await json(api(goosed, "/v1/artifacts", { body: { name: "bin/big.iso", kind: "iso", bucket: "bin", key: "big.iso" } }), 201);
  const artifact = await fetch(`${goosed.url}/artifacts/bin/big.iso`, { headers: { range: "bytes=5-9" } });
  expect(artifact.status).toBe(206);
  expect(new Uint8Array(await artifact.arrayBuffer())).toEqual(bytes.subarray(5, 10));
});
