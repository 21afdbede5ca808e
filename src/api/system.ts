// Unauthenticated appliance endpoints: liveness, readiness, metrics, problem pages and the API docs assets.
import { Elysia, t } from "elysia";
import bundleJs from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "file" };
import swaggerCss from "swagger-ui-dist/swagger-ui.css" with { type: "file" };
import type { Core, Readiness } from "../core/index.ts";
import type { MetricsRegistry } from "../lib/metrics.ts";

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export const systemRoutes = (deps: { core: Core; readiness: Readiness; metrics: MetricsRegistry }) =>
  new Elysia({ tags: ["system"] })
    .get("/healthz", () => ({ status: "ok" }), { detail: { summary: "Liveness: the process answers" } })
    .get(
      "/readyz",
      ({ set }) => {
        const report = deps.readiness.report();
        set.status = report.ready ? 200 : 503;
        return { status: report.ready ? "ready" : "not-ready", services: report.services };
      },
      { detail: { summary: "Readiness: database, migrations and every enabled listener" } },
    )
    .get(
      "/metrics",
      ({ set }) => {
        set.headers["content-type"] = "text/plain; version=0.0.4; charset=utf-8";
        return deps.metrics.render();
      },
      { detail: { summary: "Prometheus metrics" } },
    )
    .get(
      "/problems/:code",
      ({ params, set }) => {
        set.headers["content-type"] = "text/html; charset=utf-8";
        const code = escapeHtml(params.code);
        return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>goosed problem: ${code}</title></head>
<body><h1>${code}</h1><p>goosed answered a request with the problem type <code>${code}</code>.
The <code>detail</code> field of that response says what went wrong and what to do next;
the appliance log has the same request id.</p><p><a href="/docs">API documentation</a></p></body></html>`;
      },
      { params: t.Object({ code: t.String({ pattern: "^[a-z0-9-]{1,64}$" }) }), detail: { hide: true } },
    )
    .get("/docs/assets/swagger-ui-bundle.js", () => new Response(Bun.file(bundleJs)), { detail: { hide: true } })
    .get("/docs/assets/swagger-ui.css", () => new Response(Bun.file(swaggerCss)), { detail: { hide: true } });
