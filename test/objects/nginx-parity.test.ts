// Range and If-* answers of a real nginx next to what http-range.ts and conditional.ts decide for the same file.
// Every case names nginx's answer and, where goosed deliberately differs, goosed's own with the reason beside it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, mkdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Subprocess, spawn } from "bun";
import { type Conditions, httpDate, planRead } from "../../src/objects/conditional.ts";
import { type ByteRange, contentRange, frameMultipart, unsatisfiedRange } from "../../src/objects/http-range.ts";
import { requireTool } from "../support/tools.ts";

const SIZE = 10_000;
// Letters only, so no part body can look like a part header when the multipart answer is read back.
const TEXT = Array.from({ length: SIZE }, (_, i) => String.fromCharCode(97 + (i % 26))).join("");
const MTIME_MS = Date.UTC(2024, 0, 2, 3, 4, 5);
const LM = httpDate(MTIME_MS);
const LM_BEFORE = httpDate(MTIME_MS - 1000);
const LM_AFTER = httpDate(MTIME_MS + 1000);
// nginx's static ETag is "<mtime hex>-<size hex>" (ngx_http_set_etag); the test checks it gets exactly this.
const ETAG = `"${(MTIME_MS / 1000).toString(16)}-${SIZE.toString(16)}"`;
const OTHER = '"other"';
const many = (n: number) => `bytes=${Array.from({ length: n }, (_, i) => `${i * 10}-${i * 10}`).join(",")}`;
const each = (n: number) => Array.from({ length: n }, (_, i) => `bytes ${i * 10}-${i * 10}/${SIZE}`);

/** What came back, as far as ranges and preconditions go: the status and the Content-Range of each part sent. */
interface Outcome {
  status: number;
  ranges: string[];
}
const ok: Outcome = { status: 200, ranges: [] };
const notModified: Outcome = { status: 304, ranges: [] };
const failed: Outcome = { status: 412, ranges: [] };
const parts = (...ranges: string[]): Outcome => ({ status: 206, ranges });
const unsatisfiable = (size = SIZE): Outcome => ({ status: 416, ranges: [`bytes */${size}`] });

interface Case {
  headers: Record<string, string>;
  method?: "GET" | "HEAD";
  file?: "f" | "empty";
  nginx: Outcome;
  /** Only where goosed deliberately answers otherwise. */
  goosed?: Outcome;
}

