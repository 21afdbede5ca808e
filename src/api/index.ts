// The HTTP API: one Elysia app composed from a plugin per resource, with one error handler and request metrics.
import { openapi } from "@elysiajs/openapi";
import { Elysia } from "elysia";
import type { BootService } from "../boot/index.ts";
import type { Config } from "../config/index.ts";
import type { Core, Readiness } from "../core/index.ts";
import { AppError } from "../lib/errors.ts";
import type { Logger } from "../lib/logger.ts";
import { Counter, Histogram, type MetricsRegistry } from "../lib/metrics.ts";
import { auditRoutes } from "./audit.ts";
import { authPlugin } from "./auth.ts";
import { readFormBody, readJsonBody, readRawBody } from "./body.ts";
import { AGENT_PATH_PREFIX, agentRoutes } from "./agents.ts";
import { BOOT_SCRIPT_PATH, bootRoutes, bootScriptRoute } from "./boot.ts";
import { groupsRoutes } from "./groups.ts";
import { machinesRoutes } from "./machines.ts";
import { profilesRoutes } from "./profiles.ts";
import { runsRoutes } from "./runs.ts";
import { EventStreams, eventsRoutes } from "./events.ts";
import { jobsRoutes } from "./jobs.ts";
import { internalError, malformedBody, problemOf, problemResponse, routeNotFound } from "./problem.ts";
import { failureMessage, type ValueFailure } from "./query.ts";
import { beginRequest, requestState } from "./request-state.ts";
import { statusRoutes } from "./status.ts";
import { systemRoutes } from "./system.ts";
import { tokensRoutes } from "./tokens.ts";
import { leasesRoutes } from "./leases.ts";
import type { TftpFiles } from "../tftp/index.ts";
import { ARTIFACTS_PATH, type ObjectStore, S3_PATH } from "../objects/index.ts";
import { artifactRoute, isArtifactUpload, objectsRoutes } from "./objects.ts";
import type { BundleWatcher, TrustStore } from "../bundles/index.ts";
import { keysRoutes } from "./keys.ts";
import { BUNDLE_UPLOAD_PATH, bundlesRoutes } from "./bundles.ts";
import { isWebForm, webRoutes } from "../web/index.ts";

export { EventStreams } from "./events.ts";
export { PROBLEM_CONTENT_TYPE } from "./problem.ts";

export interface ApiDeps {
  core: Core;
  boot: BootService;
  config: Readonly<Config>;
  log: Logger;
  metrics: MetricsRegistry;
  readiness: Readiness;
  streams: EventStreams;
  objects: ObjectStore;
  trust: TrustStore;
  /** Null unless bundles.watchDir is set. */
  bundleWatcher: BundleWatcher | null;
  /** iPXE loaders served over HTTP for UEFI HTTP boot. */
  loaders?: TftpFiles;
  version: string;
  startedAt: number;
  /** Said loudly at the top of every status page: state kept in memory, say. */
  warnings?: string[];
}

// Seconds; spans a cached GET (sub-millisecond) to a slow bundle listing.
const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
// Probes and scrapes arrive every few seconds, and a boot storm fetches thousands of boot scripts a second; logging
// them at info would drown the log. Runs and discoveries have their own events.
const QUIET_ROUTES = new Set(["/healthz", "/readyz", "/metrics", BOOT_SCRIPT_PATH]);

/** Elysia wraps errors from a parser or a derive; the AppError inside is the one that says what happened. */
function appErrorOf(code: string | number, error: unknown, method: string, path: string): AppError | null {
  if (error instanceof AppError) return error;
  const cause = (error as { cause?: unknown })?.cause;
  if (cause instanceof AppError) return cause;
  if (code === "NOT_FOUND") return routeNotFound(method, path);
  if (code === "PARSE") return malformedBody((error as Error).message);
  if (code === "VALIDATION") {
    const all = (error as { all?: ValueFailure[] }).all ?? [];
    return new AppError({
      code: "validation-failed",
      status: 422,
      title: "Validation failed",
      detail: `${all.length} field(s) rejected; see errors`,
      errors: all.map((e) => ({ path: e.path || "/", message: failureMessage(e) })),
    });
  }
  return null;
}

