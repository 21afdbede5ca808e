// Debian's awscli and s3cmd against goosed's S3 API at /s3: uploads (single and multipart), downloads, listings,
// sync, deletes and presigned URLs, each download checked by sha256; and the S3 errors those clients see.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type RunningGoosed, runGoosed, startGoosed, tempDir, type TempDir } from "../support/goosed.ts";
import { freePort } from "../support/s3.ts";

// Each test runs the CLIs a dozen times, a python start-up each.
setDefaultTimeout(120_000);

const AWS = "/usr/bin/aws";
const S3CMD = "/usr/bin/s3cmd";

let dir: TempDir;
let goosed: RunningGoosed;
let s3Port = 0;
let keyId = "";
let secret = "";

const sha256 = (bytes: Uint8Array | Buffer) => createHash("sha256").update(bytes).digest("hex");
const sha256File = (path: string) => sha256(readFileSync(path));

function writeRandom(path: string, bytes: number): string {
  const data = randomBytes(bytes);
  writeFileSync(path, data);
  return sha256(data);
}

async function run(command: string[], env: Record<string, string> = {}) {
  const proc = Bun.spawn(command, {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir.path, AWS_CONFIG_FILE: "/dev/null", AWS_SHARED_CREDENTIALS_FILE: "/dev/null", ...env },
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { stdout, stderr, code };
}

const awsEnv = () => ({ AWS_ACCESS_KEY_ID: keyId, AWS_SECRET_ACCESS_KEY: secret, AWS_DEFAULT_REGION: "us-east-1" });
const aws = (...args: string[]) => run([AWS, "--endpoint-url", `${goosed.url}/s3`, ...args], awsEnv());

function s3cmdConfig(secretKey = secret): string {
  const path = join(dir.path, `s3cfg-${secretKey.slice(0, 6)}`);
  // s3cmd signs a Host header with the endpoint's path in it, so it needs the S3 API on a port of its own.
  const host = `127.0.0.1:${s3Port}`;
  writeFileSync(path, `[default]\naccess_key = ${keyId}\nsecret_key = ${secretKey}\nhost_base = ${host}\nhost_bucket = ${host}\nuse_https = False\nsignature_v2 = False\nbucket_location = us-east-1\n`);
  return path;
}
const s3cmd = (...args: string[]) => run([S3CMD, "-c", s3cmdConfig(), ...args]);

beforeAll(async () => {
  for (const tool of [AWS, S3CMD]) {
    if (!(await Bun.file(tool).exists())) throw new Error(`${tool} is missing: apt-get install ${tool.split("/").at(-1) === "aws" ? "awscli" : "s3cmd"} (.ci/run does)`);
  }
  dir = tempDir("goosed-s3-");
  s3Port = freePort();
  goosed = await startGoosed({ dataDir: join(dir.path, "data"), args: ["--objects-s3-port", String(s3Port)] });
  const created = await runGoosed(["s3", "key", "create", "ci", "--api", goosed.url, "--token", goosed.token]);
  expect(created.code).toBe(0);
  keyId = /AWS_ACCESS_KEY_ID=(\S+)/.exec(created.stdout)![1]!;
  secret = /AWS_SECRET_ACCESS_KEY=(\S+)/.exec(created.stdout)![1]!;
});

afterAll(async () => {
  await goosed?.stop();
  await dir?.[Symbol.asyncDispose]();
});

describe("awscli", () => {
  test("mb, cp up (multipart at 20 MiB) and down, ls, rm, each download matching by sha256", async () => {
    expect((await aws("s3", "mb", "s3://lab")).code).toBe(0);
    const big = join(dir.path, "big.bin");
    const bigHash = writeRandom(big, 20 * 1024 * 1024 + 12345);
    const small = join(dir.path, "small.txt");
    const smallHash = writeRandom(small, 4321);
    const up = await aws("s3", "cp", big, "s3://lab/iso/big.bin");
    expect(up.stderr).toBe("");
    expect(up.code).toBe(0);
    expect((await aws("s3", "cp", small, "s3://lab/small.txt")).code).toBe(0);

    const listed = await aws("s3", "ls", "--recursive", "s3://lab/");
    expect(listed.stdout).toContain(`${20 * 1024 * 1024 + 12345} iso/big.bin`);
    expect(listed.stdout).toContain("4321 small.txt");
    const top = await aws("s3", "ls", "s3://lab/");
    expect(top.stdout).toContain("PRE iso/");

    const back = join(dir.path, "big.back");
    expect((await aws("s3", "cp", "s3://lab/iso/big.bin", back)).code).toBe(0);
    expect(sha256File(back)).toBe(bigHash);
    const smallBack = join(dir.path, "small.back");
    expect((await aws("s3", "cp", "s3://lab/small.txt", smallBack)).code).toBe(0);
    expect(sha256File(smallBack)).toBe(smallHash);

    // A multipart object's ETag is the MD5 of the parts' MD5s with the part count, as S3's.
    const head = JSON.parse((await aws("s3api", "head-object", "--bucket", "lab", "--key", "iso/big.bin")).stdout);
    expect(head.ETag).toMatch(/^"[0-9a-f]{32}-3"$/);
    expect(head.ContentLength).toBe(20 * 1024 * 1024 + 12345);

    expect((await aws("s3", "rm", "s3://lab/small.txt")).code).toBe(0);
    const missing = await aws("s3api", "head-object", "--bucket", "lab", "--key", "small.txt");
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain("404");
  });

  test("sync uploads a tree, a second sync uploads nothing, and a sync back gets the same bytes", async () => {
    const tree = join(dir.path, "tree");
    const hashes = new Map<string, string>();
    for (const name of ["a/vmlinuz", "a/initrd.img", "b/c/ks.cfg", "top.txt"]) {
      mkdirSync(join(tree, name, ".."), { recursive: true });
      hashes.set(name, writeRandom(join(tree, name), 1000 + name.length * 997));
    }
    expect((await aws("s3", "mb", "s3://tree")).code).toBe(0);
    const first = await aws("s3", "sync", tree, "s3://tree/");
    expect(first.code).toBe(0);
    expect(first.stdout.match(/upload:/g)?.length).toBe(4);
    const second = await aws("s3", "sync", tree, "s3://tree/");
    expect(second.code).toBe(0);
    expect(second.stdout).not.toContain("upload:");
    const down = join(dir.path, "tree-back");
    expect((await aws("s3", "sync", "s3://tree/", down)).code).toBe(0);
    for (const [name, hash] of hashes) expect(sha256File(join(down, name))).toBe(hash);
  });

  test("s3api multipart: create, upload parts, list parts, complete; and abort", async () => {
    await aws("s3", "mb", "s3://parts");
    const partFiles = [5 * 1024 * 1024, 5 * 1024 * 1024, 777].map((size, i) => {
      const path = join(dir.path, `part${i + 1}`);
      writeRandom(path, size);
      return path;
    });
    const whole = sha256(Buffer.concat(partFiles.map((p) => readFileSync(p))));
    const created = JSON.parse((await aws("s3api", "create-multipart-upload", "--bucket", "parts", "--key", "disk.img")).stdout);
    const etags: string[] = [];
    for (const [i, path] of partFiles.entries()) {
      const part = JSON.parse((await aws("s3api", "upload-part", "--bucket", "parts", "--key", "disk.img", "--upload-id", created.UploadId, "--part-number", String(i + 1), "--body", path)).stdout);
      etags.push(part.ETag);
    }
    const parts = JSON.parse((await aws("s3api", "list-parts", "--bucket", "parts", "--key", "disk.img", "--upload-id", created.UploadId)).stdout);
    expect(parts.Parts.map((p: { PartNumber: number }) => p.PartNumber)).toEqual([1, 2, 3]);
    const layout = JSON.stringify({ Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) });
    const done = await aws("s3api", "complete-multipart-upload", "--bucket", "parts", "--key", "disk.img", "--upload-id", created.UploadId, "--multipart-upload", layout);
    expect(done.code).toBe(0);
    const back = join(dir.path, "disk.back");
    expect((await aws("s3api", "get-object", "--bucket", "parts", "--key", "disk.img", back)).code).toBe(0);
    expect(sha256File(back)).toBe(whole);

    const other = JSON.parse((await aws("s3api", "create-multipart-upload", "--bucket", "parts", "--key", "gone.img")).stdout);
    expect((await aws("s3api", "abort-multipart-upload", "--bucket", "parts", "--key", "gone.img", "--upload-id", other.UploadId)).code).toBe(0);
    const after = await aws("s3api", "list-parts", "--bucket", "parts", "--key", "gone.img", "--upload-id", other.UploadId);
    expect(after.stderr).toContain("NoSuchUpload");

    // A part under 5 MiB before the last one is refused at completion, as S3 does.
    const small = JSON.parse((await aws("s3api", "create-multipart-upload", "--bucket", "parts", "--key", "small.img")).stdout);
    const tags: string[] = [];
    for (const n of [1, 2]) {
      tags.push(JSON.parse((await aws("s3api", "upload-part", "--bucket", "parts", "--key", "small.img", "--upload-id", small.UploadId, "--part-number", String(n), "--body", partFiles[2]!)).stdout).ETag);
    }
    const refused = await aws("s3api", "complete-multipart-upload", "--bucket", "parts", "--key", "small.img", "--upload-id", small.UploadId, "--multipart-upload", JSON.stringify({ Parts: tags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) }));
    expect(refused.stderr).toContain("EntityTooSmall");
  });

  test("presigned GET works with plain curl, ranges included, and an expired one is refused", async () => {
    await aws("s3", "mb", "s3://pre");
    const file = join(dir.path, "pre.bin");
    const hash = writeRandom(file, 300_000);
    await aws("s3", "cp", file, "s3://pre/pre.bin");
    const url = (await aws("s3", "presign", "s3://pre/pre.bin", "--expires-in", "300")).stdout.trim();
    const got = await fetch(url);
    expect(got.status).toBe(200);
    expect(sha256(new Uint8Array(await got.arrayBuffer()))).toBe(hash);
    const ranged = await run(["curl", "-s", "-o", join(dir.path, "range.out"), "-w", "%{http_code}", "--range", "100-199", url]);
    expect(ranged.stdout).toBe("206");
    expect(readFileSync(join(dir.path, "range.out"))).toEqual(readFileSync(file).subarray(100, 200));
    const bad = await fetch(url, { headers: { range: "bytes=400000-" } });
    expect(bad.status).toBe(416);
    expect(await bad.text()).toContain("<Code>InvalidRange</Code>");

    const short = (await aws("s3", "presign", "s3://pre/pre.bin", "--expires-in", "1")).stdout.trim();
    await Bun.sleep(2100);
    const expired = await fetch(short);
    expect(expired.status).toBe(403);
    const body = await expired.text();
    expect(body).toContain("<Code>AccessDenied</Code>");
    expect(body).toContain("Request has expired");
  });

  test("presigned PUT from botocore takes an upload from curl -T", async () => {
    await aws("s3", "mb", "s3://put");
    const script = [
      "import botocore.session, botocore.config",
      "s = botocore.session.get_session()",
      `c = s.create_client('s3', endpoint_url='${goosed.url}/s3', region_name='us-east-1', aws_access_key_id='${keyId}', aws_secret_access_key='${secret}', config=botocore.config.Config(signature_version='s3v4'))`,
      "print(c.generate_presigned_url('put_object', Params={'Bucket': 'put', 'Key': 'up/loaded.bin'}, ExpiresIn=300))",
    ].join("\n");
    const url = (await run(["python3", "-c", script])).stdout.trim();
    expect(url).toContain("X-Amz-Signature=");
    const file = join(dir.path, "put.bin");
    const hash = writeRandom(file, 2 * 1024 * 1024 + 3);
    const put = await run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-T", file, url]);
    expect(put.stdout).toBe("200");
    const back = join(dir.path, "put.back");
    expect((await aws("s3", "cp", "s3://put/up/loaded.bin", back)).code).toBe(0);
    expect(sha256File(back)).toBe(hash);
  });

  test("the errors awscli sees: missing bucket and key, a wrong secret, a bucket that is not empty", async () => {
    const noBucket = await aws("s3", "ls", "s3://nope/");
    expect(noBucket.code).not.toBe(0);
    expect(noBucket.stderr).toContain("NoSuchBucket");
    await aws("s3", "mb", "s3://errs");
    const noKey = await aws("s3api", "get-object", "--bucket", "errs", "--key", "absent", join(dir.path, "absent"));
    expect(noKey.stderr).toContain("NoSuchKey");
    const wrong = await run([AWS, "--endpoint-url", `${goosed.url}/s3`, "s3", "ls", "s3://errs/"], { ...awsEnv(), AWS_SECRET_ACCESS_KEY: `${secret}x` });
    expect(wrong.stderr).toContain("SignatureDoesNotMatch");
    const unknown = await run([AWS, "--endpoint-url", `${goosed.url}/s3`, "s3", "ls"], { ...awsEnv(), AWS_ACCESS_KEY_ID: "GDNOSUCHKEY000000000" });
    expect(unknown.stderr).toContain("InvalidAccessKeyId");
    await aws("s3", "cp", join(dir.path, "pre.bin"), "s3://errs/x");
    const notEmpty = await aws("s3", "rb", "s3://errs");
    expect(notEmpty.stderr).toContain("BucketNotEmpty");
    const anonymous = await fetch(`${goosed.url}/s3/errs/x`);
    expect(anonymous.status).toBe(403);
    expect(await anonymous.text()).toContain("<Code>AccessDenied</Code>");
  });

  test("a revoked key is refused from then on", async () => {
    const created = await runGoosed(["s3", "key", "create", "temp", "--api", goosed.url, "--token", goosed.token]);
    const id = /AWS_ACCESS_KEY_ID=(\S+)/.exec(created.stdout)![1]!;
    const key = /AWS_SECRET_ACCESS_KEY=(\S+)/.exec(created.stdout)![1]!;
    const env = { AWS_ACCESS_KEY_ID: id, AWS_SECRET_ACCESS_KEY: key, AWS_DEFAULT_REGION: "us-east-1" };
    expect((await run([AWS, "--endpoint-url", `${goosed.url}/s3`, "s3", "ls"], env)).code).toBe(0);
    const listed = await runGoosed(["s3", "key", "list", "--api", goosed.url, "--token", goosed.token]);
    expect(listed.stdout).toContain(id);
    expect((await runGoosed(["s3", "key", "revoke", id, "--api", goosed.url, "--token", goosed.token])).code).toBe(0);
    const refused = await run([AWS, "--endpoint-url", `${goosed.url}/s3`, "s3", "ls"], env);
    expect(refused.stderr).toContain("InvalidAccessKeyId");
  });
});

