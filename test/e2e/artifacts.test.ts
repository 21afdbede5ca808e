// Named artifacts end to end: `goosed artifact add|list|rm` (from a file and pinned from an S3 object), real curl
// against /artifacts/<name> (whole, ranges, multi-range, conditionals, HEAD, refusals), tftp-hpa by name, a profile
// whose install script points at them, blobs.collect after a removal, and the object metrics through promtool.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { api, runGoosed } from "../support/goosed.ts";
import { json, problem, text } from "../support/http.ts";
import { type S3Goosed, startS3Goosed } from "../support/s3.ts";
import { requireTool } from "../support/tools.ts";

// Every test spawns the CLI or curl a few times, a bun or process start-up each; blobs.collect is watched by polling.
setDefaultTimeout(60_000);

const MiB = 1024 * 1024;
const KERNEL_BYTES = 3 * MiB + 4321;

let s3: S3Goosed;
let kernel: Buffer;
let initrd: Buffer;
let pinnedBefore: Buffer;
let pinnedAfter: Buffer;

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const url = (path: string) => `${s3.goosed.url}${path}`;
const cli = (...args: string[]) => runGoosed(args, { GOOSED_API: s3.goosed.url, GOOSED_TOKEN: s3.goosed.token });
const blobPath = (digest: string) => join(s3.goosed.dataDir, "blobs", "sha256", digest.slice(0, 2), digest);

async function cliOk(...args: string[]): Promise<string> {
  const { stdout, stderr, code } = await cli(...args);
  if (code !== 0) throw new Error(`goosed ${args.join(" ")} exited ${code}:\n${stderr}\n${stdout}`);
  return stdout;
}

interface CurlResult {
  status: number;
  /** Headers of the last response, lowercase names. */
  headers: Map<string, string>;
  body: Buffer;
  /** Body bytes curl received (with -I, curl writes the headers where the body would go). */
  downloadedBytes: number;
}