// nginx runs with `max_ranges 16` and `if_modified_since before`, the settings that match goosed's choices. Its
// defaults differ: no cap on ranges (a 17-range request gets 17 parts), and `exact`, under which an
// If-Modified-Since later than Last-Modified gets a 200 where RFC 9110 §13.1.3 asks for a 304.
const CASES: Record<string, Case> = {
  "no Range": { headers: {}, nginx: ok },
  "first ten bytes": { headers: { Range: "bytes=0-9" }, nginx: parts("bytes 0-9/10000") },
  "suffix": { headers: { Range: "bytes=-100" }, nginx: parts("bytes 9900-9999/10000") },
  "open range": { headers: { Range: "bytes=9990-" }, nginx: parts("bytes 9990-9999/10000") },
  "last-pos past the end": { headers: { Range: "bytes=9000-20000" }, nginx: parts("bytes 9000-9999/10000") },
  "suffix longer than the file": { headers: { Range: "bytes=-20000" }, nginx: parts("bytes 0-9999/10000") },
  "unit in capitals": { headers: { Range: "BYTES=0-9" }, nginx: parts("bytes 0-9/10000") },
  "two ranges": { headers: { Range: "bytes=0-9,100-109" }, nginx: parts("bytes 0-9/10000", "bytes 100-109/10000") },
  "two ranges, descending": { headers: { Range: "bytes=100-109,0-9" }, nginx: parts("bytes 100-109/10000", "bytes 0-9/10000") },
  // nginx sends overlapping and adjacent ranges as asked; goosed coalesces them (RFC 9110 §14.2 allows it), so no
  // byte is sent twice and two touching ranges become one plain 206.
  "overlapping ranges": {
    headers: { Range: "bytes=0-99,50-149" },
    nginx: parts("bytes 0-99/10000", "bytes 50-149/10000"),
    goosed: parts("bytes 0-149/10000"),
  },
  "adjacent ranges": {
    headers: { Range: "bytes=0-9,10-19" },
    nginx: parts("bytes 0-9/10000", "bytes 10-19/10000"),
    goosed: parts("bytes 0-19/10000"),
  },
  "one range of two unsatisfiable": { headers: { Range: "bytes=0-9,20000-" }, nginx: parts("bytes 0-9/10000") },
  "16 ranges": { headers: { Range: many(16) }, nginx: parts(...each(16)) },
  "17 ranges are served whole": { headers: { Range: many(17) }, nginx: ok },
  "overlaps adding up past the size are served whole": { headers: { Range: "bytes=0-5999,4000-9999" }, nginx: ok },
  "first-pos at the size": { headers: { Range: "bytes=10000-" }, nginx: unsatisfiable() },
  "zero-length suffix": { headers: { Range: "bytes=-0" }, nginx: unsatisfiable() },
  "other unit": { headers: { Range: "items=0-9" }, nginx: ok },
  // nginx answers a Range it cannot parse with 416; RFC 9110 §14.2 says an invalid Range is ignored, and goosed
  // does so: the client gets the whole file instead of an error it did not ask for.
  "last-pos below first-pos": { headers: { Range: "bytes=5-2" }, nginx: unsatisfiable(), goosed: ok },
  "not a number": { headers: { Range: "bytes=abc" }, nginx: unsatisfiable(), goosed: ok },
  // An empty list element is valid (§5.6.1.2); nginx's parser stops at it.
  "empty list element": {
    headers: { Range: "bytes=0-9,,20-29" },
    nginx: unsatisfiable(),
    goosed: parts("bytes 0-9/10000", "bytes 20-29/10000"),
  },
  // nginx skips spaces inside a range-spec; the grammar (§14.1.1) has none there, so goosed ignores the header.
  "spaces inside a spec": { headers: { Range: "bytes=0 - 9" }, nginx: parts("bytes 0-9/10000"), goosed: ok },
  // Range is defined for GET only (§14.2); nginx applies it to HEAD too, goosed sends HEAD the 200's headers.
  "HEAD with a Range": { method: "HEAD", headers: { Range: "bytes=0-9" }, nginx: parts("bytes 0-9/10000"), goosed: ok },
  "empty file from the start": { file: "empty", headers: { Range: "bytes=0-" }, nginx: ok },
  "empty file, suffix": { file: "empty", headers: { Range: "bytes=-5" }, nginx: ok },
  "empty file past the start": { file: "empty", headers: { Range: "bytes=5-" }, nginx: unsatisfiable(0) },

  "If-None-Match the ETag": { headers: { "If-None-Match": ETAG }, nginx: notModified },
  "If-None-Match the weak ETag": { headers: { "If-None-Match": `W/${ETAG}` }, nginx: notModified },
  "If-None-Match in a list": { headers: { "If-None-Match": `${OTHER}, ${ETAG}` }, nginx: notModified },
  "If-None-Match *": { headers: { "If-None-Match": "*" }, nginx: notModified },
  "If-None-Match another": { headers: { "If-None-Match": OTHER }, nginx: ok },
  "If-None-Match the ETag with a Range": { headers: { "If-None-Match": ETAG, Range: "bytes=0-9" }, nginx: notModified },
  "If-Modified-Since Last-Modified": { headers: { "If-Modified-Since": LM }, nginx: notModified },
  "If-Modified-Since later": { headers: { "If-Modified-Since": LM_AFTER }, nginx: notModified },
  "If-Modified-Since earlier": { headers: { "If-Modified-Since": LM_BEFORE }, nginx: ok },
  "If-Modified-Since as rfc850-date": { headers: { "If-Modified-Since": "Tuesday, 02-Jan-24 03:04:05 GMT" }, nginx: notModified },
  "If-Modified-Since as asctime-date": { headers: { "If-Modified-Since": "Tue Jan  2 03:04:05 2024" }, nginx: notModified },
  "If-Modified-Since not a date": { headers: { "If-Modified-Since": "yesterday" }, nginx: ok },
  // nginx wants both If-None-Match and If-Modified-Since to say "not modified"; §13.1.3 has a recipient ignore
  // If-Modified-Since beside If-None-Match, since the ETag is the finer validator.
  "If-None-Match matching, If-Modified-Since earlier": {
    headers: { "If-None-Match": ETAG, "If-Modified-Since": LM_BEFORE },
    nginx: ok,
    goosed: notModified,
  },
  "If-None-Match another, If-Modified-Since later": { headers: { "If-None-Match": OTHER, "If-Modified-Since": LM_AFTER }, nginx: ok },
  "If-Match the ETag": { headers: { "If-Match": ETAG }, nginx: ok },
  "If-Match *": { headers: { "If-Match": "*" }, nginx: ok },
  "If-Match another": { headers: { "If-Match": OTHER }, nginx: failed },
  "If-Match the weak ETag": { headers: { "If-Match": `W/${ETAG}` }, nginx: failed },
  "If-Unmodified-Since Last-Modified": { headers: { "If-Unmodified-Since": LM }, nginx: ok },
  "If-Unmodified-Since earlier": { headers: { "If-Unmodified-Since": LM_BEFORE }, nginx: failed },
  // nginx fails an If-Unmodified-Since it cannot parse; §13.1.4 says to ignore it.
  "If-Unmodified-Since not a date": { headers: { "If-Unmodified-Since": "yesterday" }, nginx: failed, goosed: ok },
  // nginx checks If-Unmodified-Since even beside a matching If-Match; §13.2.2 step 1 skips it then.
  "If-Match matching, If-Unmodified-Since earlier": {
    headers: { "If-Match": ETAG, "If-Unmodified-Since": LM_BEFORE },
    nginx: failed,
    goosed: ok,
  },
  "If-Range the ETag": { headers: { Range: "bytes=0-9", "If-Range": ETAG }, nginx: parts("bytes 0-9/10000") },
  "If-Range another ETag": { headers: { Range: "bytes=0-9", "If-Range": OTHER }, nginx: ok },
  "If-Range the weak ETag": { headers: { Range: "bytes=0-9", "If-Range": `W/${ETAG}` }, nginx: ok },
  "If-Range Last-Modified": { headers: { Range: "bytes=0-9", "If-Range": LM }, nginx: parts("bytes 0-9/10000") },
  "If-Range a later date": { headers: { Range: "bytes=0-9", "If-Range": LM_AFTER }, nginx: ok },
  "If-Range without a Range": { headers: { "If-Range": OTHER }, nginx: ok },
};