export function createApi(deps: ApiDeps) {
  const { core, config, metrics } = deps;
  const log = deps.log.child({ component: "http" });
  const requests = metrics.register(new Counter("goosed_http_requests_total", "HTTP requests answered, by route and status"));
  const durations = metrics.register(
    new Histogram("goosed_http_request_duration_seconds", "HTTP request duration, by route and status", DURATION_BUCKETS),
  );

  const okLabels = { method: "GET", route: BOOT_SCRIPT_PATH, status: "200" };
  const bootScriptServed = requests.bound(okLabels);
  const bootScriptSeconds = durations.bound(okLabels);
  const bootScript = bootScriptRoute(
    { boot: deps.boot, config },
    {
      log,
      done: (status, seconds) => {
        const labels = { method: "GET", route: BOOT_SCRIPT_PATH, status: String(status) };
        if (status === 200) {
          bootScriptServed();
          bootScriptSeconds(seconds);
        } else {
          requests.inc(labels);
          durations.observe(labels, seconds);
        }
      },
    },
  );

  // Bun routes listed in `serve` are matched before Elysia's router; only the boot script needs to be. Elysia asks
  // for Bun's development mode unless NODE_ENV is production; an appliance is never that, and it costs a storm ~15%.
  // It also shares the port (SO_REUSEPORT) by default: a second goosed on the same port must fail, not take half the
  // connections.
  // The S3 API and artifact downloads stream large bodies and sign or cache by the raw request: they bypass Elysia.
  const s3 = deps.objects.s3Handler;
  const artifacts = artifactRoute(deps.objects, config.dataDir);
  const routes = {
    [BOOT_SCRIPT_PATH]: { GET: bootScript },
    [S3_PATH]: s3,
    [`${S3_PATH}/*`]: s3,
    [`${ARTIFACTS_PATH}/*`]: artifacts,
  };
  return new Elysia({ normalize: false, serve: { development: false, reusePort: false, routes } })
    .onRequest(({ request, server }) => {
      beginRequest(request, server?.requestIP(request)?.address);
    })
    // Agent bodies may be binary protobuf: their routes decode the raw bytes by Content-Type themselves.
    .onParse(({ request, path }) => {
      if (isArtifactUpload(request.method, path) || path === BUNDLE_UPLOAD_PATH) return request.body ?? new ReadableStream({ start: (c) => c.close() });
      // The status page's login is a plain HTML form, so it works without JavaScript.
      if (isWebForm(request.method, path)) return readFormBody(request, config.http.bodyLimitBytes);
      return path.startsWith(AGENT_PATH_PREFIX)
        ? readRawBody(request, config.http.bodyLimitBytes)
        : readJsonBody(request, config.http.bodyLimitBytes).then((body) => body ?? null);
    })
    .onError(({ code, error, request, set }) => {
      const { requestId } = requestState(request);
      const path = new URL(request.url).pathname;
      let appError = appErrorOf(code, error, request.method, path);
      if (!appError) {
        log.error("request failed", { requestId, method: request.method, path, error });
        appError = internalError();
      }
      set.status = appError.status;
      return problemResponse(problemOf(appError, path, requestId));
    })
    .onAfterHandle(({ request, set }) => {
      set.headers["x-request-id"] = requestState(request).requestId;
    })
    .onAfterResponse(({ request, route, path, set, response }) => {
      const state = requestState(request);
      const status = response instanceof Response ? response.status : typeof set.status === "number" ? set.status : 200;
      const labels = { method: request.method, route: route || "unmatched", status: String(status) };
      const seconds = (performance.now() - state.startedMs) / 1000;
      requests.inc(labels);
      durations.observe(labels, seconds);
      const fields = { requestId: state.requestId, method: request.method, path, status, ms: Math.round(seconds * 1000), source: state.source };
      if (QUIET_ROUTES.has(path)) log.debug("request", fields);
      else log.info("request", fields);
    })
    .use(
      openapi({
        path: "/docs",
        specPath: "/openapi.json",
        provider: "swagger-ui",
        documentation: {
          info: { title: "goosed API", version: deps.version, description: "Provisioning appliance API. Authenticate with 'Authorization: Bearer <token>'." },
          components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
          security: [{ bearer: [] }],
        },
        swagger: { cdn: "/docs/assets/swagger-ui-bundle.js", theme: "/docs/assets/swagger-ui.css", autoDarkMode: true },
      }),
    )
    .use(systemRoutes(deps))
    .use(bootRoutes({ boot: deps.boot, config, loaders: deps.loaders }))
    .use(agentRoutes(core))
    // The status page authenticates with its own session cookie, so it sits outside the bearer-token group.
    .use(webRoutes({ core, readiness: deps.readiness, trust: deps.trust, dataDir: config.dataDir, log, streams: deps.streams, objects: deps.objects, watcher: deps.bundleWatcher, config, warnings: deps.warnings ?? [] }))
    .group("", (app) =>
      app
        .use(authPlugin(core))
        .use(machinesRoutes(core))
        .use(groupsRoutes(core))
        .use(profilesRoutes(core, deps.boot))
        .use(runsRoutes(core))
        .use(leasesRoutes(core, config))
        .use(objectsRoutes(deps.objects, config.objects.maxObjectBytes))
        .use(keysRoutes(deps.trust))
        .use(bundlesRoutes(core, config.dataDir, deps.bundleWatcher))
        .use(statusRoutes(deps))
        .use(jobsRoutes(core))
        .use(tokensRoutes(core))
        .use(auditRoutes(core))
        .use(eventsRoutes(deps.streams)),
    );
}