/** Runs the real curl against goosed; headers and body go to files, so binary bodies arrive untouched. */
async function curl(path: string, ...args: string[]): Promise<CurlResult> {
  const id = randomBytes(6).toString("hex");
  const headerFile = join(s3.dir.path, `curl-${id}.headers`);
  const bodyFile = join(s3.dir.path, `curl-${id}.body`);
  const proc = Bun.spawn(["curl", "-sS", "--max-time", "30", "-D", headerFile, "-o", bodyFile, "-w", "%{http_code} %{size_download}", ...args, url(path)], {
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`curl ${args.join(" ")} ${path} exited ${code}: ${stderr}`);
  const blocks = readFileSync(headerFile, "latin1").split(/\r\n\r\n/).filter((b) => b.trim() !== "");
  const headers = new Map<string, string>();
  for (const line of blocks.at(-1)!.split("\r\n").slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const body = existsSync(bodyFile) ? readFileSync(bodyFile) : Buffer.alloc(0);
  rmSync(headerFile, { force: true });
  rmSync(bodyFile, { force: true });
  const [status, downloadedBytes] = stdout.split(" ").map(Number) as [number, number];
  return { status, headers, body, downloadedBytes };
}

/** The parts of a multipart/byteranges body: each part's Content-Range and bytes. */
function byteranges(body: Buffer, contentType: string): Array<{ contentRange: string; bytes: Buffer }> {
  const boundary = /boundary=("?)([^";]+)\1/.exec(contentType)?.[2];
  if (!boundary) throw new Error(`no boundary in ${contentType}`);
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Array<{ contentRange: string; bytes: Buffer }> = [];
  let at = body.indexOf(delimiter);
  while (at !== -1) {
    const next = body.indexOf(delimiter, at + delimiter.length);
    if (next === -1) break;
    const part = body.subarray(at + delimiter.length, next);
    const headerEnd = part.indexOf("\r\n\r\n");
    const head = part.subarray(0, headerEnd).toString("latin1");
    // The part's bytes run up to the CRLF that precedes the next delimiter.
    const bytes = part.subarray(headerEnd + 4, part.length - 2);
    parts.push({ contentRange: /content-range:\s*(.+)/i.exec(head)?.[1]?.trim() ?? "", bytes });
    at = next;
  }
  return parts;
}

beforeAll(async () => {
  requireTool("curl");
  requireTool("tftp", "tftp-hpa");
  requireTool("promtool", "prometheus");
  s3 = await startS3Goosed(["--tftp-mode", "on", "--tftp-port", "0", "--tftp-host", "127.0.0.1"], "goosed-artifacts-");
  kernel = randomBytes(KERNEL_BYTES);
  initrd = randomBytes(MiB + 17);
  pinnedBefore = randomBytes(2 * MiB + 3);
  pinnedAfter = randomBytes(2 * MiB + 5);
});

afterAll(async () => {
  await s3?.[Symbol.asyncDispose]();
});

describe("goosed artifact add and list", () => {
  test("a file added with --kind kernel, and one whose kind comes from its name (initrd.img)", async () => {
    const kernelFile = join(s3.dir.path, "vmlinuz-6.1");
    writeFileSync(kernelFile, kernel);
    const added = await cliOk("artifact", "add", "vmlinuz-e2e", kernelFile, "--kind", "kernel");
    expect(added).toBe(`artifact vmlinuz-e2e (kernel, 3.0 MiB, sha256 ${sha256(kernel)}) at /artifacts/vmlinuz-e2e\n`);

    const initrdFile = join(s3.dir.path, "initrd.img");
    writeFileSync(initrdFile, initrd);
    const guessed = JSON.parse(await cliOk("artifact", "add", "initrd-e2e", initrdFile, "--json"));
    expect(guessed).toMatchObject({ name: "initrd-e2e", kind: "initrd", sizeBytes: initrd.length, digest: sha256(initrd), source: "upload:initrd.img", url: "/artifacts/initrd-e2e" });
  });

  test("artifact list shows them as a table and as JSON", async () => {
    const table = await cliOk("artifact", "list");
    const lines = table.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NAME\s+KIND\s+SIZE\s+SHA256\s+SOURCE\s+UPDATED$/);
    expect(lines.find((l) => l.startsWith("vmlinuz-e2e "))).toMatch(new RegExp(`^vmlinuz-e2e\\s+kernel\\s+3\\.0 MiB\\s+${sha256(kernel).slice(0, 12)}\\s+upload:vmlinuz-6\\.1\\s`));
    expect(lines.find((l) => l.startsWith("initrd-e2e "))).toMatch(new RegExp(`^initrd-e2e\\s+initrd\\s+1\\.0 MiB\\s+${sha256(initrd).slice(0, 12)}\\s+upload:initrd\\.img\\s`));

    const listed = JSON.parse(await cliOk("artifact", "list", "--json")) as Array<Record<string, unknown>>;
    const byName = Object.fromEntries(listed.map((a) => [a.name, a]));
    expect(byName["vmlinuz-e2e"]).toMatchObject({ kind: "kernel", sizeBytes: KERNEL_BYTES, digest: sha256(kernel), contentType: "application/octet-stream" });
    expect(byName["initrd-e2e"]).toMatchObject({ kind: "initrd", sizeBytes: initrd.length, digest: sha256(initrd) });
  });

  test("--from s3://bucket/key pins the object's content: overwriting the object later leaves the artifact as it was", async () => {
    await s3.client.makeBucket("pins");
    await s3.client.putObject("pins", "live/ubuntu.iso", pinnedBefore);
    const pinned = JSON.parse(await cliOk("artifact", "add", "live-iso", "--from", "s3://pins/live/ubuntu.iso", "--json"));
    expect(pinned).toMatchObject({ name: "live-iso", kind: "iso", sizeBytes: pinnedBefore.length, digest: sha256(pinnedBefore), source: "s3://pins/live/ubuntu.iso" });

    await s3.client.putObject("pins", "live/ubuntu.iso", pinnedAfter);
    const object = Buffer.concat(await Array.fromAsync(await s3.client.getObject("pins", "live/ubuntu.iso")));
    expect(sha256(object)).toBe(sha256(pinnedAfter));
    const served = await fetch(url("/artifacts/live-iso"));
    expect(served.status).toBe(200);
    expect(sha256(new Uint8Array(await served.arrayBuffer()))).toBe(sha256(pinnedBefore));
  });

  test("--from an object that does not exist says how to upload it", async () => {
    const { stderr, code } = await cli("artifact", "add", "nothing", "--from", "s3://pins/missing.iso");
    expect(code).toBe(1);
    expect(stderr).toContain("aws s3 cp FILE s3://pins/missing.iso");
  });
});

