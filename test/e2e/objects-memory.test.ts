// Bounded memory: a 1 GiB object goes up through the S3 API and comes back down, whole and by range, while goosed's
// peak resident memory stays far below the object's size. Nothing is held whole; a 10 GiB object costs the same.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { type S3Goosed, startS3Goosed } from "../support/s3.ts";
import { signRequest } from "../support/sigv4-sign.ts";

setDefaultTimeout(180_000);

const SIZE = 1024 * 1024 * 1024;
const CHUNK = 1024 * 1024;
// Far below the object: the process idles near 60 MiB, and a put holds a few 4 MiB batches.
const PEAK_LIMIT_BYTES = 256 * 1024 * 1024;
let s3: S3Goosed;

/** goosed's peak resident set so far (VmHWM), in bytes. */
function peakRss(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmHWM:"))!;
  return Number(/(\d+)/.exec(line)![1]) * 1024;
}

/** 1 GiB that differs in every MiB, generated as it is sent. */
function body(hash: ReturnType<typeof createHash>): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent === SIZE) return controller.close();
      const chunk = new Uint8Array(CHUNK).fill(sent / CHUNK);
      hash.update(chunk);
      sent += CHUNK;
      controller.enqueue(chunk);
    },
  });
}

const send = (method: string, path: string, init: { body?: ReadableStream<Uint8Array>; headers?: Record<string, string> } = {}) => {
  const url = `${s3.endpoint}${path}`;
  return fetch(url, { method, headers: signRequest(method, url, init.headers ?? {}, "UNSIGNED-PAYLOAD", s3.key).headers, body: init.body });
};

beforeAll(async () => {
  s3 = await startS3Goosed([], "goosed-memory-");
  expect((await send("PUT", "/big")).status).toBe(200);
});

afterAll(async () => {
  await s3?.[Symbol.asyncDispose]();
});

test("a 1 GiB PUT, GET and ranged GET leave goosed's peak memory far below the object's size", async () => {
  const pid = s3.goosed.proc.pid;
  const sent = createHash("sha256");
  const put = await send("PUT", "/big/disk.img", { body: body(sent), headers: { "content-length": String(SIZE) } });
  expect(put.status).toBe(200);
  const afterPut = peakRss(pid);

  const received = createHash("sha256");
  const got = await send("GET", "/big/disk.img");
  for await (const chunk of got.body!) received.update(chunk);
  expect(received.digest("hex")).toBe(sent.digest("hex"));
  const tail = await send("GET", "/big/disk.img", { headers: { range: `bytes=${SIZE - CHUNK}-` } });
  expect(tail.status).toBe(206);
  expect(new Uint8Array(await tail.arrayBuffer())).toEqual(new Uint8Array(CHUNK).fill(SIZE / CHUNK - 1));

  const peak = peakRss(pid);
  console.log(`goosed peak RSS: ${(afterPut / 1048576).toFixed(0)} MiB after the PUT, ${(peak / 1048576).toFixed(0)} MiB after the GETs`);
  expect(peak).toBeLessThan(PEAK_LIMIT_BYTES);
});