describe("s3cmd", () => {
  test("mb, put, ls, get, del, and a multipart put, each download matching by sha256", async () => {
    expect((await s3cmd("mb", "s3://cmd")).code).toBe(0);
    const file = join(dir.path, "cmd.bin");
    const hash = writeRandom(file, 1_500_000);
    const put = await s3cmd("put", file, "s3://cmd/dir/cmd.bin");
    expect(put.stderr).not.toContain("WARNING");
    expect(put.code).toBe(0);
    const listed = await s3cmd("ls", "s3://cmd/dir/");
    expect(listed.stdout).toContain("s3://cmd/dir/cmd.bin");
    const top = await s3cmd("ls", "s3://cmd/");
    expect(top.stdout).toContain("DIR");
    const back = join(dir.path, "cmd.back");
    const got = await s3cmd("get", "s3://cmd/dir/cmd.bin", back);
    expect(got.stderr).not.toContain("MD5");
    expect(sha256File(back)).toBe(hash);

    const big = join(dir.path, "cmd-big.bin");
    const bigHash = writeRandom(big, 12 * 1024 * 1024 + 5);
    const multipart = await s3cmd("put", "--multipart-chunk-size-mb=5", big, "s3://cmd/big.bin");
    expect(multipart.code).toBe(0);
    // Three parts: the ETag S3 gives a multipart object ends in the part count (s3cmd info shows its own MD5 instead).
    expect(JSON.parse((await aws("s3api", "head-object", "--bucket", "cmd", "--key", "big.bin")).stdout).ETag).toMatch(/^"[0-9a-f]{32}-3"$/);
    const bigBack = join(dir.path, "cmd-big.back");
    expect((await s3cmd("get", "s3://cmd/big.bin", bigBack)).code).toBe(0);
    expect(sha256File(bigBack)).toBe(bigHash);

    expect((await s3cmd("del", "s3://cmd/dir/cmd.bin")).code).toBe(0);
    expect((await s3cmd("ls", "s3://cmd/dir/")).stdout).not.toContain("cmd.bin");
  });

  test("s3cmd with a wrong secret gets SignatureDoesNotMatch", async () => {
    const wrong = await run([S3CMD, "-c", s3cmdConfig(`${secret}x`), "ls", "s3://cmd/"]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain("SignatureDoesNotMatch");
  });
});

test("no temporary file is left behind by all of the above", () => {
  expect(readdirSync(join(dir.path, "data", "blobs", "tmp"))).toEqual([]);
});