describe("curl against /artifacts/<name>", () => {
  test("a whole GET matches by sha256 and carries the content's ETag", async () => {
    const r = await curl("/artifacts/vmlinuz-e2e");
    expect(r.status).toBe(200);
    expect(r.body.length).toBe(KERNEL_BYTES);
    expect(sha256(r.body)).toBe(sha256(kernel));
    expect(r.headers.get("content-length")).toBe(String(KERNEL_BYTES));
    expect(r.headers.get("etag")).toMatch(/^"[0-9a-f]+"$/);
    expect(r.headers.get("x-goosed-sha256")).toBe(sha256(kernel));
    expect(r.headers.get("x-goosed-artifact-kind")).toBe("kernel");
  });

  test("--range 0-99 is a 206 with those bytes and their Content-Range", async () => {
    const r = await curl("/artifacts/vmlinuz-e2e", "--range", "0-99");
    expect(r.status).toBe(206);
    expect(r.headers.get("content-range")).toBe(`bytes 0-99/${KERNEL_BYTES}`);
    expect(r.headers.get("content-length")).toBe("100");
    expect(r.body.equals(kernel.subarray(0, 100))).toBe(true);
  });

  test("--range 0-9,100-109 is a 206 multipart/byteranges whose parts hold those bytes", async () => {
    const r = await curl("/artifacts/vmlinuz-e2e", "--range", "0-9,100-109");
    expect(r.status).toBe(206);
    const type = r.headers.get("content-type") ?? "";
    expect(type).toStartWith("multipart/byteranges");
    const parts = byteranges(r.body, type);
    expect(parts.map((p) => p.contentRange)).toEqual([`bytes 0-9/${KERNEL_BYTES}`, `bytes 100-109/${KERNEL_BYTES}`]);
    expect(parts[0]!.bytes.equals(kernel.subarray(0, 10))).toBe(true);
    expect(parts[1]!.bytes.equals(kernel.subarray(100, 110))).toBe(true);
  });

  test("If-None-Match with the ETag of a first response is a 304 without a body", async () => {
    const first = await curl("/artifacts/vmlinuz-e2e", "--range", "0-0");
    const etag = first.headers.get("etag")!;
    const r = await curl("/artifacts/vmlinuz-e2e", "-H", `If-None-Match: ${etag}`);
    expect(r.status).toBe(304);
    expect(r.headers.get("etag")).toBe(etag);
    expect(r.body.length).toBe(0);
  });

  test("If-Modified-Since in the future is a 304", async () => {
    const future = new Date(Date.now() + 24 * 3600_000).toUTCString();
    const r = await curl("/artifacts/vmlinuz-e2e", "-H", `If-Modified-Since: ${future}`);
    expect(r.status).toBe(304);
    expect(r.body.length).toBe(0);
  });

  test("an unsatisfiable range is a 416 problem with Content-Range: bytes */<size>", async () => {
    const r = await curl("/artifacts/vmlinuz-e2e", "--range", `${KERNEL_BYTES}-${KERNEL_BYTES + 10}`);
    expect(r.status).toBe(416);
    expect(r.headers.get("content-range")).toBe(`bytes */${KERNEL_BYTES}`);
    expect(r.headers.get("content-type")).toBe("application/problem+json");
    expect(JSON.parse(r.body.toString())).toMatchObject({ status: 416, type: "/problems/artifact-416", instance: "/artifacts/vmlinuz-e2e" });
  });

  test('If-Match: "nope" is a 412 problem', async () => {
    const r = await curl("/artifacts/vmlinuz-e2e", "-H", 'If-Match: "nope"');
    expect(r.status).toBe(412);
    expect(r.headers.get("content-type")).toBe("application/problem+json");
    expect(JSON.parse(r.body.toString())).toMatchObject({ status: 412, instance: "/artifacts/vmlinuz-e2e" });
  });

  test("HEAD (curl -I) has Content-Length, ETag, Last-Modified and Accept-Ranges and no body", async () => {
    const r = await curl("/artifacts/vmlinuz-e2e", "-I");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-length")).toBe(String(KERNEL_BYTES));
    expect(r.headers.get("etag")).toMatch(/^"[0-9a-f]+"$/);
    expect(Number.isNaN(Date.parse(r.headers.get("last-modified") ?? ""))).toBe(false);
    expect(r.headers.get("accept-ranges")).toBe("bytes");
    expect(r.downloadedBytes).toBe(0);
  });

  test("an unknown name is a 404 problem naming goosed artifact list", async () => {
    const r = await curl("/artifacts/no-such-artifact");
    expect(r.status).toBe(404);
    expect(r.headers.get("content-type")).toBe("application/problem+json");
    const body = JSON.parse(r.body.toString());
    expect(body).toMatchObject({ status: 404, instance: "/artifacts/no-such-artifact" });
    expect(body.detail).toContain("goosed artifact list");
  });

  test("POST is a 405 naming GET and HEAD", async () => {
    const r = await curl("/artifacts/vmlinuz-e2e", "-X", "POST", "--data", "x");
    expect(r.status).toBe(405);
    expect(r.headers.get("allow")).toBe("GET, HEAD");
    expect(r.headers.get("content-type")).toBe("application/problem+json");
  });
});

