import { ObjectStore } from "../../src/objects/index.ts";
import { TrustStore } from "../../src/bundles/index.ts";
import { BootService } from "../../src/boot/index.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createApi, EventStreams } from "../../src/api/index.ts";
import { Readiness } from "../../src/core/index.ts";
import { createLogger } from "../../src/lib/logger.ts";
import { MetricsRegistry } from "../../src/lib/metrics.ts";
import { openTestCore } from "../support/core.ts";
import { api, type RunningGoosed, startGoosed, tempDir } from "../support/goosed.ts";

const dir = tempDir();
let goosed: RunningGoosed;

beforeAll(async () => {
  goosed = await startGoosed({ dataDir: dir.path, args: ["--http-body-limit-bytes", "2048"] });
});
afterAll(async () => {
  expect(await goosed.stop()).toBe(0);
  await dir[Symbol.asyncDispose]();
});

async function expectProblem(response: Response, status: number, code: string, instance: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toBe("application/problem+json");
  const body = (await response.json()) as Record<string, unknown>;
  expect(body).toMatchObject({ type: `/problems/${code}`, status, instance });
  expect(typeof body.title).toBe("string");
  expect(typeof body.detail).toBe("string");
  expect(body.requestId).toBe(response.headers.get("x-request-id"));
  return body;
}

describe("problem JSON (RFC 9457)", () => {
  test("400 for a body that is not JSON", async () => {
    const response = await fetch(`${goosed.url}/v1/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${goosed.token}`, "content-type": "application/json" },
      body: '{"type": "blobs.verify"',
    });
    const body = await expectProblem(response, 400, "malformed-body", "/v1/jobs");
    expect(body.detail).toStartWith("request body is not valid JSON");
  });

  test("401 without a token, with a malformed one, and with an unknown one", async () => {
    await expectProblem(await api(goosed, "/v1/jobs", { token: null }), 401, "unauthorized", "/v1/jobs");
    await expectProblem(await api(goosed, "/v1/jobs", { token: "not-a-token" }), 401, "unauthorized", "/v1/jobs");
    const forged = `gd_${"0".repeat(12)}_${"f".repeat(64)}`;
    const body = await expectProblem(await api(goosed, "/v1/jobs", { token: forged }), 401, "unauthorized", "/v1/jobs");
    expect(body.detail).toContain("unknown, revoked or expired");
  });

  test("403 when the token's scopes are too few", async () => {
    const created = (await (await api(goosed, "/v1/tokens", { body: { name: "reader", scopes: ["read"] } })).json()) as { token: string };
    const body = await expectProblem(await api(goosed, "/v1/jobs", { token: created.token, body: { type: "blobs.verify" } }), 403, "forbidden", "/v1/jobs");
    expect(body.detail).toBe("POST /v1/jobs needs the write scope; this token has read");
  });

  test("404 for an unknown route and for an unknown object", async () => {
    await expectProblem(await api(goosed, "/v1/nothing-here"), 404, "route-not-found", "/v1/nothing-here");
    const body = await expectProblem(await api(goosed, "/v1/jobs/424242"), 404, "job-not-found", "/v1/jobs/424242");
    expect(body.detail).toBe("no job with id 424242");
  });

  test("413 for a body over the limit, declared or streamed", async () => {
    const big = JSON.stringify({ type: "blobs.verify", payload: { pad: "x".repeat(4096) } });
    await expectProblem(await api(goosed, "/v1/jobs", { body: JSON.parse(big) }), 413, "body-too-large", "/v1/jobs");
    // No Content-Length: the body arrives chunked and is cut off while it is read.
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    const response = await fetch(`${goosed.url}/v1/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${goosed.token}`, "content-type": "application/json" },
      body: chunked,
    });
    await expectProblem(response, 413, "body-too-large", "/v1/jobs");
  });

  test("415 for a body that is not declared as JSON", async () => {
    const response = await fetch(`${goosed.url}/v1/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${goosed.token}`, "content-type": "text/plain" },
      body: "type=blobs.verify",
    });
    await expectProblem(response, 415, "unsupported-media-type", "/v1/jobs");
  });

  test("422 lists every unknown or invalid field", async () => {
    const response = await api(goosed, "/v1/tokens", { body: { name: "", scopes: ["root"], colour: "blue" } });
    const body = await expectProblem(response, 422, "validation-failed", "/v1/tokens");
    const paths = (body.errors as Array<{ path: string }>).map((e) => e.path).sort();
    expect(paths).toEqual(expect.arrayContaining(["/colour", "/name", "/scopes/0"]));
    const query = await expectProblem(await api(goosed, "/v1/jobs?state=sleeping&limit=0"), 422, "validation-failed", "/v1/jobs");
    expect((query.errors as Array<{ path: string }>).map((e) => e.path).sort()).toEqual(expect.arrayContaining(["/limit", "/state"]));
  });

  test("the problem type is a page the appliance serves itself", async () => {
    const response = await fetch(`${goosed.url}/problems/validation-failed`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("<code>validation-failed</code>");
  });
});

test("500 hides the cause from the client and logs it under the request id", async () => {
  await using t = openTestCore();
  const lines: string[] = [];
  const log = createLogger({ level: "info", format: "json", write: (line) => lines.push(line) });
  const { token } = t.core.tokens.create({ name: "ops", scopes: ["admin"] }, { id: "test" });
  const app = createApi({
    core: t.core,
    boot: new BootService(t.core, { discoveryPolicy: "local", globalVars: {} }),
    config: t.config,
    log,
    metrics: new MetricsRegistry(),
    readiness: new Readiness(),
    streams: new EventStreams(t.core),
    trust: new TrustStore(t.core.store, t.core.bus),
    bundleWatcher: null,
    objects: await ObjectStore.open({ config: t.config, core: t.core, log: createLogger({ level: "error", format: "json", write: () => {} }), metrics: new MetricsRegistry(), readiness: new Readiness() }),
    version: "test",
    startedAt: Date.now(),
  }).listen({ hostname: "127.0.0.1", port: 0 });
  try {
    // A real fault: a table goes missing under a running server.
    t.core.store.sqlite.run("DROP TABLE jobs");
    const response = await fetch(`http://127.0.0.1:${app.server!.port}/v1/jobs`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(500);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    const body = (await response.json()) as Record<string, string>;
    expect(body).toMatchObject({ type: "/problems/internal-error", status: 500, instance: "/v1/jobs" });
    expect(body.detail).not.toContain("no such table");
    const logged = lines.map((l) => JSON.parse(l)).find((l) => l.message === "request failed");
    expect(logged).toMatchObject({ requestId: body.requestId, path: "/v1/jobs" });
    expect(JSON.stringify(logged.error)).toContain("no such table: jobs");
  } finally {
    await app.stop(true);
  }
});
