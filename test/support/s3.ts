// goosed as an S3 server for tests: a real process with the S3 API on a port of its own (the minio client cannot take a
// path prefix), an access key made with `goosed s3 key create`, and a minio client signed with it.
import { createHash } from "node:crypto";
import { join } from "node:path";
import { Client } from "minio";
import { type RunningGoosed, runGoosed, startGoosed, type TempDir, tempDir } from "./goosed.ts";

export interface S3Key {
  accessKey: string;
  secretKey: string;
}

export interface S3Goosed extends AsyncDisposable {
  goosed: RunningGoosed;
  dir: TempDir;
  s3Port: number;
  /** http://127.0.0.1:<s3Port>, the endpoint the minio client and S3BlobBackend take. */
  endpoint: string;
  key: S3Key;
  client: Client;
}

/** A port nothing listens on right now: bound on 0, read, released. */
export function freePort(): number {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}

/** `goosed s3 key create <name> --json` against a running goosed. */
export async function createS3Key(goosed: RunningGoosed, name: string): Promise<S3Key> {
  const { stdout, stderr, code } = await runGoosed(["s3", "key", "create", name, "--json"], { GOOSED_API: goosed.url, GOOSED_TOKEN: goosed.token });
  if (code !== 0) throw new Error(`goosed s3 key create exited with ${code}: ${stderr}`);
  const created = JSON.parse(stdout) as { accessKeyId: string; secretAccessKey: string };
  return { accessKey: created.accessKeyId, secretKey: created.secretAccessKey };
}

export function s3Client(endpoint: string, key: S3Key, options: { partSize?: number } = {}): Client {
  const url = new URL(endpoint);
  return new Client({
    endPoint: url.hostname,
    port: Number(url.port),
    useSSL: false,
    accessKey: key.accessKey,
    secretKey: key.secretKey,
    region: "us-east-1",
    pathStyle: true,
    ...options,
  });
}

/** Starts goosed with its S3 API on a free port of its own and a fresh key; `args` go to `goosed serve`. */
export async function startS3Goosed(args: string[] = [], prefix = "goosed-s3-"): Promise<S3Goosed> {
  const dir = tempDir(prefix);
  const s3Port = freePort();
  let goosed: RunningGoosed;
  try {
    goosed = await startGoosed({ dataDir: join(dir.path, "data"), args: ["--objects-s3-port", String(s3Port), ...args] });
  } catch (err) {
    await dir[Symbol.asyncDispose]();
    throw err;
  }
  const key = await createS3Key(goosed, "test");
  const endpoint = `http://127.0.0.1:${s3Port}`;
  return {
    goosed,
    dir,
    s3Port,
    endpoint,
    key,
    client: s3Client(endpoint, key),
    [Symbol.asyncDispose]: async () => {
      await goosed[Symbol.asyncDispose]();
      await dir[Symbol.asyncDispose]();
    },
  };
}

/** Every key under `prefix` in `bucket`. */
export async function listKeys(client: Client, bucket: string, prefix = ""): Promise<string[]> {
  const keys: string[] = [];
  for await (const item of client.listObjectsV2(bucket, prefix, true)) {
    const name = (item as { name?: string }).name;
    if (name !== undefined) keys.push(name);
  }
  return keys;
}

/** Deterministic content of `sizeBytes`, handed out in `chunkBytes` pieces, with its sha256 and md5. */
export function patternedContent(sizeBytes: number, seed = 1, chunkBytes = 1024 * 1024) {
  const block = new Uint8Array(chunkBytes);
  let state = seed >>> 0;
  for (let i = 0; i < block.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    block[i] = state >>> 24;
  }
  const chunkAt = (index: number, length: number) => {
    const chunk = block.slice(0, length);
    // Each chunk differs from the others, so a part sent twice or out of order changes the hash.
    if (length >= 4) new DataView(chunk.buffer).setUint32(0, index >>> 0);
    return chunk;
  };
  const sha256 = createHash("sha256");
  const md5 = createHash("md5");
  for (let offset = 0, i = 0; offset < sizeBytes; offset += chunkBytes, i++) {
    const chunk = chunkAt(i, Math.min(chunkBytes, sizeBytes - offset));
    sha256.update(chunk);
    md5.update(chunk);
  }
  return {
    sizeBytes,
    sha256: sha256.digest("hex"),
    md5: md5.digest("hex"),
    async *chunks(): AsyncIterable<Uint8Array> {
      for (let offset = 0, i = 0; offset < sizeBytes; offset += chunkBytes, i++) yield chunkAt(i, Math.min(chunkBytes, sizeBytes - offset));
    },
    bytes(): Uint8Array {
      const all = new Uint8Array(sizeBytes);
      for (let offset = 0, i = 0; offset < sizeBytes; offset += chunkBytes, i++) all.set(chunkAt(i, Math.min(chunkBytes, sizeBytes - offset)), offset);
      return all;
    },
  };
}

export function sha256Hex(bytes: Uint8Array | ArrayBuffer): string {
  return createHash("sha256").update(new Uint8Array(bytes)).digest("hex");
}
