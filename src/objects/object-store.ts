// The object store as the appliance runs it: the backend the config names, the catalog, the S3 API (at /s3 on the
// HTTP port and on its own port when configured), artifacts over HTTP and TFTP, and the jobs that look after blobs.
import type { Server } from "bun";
import type { Config } from "../config/index.ts";
import { type Core, type Readiness, SYSTEM_ACTOR } from "../core/index.ts";
import { AppError } from "../lib/errors.ts";
import type { Logger } from "../lib/logger.ts";
import type { MetricsRegistry } from "../lib/metrics.ts";
import type { TftpFiles } from "../tftp/index.ts";
import { answerArtifact, type ArtifactAnswer, artifactTftpFiles } from "./artifact-files.ts";
import type { BlobBackend } from "./backend.ts";
import { ObjectCatalog } from "./catalog.ts";
import { collectBlobsJob } from "./collect-job.ts";
import { LocalBlobBackend } from "./local-backend.ts";
import { S3Api, type S3Handler } from "./s3-api.ts";
import { S3BlobBackend } from "./s3-backend.ts";
import { verifyBlobsJob } from "./verify-job.ts";

export const S3_PATH = "/s3";
/**
 * Bun refuses bodies over 128 MiB by default, with a bare 413 before any handler sees them. goosed's routes enforce
 * their own limits (objects.maxObjectBytes with S3's EntityTooLarge, which must allow for aws-chunked framing around
 * the data; http.bodyLimitBytes for JSON), so Bun's is only a backstop above every one of them.
 */
export const MAX_REQUEST_BODY_BYTES = Number.MAX_SAFE_INTEGER;
// Unreferenced blobs (deleted objects, replaced artifacts, assembled parts) are collected this often.
const COLLECT_INTERVAL_MS = 6 * 3_600_000;

export interface ObjectStoreDeps {
  config: Readonly<Config>;
  core: Core;
  log: Logger;
  metrics: MetricsRegistry;
  readiness: Readiness;
}

export class ObjectStore {
  readonly catalog: ObjectCatalog;
  readonly s3: S3Api;
  /** The S3 API under /s3, for the HTTP port. */
  readonly s3Handler: S3Handler;
  readonly tftpFiles: TftpFiles;
  private s3Server: Server<unknown> | null = null;
  private collectTimer: Timer | null = null;

  /** The S3 API's own port (objects.s3Port), once listening; null when it answers only under /s3 on the HTTP port. */
  get s3Port(): number | null {
    return this.s3Server?.port ?? null;
  }

  private constructor(
    readonly backend: BlobBackend,
    private readonly deps: ObjectStoreDeps,
  ) {
    const { core, config, log, metrics } = deps;
    this.catalog = new ObjectCatalog(core.store, core.bus);
    this.s3 = new S3Api({ catalog: this.catalog, backend, region: config.objects.region, maxObjectBytes: config.objects.maxObjectBytes, log: log.child({ component: "s3" }), metrics });
    this.s3Handler = this.s3.handler(S3_PATH);
    this.tftpFiles = artifactTftpFiles(this.catalog, backend);
    core.jobs.register(verifyBlobsJob(backend));
    core.jobs.register(collectBlobsJob(backend, () => this.catalog.liveDigests()));
    deps.readiness.register("objects", () => ({
      ok: true,
      detail: `${backend.kind === "local" ? `local blobs in ${config.dataDir}/blobs` : `S3 bucket ${config.objects.s3.bucket} at ${config.objects.s3.endpoint}`}${this.s3Server ? `; S3 API also on port ${this.s3Server.port}` : ""}`,
    }));
  }

  static async open(deps: ObjectStoreDeps): Promise<ObjectStore> {
    const { config, core, log } = deps;
    let backend: BlobBackend;
    if (config.objects.backend === "s3") {
      backend = await S3BlobBackend.connect(config.objects.s3);
    } else {
      const local = new LocalBlobBackend(core.store.blobsDir);
      // No write can be in flight before the store opens: whatever is in tmp/ was cut off by a crash.
      const swept = await local.sweepTemporaries();
      if (swept > 0) log.info("removed temporary files of writes cut off by a crash", { component: "objects", count: swept });
      backend = local;
    }
    return new ObjectStore(backend, deps);
  }

  /** GET/HEAD /artifacts/<name>; the caller renders a refusal as problem JSON. */
  artifact(request: Request): Promise<ArtifactAnswer> {
    return answerArtifact(request, this.catalog, this.backend, (bytes) => this.s3.countSent("GetArtifact", bytes));
  }

  start(): void {
    const { config, core, log } = this.deps;
    if (config.objects.s3Port !== 0) {
      const handler = this.s3.handler("");
      try {
        this.s3Server = Bun.serve({
          hostname: config.http.host,
          port: config.objects.s3Port,
          development: false,
          reusePort: false,
          maxRequestBodySize: MAX_REQUEST_BODY_BYTES,
          fetch: handler,
        });
      } catch (err) {
        throw new AppError({
          code: "listen-failed",
          status: 500,
          title: "Cannot listen",
          detail: `cannot listen for S3 on ${config.http.host}:${config.objects.s3Port} (${(err as Error).message}); stop what holds the port or pick another with --objects-s3-port`,
          cause: err,
        });
      }
      log.info("s3 listening", { component: "s3", host: config.http.host, port: this.s3Server.port });
    }
    this.collectTimer = setInterval(() => core.jobs.enqueue("blobs.collect", {}, SYSTEM_ACTOR), COLLECT_INTERVAL_MS);
    this.collectTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.collectTimer) clearInterval(this.collectTimer);
    await this.s3Server?.stop(true);
    this.s3Server = null;
  }
}