/** What goosed decides, in the Outcome shape nginx's answers are read into. */
function decide(c: Case): Outcome {
  const h = new Headers(c.headers);
  const size = c.file === "empty" ? 0 : SIZE;
  const given: Conditions = {
    ifMatch: h.get("if-match"),
    ifNoneMatch: h.get("if-none-match"),
    ifModifiedSince: h.get("if-modified-since"),
    ifUnmodifiedSince: h.get("if-unmodified-since"),
    ifRange: h.get("if-range"),
    range: h.get("range"),
  };
  const plan = planRead(c.method ?? "GET", given, { etag: ETAG, lastModifiedMs: MTIME_MS }, size, Date.now());
  if (plan.status === 206) return parts(...plan.ranges.map((r) => contentRange(r, size)));
  return { status: plan.status, ranges: plan.status === 416 ? [unsatisfiedRange(size)] : [] };
}

let dir: string;
let nginx: Subprocess;
let base: string;

/** A port nobody listens on now; nginx cannot report the port it got for 0, so it is given one. */
function freePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const { port } = probe;
  probe.stop(true);
  return port;
}

beforeAll(async () => {
  const binary = requireTool("nginx", "nginx-light");
  dir = mkdtempSync(join(tmpdir(), "goosed-nginx-"));
  mkdirSync(join(dir, "www"));
  writeFileSync(join(dir, "www", "f"), TEXT);
  writeFileSync(join(dir, "www", "empty"), "");
  for (const name of ["f", "empty"]) utimesSync(join(dir, "www", name), MTIME_MS / 1000, MTIME_MS / 1000);
  const port = freePort();
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `${t}_temp_path ${dir}/${t};`).join(" ");
  writeFileSync(
    join(dir, "nginx.conf"),
    `daemon off; master_process off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 64; }
http {
  access_log off; ${temp}
  default_type application/octet-stream;
  server { listen 127.0.0.1:${port}; root ${dir}/www; max_ranges 16; if_modified_since before; }
}
`,
  );
  nginx = spawn([binary, "-p", dir, "-e", `${dir}/error.log`, "-c", `${dir}/nginx.conf`], { stdout: "ignore", stderr: "pipe" });
  base = `http://127.0.0.1:${port}`;
  // nginx says nothing when it is listening: poll until it answers, give up (with its error log) after 5 s.
  const deadline = Date.now() + 5000;
  for (;;) {
    if (nginx.exitCode !== null) throw new Error(`nginx exited ${nginx.exitCode}: ${await Bun.file(`${dir}/error.log`).text()}`);
    try {
      await fetch(`${base}/empty`);
      break;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`nginx did not answer on ${base}: ${error}`);
      await Bun.sleep(20);
    }
  }
});