test("tftp-hpa fetches an artifact by name from goosed's TFTP server", async () => {
  const ready = await json(fetch(url("/readyz")), 200);
  const port = /listening on 127\.0\.0\.1:(\d+)/.exec(ready.services.tftp.detail)?.[1];
  if (!port) throw new Error(`no TFTP port in /readyz: ${JSON.stringify(ready.services.tftp)}`);
  const local = join(s3.dir.path, "tftp-vmlinuz");
  const proc = Bun.spawn(["timeout", "30", "tftp", "-m", "binary", "127.0.0.1", port, "-c", "get", "vmlinuz-e2e", local], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  expect(`${out}${err}`.trim()).toBe("");
  expect(code).toBe(0);
  expect(sha256(readFileSync(local))).toBe(sha256(kernel));
});

test("a profile naming the artifacts boots them: the install script's kernel, initrd and live ISO URLs serve their bytes", async () => {
  const goosed = s3.goosed;
  await json(
    api(goosed, "/v1/profiles", {
      body: { name: "noble-artifacts", osFamily: "ubuntu", kernel: "vmlinuz-e2e", initrd: ["initrd-e2e"], artifacts: { "live.iso": "live-iso" } },
    }),
    201,
  );
  await json(api(goosed, "/v1/machines", { body: { hostname: "art01", profile: "noble-artifacts", interfaces: [{ mac: "52:54:00:00:05:01" }] } }), 201);
  await json(api(goosed, "/v1/machines/art01/provision", { body: {} }), 201);
  const boot = await text(url("/boot/boot.ipxe?mac=52:54:00:00:05:01&arch=x86_64"));
  const token = /\/boot\/install\.ipxe\?mac=\$\{mac\}&token=(gb_[0-9a-f_]+)/.exec(boot)?.[1];
  if (!token) throw new Error(`no boot token in:\n${boot}`);
  const install = await text(url(`/boot/install.ipxe?mac=52:54:00:00:05:01&token=${token}`));

  const kernelLine = install.split("\n").find((l) => l.startsWith("kernel "));
  expect(kernelLine).toStartWith(`kernel ${goosed.url}/artifacts/vmlinuz-e2e initrd=initrd-e2e `);
  expect(kernelLine).toContain(` url=${goosed.url}/artifacts/live-iso `);
  expect(install).toContain(`initrd -n initrd-e2e ${goosed.url}/artifacts/initrd-e2e\n`);
  for (const [fetched, bytes] of [
    [/^kernel (\S+)/m.exec(install)![1]!, kernel],
    [/^initrd -n \S+ (\S+)/m.exec(install)![1]!, initrd],
    [/ url=(\S+)/.exec(kernelLine!)![1]!, pinnedBefore],
  ] as const) {
    const r = await fetch(fetched);
    expect(r.status).toBe(200);
    expect(sha256(new Uint8Array(await r.arrayBuffer()))).toBe(sha256(bytes));
  }
});

test("artifact rm answers 404 afterwards; blobs.collect deletes its blob and keeps those still named", async () => {
  const doomed = randomBytes(MiB + 99);
  const file = join(s3.dir.path, "doomed.bin");
  writeFileSync(file, doomed);
  await cliOk("artifact", "add", "doomed", file);
  expect(existsSync(blobPath(sha256(doomed)))).toBe(true);

  expect(await cliOk("artifact", "rm", "doomed")).toBe("artifact doomed removed\n");
  const gone = await problem(fetch(url("/artifacts/doomed")), 404);
  expect(gone.detail).toContain("goosed artifact list");
  await problem(api(s3.goosed, "/v1/artifacts/doomed"), 404);

  const job = JSON.parse(await cliOk("jobs", "start", "blobs.collect", "--payload", '{"graceMinutes":0}', "--watch", "--json"));
  expect(job).toMatchObject({ type: "blobs.collect", state: "succeeded" });
  expect(job.result.deleted).toBeGreaterThanOrEqual(1);
  expect(existsSync(blobPath(sha256(doomed)))).toBe(false);
  // Named by artifacts (one of them pinned from an object since overwritten), and by the object's current version.
  for (const kept of [kernel, initrd, pinnedBefore, pinnedAfter]) expect(existsSync(blobPath(sha256(kept)))).toBe(true);
  expect(sha256(new Uint8Array(await (await fetch(url("/artifacts/live-iso"))).arrayBuffer()))).toBe(sha256(pinnedBefore));
});

test("/metrics passes promtool check metrics and has the object store's series", async () => {
  const metrics = await text(url("/metrics"));
  expect(metrics).toMatch(/^goosed_s3_requests_total\{[^}]*\} [1-9]\d*$/m);
  expect(metrics).toMatch(/^goosed_s3_sent_bytes_total\{[^}]*\} [1-9]\d*$/m);
  expect(metrics).toMatch(/^goosed_objects_bytes [1-9]\d*$/m);
  const proc = Bun.spawn(["promtool", "check", "metrics"], { stdin: new TextEncoder().encode(metrics), stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  expect(`${out}${err}`.trim()).toBe("");
  expect(code).toBe(0);
});
