// /v1/bundles: imported bundles, and imports as jobs, from a path on the appliance (a mounted USB stick) or from an
// upload the CLI streams here, which is stored under <data>/bundles/incoming and removed once the job is done.
import { randomUUID } from "node:crypto";
import { mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Elysia, t } from "elysia";
import { type BundleWatcher, IMPORT_BUNDLE_JOB, listImportedBundles } from "../bundles/index.ts";
import type { Core } from "../core/index.ts";
import { AppError } from "../lib/errors.ts";
import { actorOf } from "./auth.ts";
import { iso, jobView } from "./views.ts";

export const BUNDLE_UPLOAD_PATH = "/v1/bundles/upload";

export const bundlesRoutes = (core: Core, dataDir: string, watcher: BundleWatcher | null) => {
  const incoming = join(dataDir, "bundles", "incoming");
  return new Elysia({ prefix: "/v1/bundles", tags: ["bundles"] })
    .get(
      "",
      () => ({ items: listImportedBundles(core.store.db).map((b) => ({ ...b, importedAt: iso(b.importedAt) })) }),
      { detail: { summary: "Imported bundles, newest first" } },
    )
    .get("/found", () => ({ watching: watcher !== null, items: watcher?.list() ?? [] }), {
      detail: { summary: "Bundles found on inserted USB sticks (bundles.watchDir), with their signer; import one with POST /v1/bundles/import" },
    })
    .post(
      "/import",
      (ctx) => {
        ctx.set.status = 202;
        return jobView(core.jobs.enqueue(IMPORT_BUNDLE_JOB, { path: ctx.body.path, allowDowngrade: ctx.body.allowDowngrade }, actorOf(ctx), { operator: true }));
      },
      {
        body: t.Object({ path: t.String({ minLength: 1 }), allowDowngrade: t.Optional(t.Boolean()) }, { additionalProperties: false }),
        detail: { summary: "Import a bundle file on the appliance (e.g. a mounted USB stick), as a job" },
      },
    )
    .put(
      "/upload",
      async (ctx) => {
        ctx.server?.timeout(ctx.request, 0);
        mkdirSync(incoming, { recursive: true });
        const id = randomUUID();
        const partial = join(incoming, `${id}.partial`);
        const path = join(incoming, `${id}.tar.zst`);
        try {
          const sink = Bun.file(partial).writer({ highWaterMark: 8 * 1024 * 1024 });
          for await (const chunk of ctx.body as ReadableStream<Uint8Array>) sink.write(chunk);
          await sink.end();
          renameSync(partial, path);
        } catch (error) {
          rmSync(partial, { force: true });
          throw new AppError({ code: "upload-incomplete", status: 400, title: "Upload incomplete", detail: `the bundle upload broke off (${(error as Error).message}); send it again`, cause: error });
        }
        const allowDowngrade = (ctx.query as Record<string, string | undefined>).allowDowngrade === "true";
        ctx.set.status = 202;
        return jobView(core.jobs.enqueue(IMPORT_BUNDLE_JOB, { path, allowDowngrade, removeAfter: true }, actorOf(ctx), { operator: true }));
      },
      { detail: { summary: "Upload a bundle (the request body) and import it as a job; ?allowDowngrade=true to go back a version" } },
    );
};
