// Wiring only: config → store → core → servers → API. The binary's entry point hands the CLI its serve function.
import pkg from "../package.json" with { type: "json" };
import { createApi, EventStreams } from "./api/index.ts";
import { BundleWatcher, IMPORT_BUNDLE_JOB, importBundleJob, sweepIncoming, TrustStore } from "./bundles/index.ts";
import { BootService } from "./boot/index.ts";
import { runCli } from "./cli/index.ts";
import type { LoadedConfig } from "./config/index.ts";
import { createCore, Readiness, SYSTEM_ACTOR } from "./core/index.ts";
import { openStore } from "./db/index.ts";
import { settlesWithin } from "./lib/deadline.ts";
import { AppError } from "./lib/errors.ts";
import type { Logger } from "./lib/logger.ts";
import { IN_MEMORY_WARNING, isInMemory } from "./lib/memory-fs.ts";
import { Gauge, MetricsRegistry } from "./lib/metrics.ts";
import { createNetworkBoot } from "./network-boot.ts";
import { MAX_REQUEST_BODY_BYTES, ObjectStore } from "./objects/index.ts";

export const VERSION: string = pkg.version;

export interface Appliance {
  url: string;
  port: number;
  adminTokenPath: string | null;
  /** Stops accepting, lets in-flight requests and jobs finish within the grace period, checkpoints the WAL. */
  stop(): Promise<void>;
}

