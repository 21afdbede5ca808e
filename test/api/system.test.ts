import { ObjectStore } from "../../src/objects/index.ts";
import { TrustStore } from "../../src/bundles/index.ts";
import { MIGRATIONS } from "../../src/db/migrations/index.ts";
import { BootService } from "../../src/boot/index.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createApi, EventStreams } from "../../src/api/index.ts";
import { Readiness } from "../../src/core/index.ts";
import { createLogger } from "../../src/lib/logger.ts";
import { MetricsRegistry } from "../../src/lib/metrics.ts";
import { openTestCore } from "../support/core.ts";
import { api, type RunningGoosed, startGoosed, tempDir } from "../support/goosed.ts";
import { requireTool } from "../support/tools.ts";

const dir = tempDir();
let goosed: RunningGoosed;

beforeAll(async () => {
  goosed = await startGoosed({ dataDir: dir.path });
});
afterAll(async () => {
  await goosed.stop();
  await dir[Symbol.asyncDispose]();
});

describe("health", () => {
  test("/healthz answers without a token", async () => {
    const response = await fetch(`${goosed.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });

  test("/readyz has one entry per service", async () => {
    const response = await fetch(`${goosed.url}/readyz`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { status: string; services: Record<string, { ok: boolean; detail: string; listen?: unknown }> };
    expect(body.status).toBe("ready");
    expect(Object.keys(body.services)).toEqual(["database", "storage", "migrations", "http", "boot tokens", "jobs", "objects", "s3", "dhcp", "tftp"]);
    // The default: no DHCP on a network goosed was not told to serve, and so no TFTP either.
    expect(body.services.dhcp).toEqual({ ok: true, detail: "off (dhcp.mode)" });
    expect(body.services.tftp).toEqual({ ok: true, detail: "off (tftp.mode)" });
    expect(body.services.migrations).toEqual({ ok: true, detail: `schema at ${MIGRATIONS.at(-1)!.tag}` });
    expect(body.services.http).toEqual({ ok: true, detail: `listening on 127.0.0.1:${goosed.port}`, listen: { address: "127.0.0.1", port: String(goosed.port) } });
    expect(body.services.s3).toEqual({
      ok: true,
      detail: "S3 API, path-style at /s3 on the HTTP port",
      listen: { address: "127.0.0.1", port: `${goosed.port} (/s3)` },
    });
  });

  test("/readyz is 503 naming the service that is down", async () => {
    await using t = openTestCore();
    const readiness = new Readiness();
    readiness.register("database", () => ({ ok: true, detail: "fine" }));
    readiness.register("dhcp", () => {
      throw new Error("eth9: no such interface");
    });
    const app = createApi({
      core: t.core,
      boot: new BootService(t.core, { discoveryPolicy: "local", globalVars: {} }),
      config: t.config,
      log: createLogger({ level: "error", format: "json", write: () => {} }),
      metrics: new MetricsRegistry(),
      readiness,
      streams: new EventStreams(t.core),
      trust: new TrustStore(t.core.store, t.core.bus),
    bundleWatcher: null,
    objects: await ObjectStore.open({ config: t.config, core: t.core, log: createLogger({ level: "error", format: "json", write: () => {} }), metrics: new MetricsRegistry(), readiness: new Readiness() }),
      version: "test",
      startedAt: Date.now(),
    }).listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const response = await fetch(`http://127.0.0.1:${app.server!.port}/readyz`);
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({
        status: "not-ready",
        services: { database: { ok: true, detail: "fine" }, dhcp: { ok: false, detail: "eth9: no such interface" } },
      });
    } finally {
      await app.stop(true);
    }
  });
});

describe("/metrics", () => {
  test("counts requests and durations by route and status, job depth by state, and memory", async () => {
    await api(goosed, "/v1/jobs");
    await api(goosed, "/v1/jobs", { token: null });
    await api(goosed, "/v1/jobs/999");
    const text = await (await fetch(`${goosed.url}/metrics`)).text();
    expect(text).toContain('goosed_http_requests_total{method="GET",route="/v1/jobs",status="200"} 1');
    expect(text).toContain('goosed_http_requests_total{method="GET",route="/v1/jobs",status="401"} 1');
    expect(text).toContain('goosed_http_requests_total{method="GET",route="/v1/jobs/:id",status="404"} 1');
    expect(text).toMatch(/goosed_http_request_duration_seconds_bucket\{method="GET",route="\/v1\/jobs",status="200",le="\+Inf"\} 1/);
    expect(text).toMatch(/goosed_http_request_duration_seconds_count\{method="GET",route="\/v1\/jobs",status="200"\} 1/);
    for (const state of ["queued", "running", "succeeded", "failed", "cancelled"]) expect(text).toContain(`goosed_jobs{state="${state}"}`);
    expect(text).toMatch(/process_resident_memory_bytes \d+/);
  });

  test("an unknown path is counted under one bounded label, not its own", async () => {
    await fetch(`${goosed.url}/no/such/path/${Math.random()}`);
    const text = await (await fetch(`${goosed.url}/metrics`)).text();
    expect(text).toMatch(/goosed_http_requests_total\{method="GET",route="unmatched",status="404"\} \d+/);
    expect(text).not.toContain("/no/such/path");
  });

  test("promtool check metrics finds nothing to complain about", async () => {
    const promtool = requireTool("promtool");
    const text = await (await fetch(`${goosed.url}/metrics`)).text();
    const proc = Bun.spawn([promtool, "check", "metrics"], { stdin: new TextEncoder().encode(text), stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    expect(`${out}${err}`.trim()).toBe("");
    expect(code).toBe(0);
  });
});

describe("API documentation", () => {
  test("/openapi.json describes the /v1 routes and the bearer scheme", async () => {
    const doc = (await (await fetch(`${goosed.url}/openapi.json`)).json()) as { paths: Record<string, unknown>; components: Record<string, any> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/v1/jobs", "/v1/jobs/{id}", "/v1/tokens", "/v1/audit", "/v1/events", "/healthz"]));
    expect(doc.components.securitySchemes.bearer).toEqual({ type: "http", scheme: "bearer" });
  });

  test("/docs loads its scripts and styles from the appliance, never a CDN", async () => {
    const html = await (await fetch(`${goosed.url}/docs`)).text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets).toEqual(["/docs/assets/swagger-ui.css", "/docs/assets/swagger-ui-bundle.js"]);
    for (const asset of assets) {
      const response = await fetch(`${goosed.url}${asset}`);
      expect(response.status).toBe(200);
      expect((await response.arrayBuffer()).byteLength).toBeGreaterThan(10_000);
    }
  });
});