afterAll(async () => {
  if (nginx && nginx.exitCode === null) {
    nginx.kill("SIGTERM");
    const timer = setTimeout(() => nginx.kill("SIGKILL"), 3000);
    await nginx.exited;
    clearTimeout(timer);
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The status and the Content-Range of each part nginx sent; each part's bytes are checked against the file. */
async function ask(c: Case): Promise<Outcome> {
  const file = c.file ?? "f";
  const response = await fetch(`${base}/${file}`, { method: c.method ?? "GET", headers: c.headers });
  const body = Buffer.from(await response.arrayBuffer()).toString("latin1");
  const type = response.headers.get("content-type") ?? "";
  const boundary = /^multipart\/byteranges; boundary=(.+)$/.exec(type)?.[1];
  if (response.status !== 206 || c.method === "HEAD") {
    const range = response.headers.get("content-range");
    return { status: response.status, ranges: range === null ? [] : [range] };
  }
  if (!boundary) {
    const range = response.headers.get("content-range") as string;
    expect(body).toBe(slice(range));
    return parts(range);
  }
  const sent: string[] = [];
  for (const part of body.split(`--${boundary}`).slice(1, -1)) {
    const m = /^\r\nContent-Type: [^\r]*\r\nContent-Range: ([^\r]*)\r\n\r\n([^]*)\r\n$/.exec(part);
    if (!m) throw new Error(`unexpected part: ${JSON.stringify(part.slice(0, 200))}`);
    expect(m[2]).toBe(slice(m[1] as string));
    sent.push(m[1] as string);
  }
  // frameMultipart writes the same body byte for byte, less the CRLF nginx puts before the first delimiter (an empty
  // preamble line RFC 2046 §5.1.1 lets a sender add and a recipient ignore).
  const framing = frameMultipart(boundary, "application/octet-stream", SIZE, sent.map(toRange));
  const ours = framing.parts.map((p) => latin1(p.head) + slice(contentRange(p.range, SIZE))).join("") + latin1(framing.tail);
  expect([body, Number(response.headers.get("content-length"))]).toEqual([`\r\n${ours}`, framing.contentLength + 2]);
  expect(type).toBe(framing.contentType);
  return parts(...sent);
}

/** The range a part's Content-Range names. */
function toRange(range: string): ByteRange {
  const [, start, end] = /^bytes (\d+)-(\d+)\/\d+$/.exec(range) ?? [];
  return { start: Number(start), end: Number(end) };
}

/** The file's bytes a Content-Range names. */
function slice(range: string): string {
  const { start, end } = toRange(range);
  return TEXT.slice(start, end + 1);
}

const latin1 = (bytes: Uint8Array) => Buffer.from(bytes).toString("latin1");

describe("nginx parity", () => {
  test("nginx's validators are the ones the table assumes", async () => {
    const response = await fetch(`${base}/f`, { method: "HEAD" });
    expect([response.status, response.headers.get("etag"), response.headers.get("last-modified")]).toEqual([200, ETAG, LM]);
  });

  test.each(Object.entries(CASES))("%s", async (_name, c) => {
    const fromNginx = await ask(c);
    expect({ nginx: fromNginx, goosed: decide(c) }).toEqual({ nginx: c.nginx, goosed: c.goosed ?? c.nginx });
  });
});