export async function startAppliance({ config, configPath }: LoadedConfig, log: Logger): Promise<Appliance> {
  const startedAt = Date.now();
  const store = openStore(config.dataDir);
  log.info("store open", { component: "db", dataDir: store.dataDir, schema: store.migrations.current, applied: store.migrations.applied, configPath });
  const core = createCore(store, config, log);
  const adminTokenPath = core.tokens.ensureAdminToken(config.dataDir);
  await core.tokenWriter.opened();

  const metrics = new MetricsRegistry();
  const streams = new EventStreams(core);
  metrics.register(
    new Gauge("goosed_jobs", "Jobs in the queue, by state", () =>
      Object.entries(core.jobs.counts()).map(([state, value]) => ({ labels: { state }, value })),
    ),
  );
  metrics.register(
    new Gauge("goosed_boot_token_commits_total", "Group commits of boot tokens on the token writer's thread", () => [{ value: core.tokenWriter.stats.commits }], "counter"),
  );
  metrics.register(
    new Gauge("goosed_boot_tokens_written_total", "Boot tokens committed before their boot script was sent", () => [{ value: core.tokenWriter.stats.tokens }], "counter"),
  );
  metrics.register(
    new Gauge("goosed_write_batch_commits_total", "Group commits of machines enrolled on their first boot", () => [{ value: core.batch.stats.flushes }], "counter"),
  );
  metrics.register(new Gauge("goosed_event_streams", "Open Server-Sent Event streams", () => [{ value: streams.count }]));
  metrics.register(new Gauge("process_resident_memory_bytes", "Resident memory size in bytes", () => [{ value: process.memoryUsage().rss }]));
  metrics.register(new Gauge("goosed_heap_used_bytes", "JavaScript heap in use, in bytes", () => [{ value: process.memoryUsage().heapUsed }]));

  let stopping = false;
  let listening = false;
  const readiness = new Readiness();
  readiness.register("database", () => {
    store.sqlite.query("SELECT 1").get();
    return { ok: true, detail: `${store.dataDir}/goosed.db (WAL)` };
  });
  const inMemory = isInMemory(store.dataDir);
  if (inMemory) log.warn(IN_MEMORY_WARNING, { component: "main", dataDir: store.dataDir });
  // Up either way (goosed serves), but the detail says it loudly wherever services are listed.
  readiness.register("storage", () => ({ ok: true, detail: inMemory ? `IN MEMORY (${store.dataDir} is tmpfs): lost at power-off` : `${store.dataDir} on disk` }));
  readiness.register("migrations", () => ({ ok: true, detail: `schema at ${store.migrations.current}` }));
  readiness.register("http", () => ({
    ok: listening && !stopping,
    detail: stopping ? "shutting down" : `listening on ${config.http.host}:${port}`,
    listen: { address: config.http.host, port: String(port) },
  }));
  readiness.register("boot tokens", () => core.tokenWriter.health());
  readiness.register("jobs", () => ({ ok: !stopping, detail: stopping ? "draining" : `${core.jobs.runningCount} running` }));

  const boot = new BootService(core, { discoveryPolicy: config.boot.discoveryPolicy, globalVars: config.vars });
  // Nothing has started yet but the token writer's thread and the store: release both on failure, or the process lingers.
  const release = async () => {
    await core.stop(0);
    store.close();
  };
  const objects = await ObjectStore.open({ config, core, log, metrics, readiness }).catch(async (err) => {
    await release();
    throw err;
  });
  readiness.register("s3", () => ({
    ok: listening && !stopping,
    detail: `S3 API, path-style at /s3 on the HTTP port${objects.s3Port === null ? "" : ` and at / on port ${objects.s3Port}`}`,
    listen: { address: config.http.host, port: objects.s3Port === null ? `${port} (/s3)` : `${port} (/s3), ${objects.s3Port}` },
  }));
  const network = await createNetworkBoot({ config, core, log, metrics, readiness, artifacts: objects.tftpFiles }).catch(async (err) => {
    await release();
    throw err;
  });
  const trust = new TrustStore(store, core.bus);
  try {
    for (const key of trust.trustFiles(config.bundles.trustKeys, SYSTEM_ACTOR)) log.info("trusted a bundle signer from bundles.trustKeys", { component: "bundles", keyId: key.keyId, name: key.name });
  } catch (err) {
    await Promise.all([network.stop(), objects.stop()]);
    await release();
    throw err;
  }
  core.jobs.register(importBundleJob({ core, trust, catalog: objects.catalog, backend: objects.backend }));
  const swept = sweepIncoming(config.dataDir);
  if (swept > 0) log.info("removed bundle uploads cut off by a crash", { component: "bundles", count: swept });
  const bundleWatcher = config.bundles.watchDir
    ? new BundleWatcher(config.bundles.watchDir, trust, log, (found) => {
        core.bus.publish("bundle.found", found.path, { ...found });
        if (config.bundles.autoImport && found.problem === null && found.signer === "trusted") {
          core.jobs.enqueue(IMPORT_BUNDLE_JOB, { path: found.path }, SYSTEM_ACTOR, { operator: true });
        }
      })
    : null;
  const app = createApi({ core, boot, config, log, metrics, readiness, streams, objects, trust, bundleWatcher, loaders: network.loaders, version: VERSION, startedAt, warnings: inMemory ? [IN_MEMORY_WARNING] : [] });
  try {
    app.listen({ hostname: config.http.host, port: config.http.port, maxRequestBodySize: MAX_REQUEST_BODY_BYTES });
  } catch (err) {
    await release();
    throw new AppError({
      code: "listen-failed",
      status: 500,
      title: "Cannot listen",
      detail: `cannot listen on ${config.http.host}:${config.http.port} (${(err as Error).message}); stop what holds the port or pick another with --http-port`,
      cause: err,
    });
  }
  const port = app.server!.port!;
  listening = true;
  try {
    objects.start();
    await network.start(port);
  } catch (err) {
    await Promise.all([network.stop(), objects.stop(), app.server!.stop(true)]);
    await release();
    throw err;
  }
  core.start();
  bundleWatcher?.start();
  const url = `http://${config.http.host === "0.0.0.0" ? "127.0.0.1" : config.http.host}:${port}`;
  log.info("goosed ready", { component: "main", version: VERSION, url, port, dataDir: store.dataDir, statusPage: `${url}/`, docs: `${url}/docs` });
  if (adminTokenPath) log.info("admin token created; it is shown nowhere else", { component: "auth", path: adminTokenPath });

  return {
    url,
    port,
    adminTokenPath,
    async stop() {
      if (stopping) return;
      stopping = true;
      const graceMs = config.shutdownGraceMs;
      log.info("shutting down", { component: "main", graceMs });
      streams.closeAll();
      bundleWatcher?.stop();
      await Promise.all([network.stop(), objects.stop()]);
      const server = app.server!;
      await Promise.all([settlesWithin(server.stop(false), graceMs).then(() => server.stop(true)), core.stop(graceMs)]);
      store.close();
      log.info("stopped", { component: "main" });
    },
  };
}

if (import.meta.main) {
  process.exitCode = await runCli(process.argv.slice(2), { serve: startAppliance, version: VERSION });
}
