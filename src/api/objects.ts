// The object store through the API: artifacts (/v1/artifacts, and /artifacts/<name> for machines, no credentials),
// S3 access keys (/v1/s3/keys, admin), and the S3 API itself at /s3, which signs with SigV4 rather than tokens.
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { Elysia, t } from "elysia";
import { ARTIFACT_KINDS, type ArtifactKind } from "../db/index.ts";
import { AppError } from "../lib/errors.ts";
import { type ArtifactRecord, type ObjectStore, type S3KeyRecord, artifactNotFound } from "../objects/index.ts";
import { BlobWriteError } from "../objects/backend.ts";
import { serveObject } from "../objects/serve.ts";
import { actorOf } from "./auth.ts";
import { oneOf } from "./query.ts";
import { problemOf, problemResponse } from "./problem.ts";
import { requestState } from "./request-state.ts";
import { iso } from "./views.ts";

/** PUT /v1/artifacts/<name> streams its body into the store; the API's JSON parser must leave it unread. */
export const isArtifactUpload = (method: string, path: string) => method === "PUT" && path.startsWith("/v1/artifacts/");

/** Keys under <data>/artifacts that stay inside it: no empty, "." or ".." segment. */
const DROP_IN_KEY = /^(?!.*(^|\/)\.\.?(\/|$))[\w.+-]+(\/[\w.+-]+)*$/;

const artifactView = (a: ArtifactRecord) => ({ ...a, createdAt: iso(a.createdAt), updatedAt: iso(a.updatedAt), url: `/artifacts/${a.name}` });
const keyView = (k: S3KeyRecord) => ({ ...k, createdAt: iso(k.createdAt), lastUsedAt: iso(k.lastUsedAt), revokedAt: iso(k.revokedAt) });

/**
 * GET/HEAD /artifacts/<name>: a named artifact, else a file an operator dropped under <data>/artifacts (the way
 * profiles reached kernels before the object store), else a 404 naming the fix.
 */
export function artifactRoute(objects: ObjectStore, dataDir: string) {
  const dropIns = join(dataDir, "artifacts");
  return async (request: Request): Promise<Response> => {
    const requestId = requestState(request).requestId;
    const answer = await objects.artifact(request);
    if (answer.ok) return answer.response;
    const path = new URL(request.url).pathname;
    if (answer.status === 404) {
      const dropIn = await dropInResponse(request, dropIns, decodeURIComponent(path.slice("/artifacts/".length)));
      if (dropIn) return dropIn;
    }
    const error = new AppError({ code: `artifact-${answer.status}`, status: answer.status, title: TITLES[answer.status], detail: answer.detail });
    return problemResponse(problemOf(error, path, requestId), answer.headers);
  };
}

const TITLES = { 404: "Artifact not found", 405: "Method not allowed", 412: "Precondition failed", 416: "Range not satisfiable" } as const;

async function dropInResponse(request: Request, root: string, key: string): Promise<Response | null> {
  if (!DROP_IN_KEY.test(key)) return null;
  const path = join(root, key);
  const info = await stat(path).catch(() => null);
  if (!info?.isFile()) return null;
  const answer = await serveObject(
    request,
    { sizeBytes: info.size, etag: `"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`, lastModifiedMs: info.mtimeMs, contentType: "application/octet-stream" },
    async (range) => (range ? Bun.file(path).slice(range.start, range.end + 1) : Bun.file(path)),
  );
  return answer.kind === "response" ? answer.response : null;
}

export const objectsRoutes = (objects: ObjectStore, maxObjectBytes: number) =>
  new Elysia({ tags: ["objects"] })
    .get("/v1/artifacts", () => ({ items: objects.catalog.listArtifacts().map(artifactView) }), { detail: { summary: "Named artifacts machines fetch at /artifacts/<name>" } })
    .get(
      "/v1/artifacts/*",
      ({ params }) => {
        const artifact = objects.catalog.getArtifact(params["*"]);
        if (!artifact) throw artifactNotFound(params["*"]);
        return artifactView(artifact);
      },
      { detail: { summary: "One artifact" } },
    )
    .put(
      "/v1/artifacts/*",
      async (ctx) => {
        // The fsync after the last byte of a large upload takes seconds with nothing said; Bun's idle timeout would cut it.
        ctx.server?.timeout(ctx.request, 0);
        const name = ctx.params["*"];
        const q = ctx.query as Record<string, string | undefined>;
        const kind = (q.kind ?? "other") as ArtifactKind;
        if (!ARTIFACT_KINDS.includes(kind)) {
          throw new AppError({ code: "validation-failed", status: 422, title: "Validation failed", detail: `kind must be one of ${ARTIFACT_KINDS.join(", ")}` });
        }
        const body = ctx.body as ReadableStream<Uint8Array> | null;
        const declared = ctx.request.headers.get("content-length");
        let blob;
        try {
          blob = await objects.backend.put(body ?? new ReadableStream({ start: (c) => c.close() }), {
            maxBytes: maxObjectBytes,
            expectedBytes: declared === null ? undefined : Number(declared),
            expectedSha256: q.sha256,
            // An artifact has no ETag of MD5: skipping it is most of a 1 GiB upload's speed on 2 cores.
            md5: false,
            signal: ctx.request.signal,
          });
        } catch (error) {
          if (error instanceof BlobWriteError) throw uploadRefused(error, maxObjectBytes);
          throw error;
        }
        const artifact = objects.catalog.putArtifact(
          { name, kind, digest: blob.digest, sizeBytes: blob.sizeBytes, contentType: q.contentType || "application/octet-stream", source: q.source || "upload" },
          actorOf(ctx),
        );
        ctx.set.status = 201;
        return artifactView(artifact);
      },
      {
        detail: {
          summary: "Upload an artifact: PUT /v1/artifacts/<name>?kind=kernel with the bytes as the body (optional &sha256= to check)",
        },
      },
    )
    .post(
      "/v1/artifacts",
      (ctx) => {
        const { name, kind, bucket, key } = ctx.body;
        const object = objects.catalog.getObject(bucket, key);
        if (!object) {
          throw new AppError({ code: "object-not-found", status: 404, title: "Object not found", detail: `no object s3://${bucket}/${key}; upload it first (aws s3 cp FILE s3://${bucket}/${key})` });
        }
        const artifact = objects.catalog.putArtifact(
          { name, kind, digest: object.digest, sizeBytes: object.sizeBytes, contentType: object.contentType, source: `s3://${bucket}/${key}` },
          actorOf(ctx),
        );
        ctx.set.status = 201;
        return artifactView(artifact);
      },
      {
        body: t.Object({ name: t.String({ minLength: 1 }), kind: oneOf(ARTIFACT_KINDS), bucket: t.String({ minLength: 1 }), key: t.String({ minLength: 1 }) }, { additionalProperties: false }),
        detail: { summary: "Name an object already in the S3 store as an artifact (its content is pinned: later overwrites of the object do not change it)" },
      },
    )
    .delete(
      "/v1/artifacts/*",
      (ctx) => {
        objects.catalog.removeArtifact(ctx.params["*"], actorOf(ctx));
        ctx.set.status = 204;
        return null;
      },
      { detail: { summary: "Remove an artifact's name; its content is collected once nothing else names it" } },
    )
    .get("/v1/s3/keys", () => ({ items: objects.catalog.listKeys().map(keyView) }), { detail: { summary: "S3 access keys (never their secrets)" } })
    .post(
      "/v1/s3/keys",
      (ctx) => {
        const key = objects.catalog.createKey(ctx.body.name, actorOf(ctx));
        ctx.set.status = 201;
        return { ...keyView(key), secretAccessKey: key.secretAccessKey };
      },
      {
        body: t.Object({ name: t.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false }),
        detail: { summary: "Create an S3 access key; the secret is returned once, in `secretAccessKey`" },
      },
    )
    .delete("/v1/s3/keys/:id", (ctx) => keyView(objects.catalog.revokeKey(ctx.params.id, actorOf(ctx))), { detail: { summary: "Revoke an S3 access key" } });

function uploadRefused(error: BlobWriteError, maxBytes: number): AppError {
  switch (error.reason) {
    case "too-large":
      return new AppError({ code: "artifact-too-large", status: 413, title: "Artifact too large", detail: `artifacts are limited to ${maxBytes} bytes (objects.maxObjectBytes)` });
    case "disk-full":
      return new AppError({ code: "disk-full", status: 507, title: "Disk full", detail: error.message });
    case "size-mismatch":
    case "aborted":
      return new AppError({ code: "upload-incomplete", status: 400, title: "Upload incomplete", detail: `${error.message}; send the file again` });
    case "sha256-mismatch":
    case "md5-mismatch":
      return new AppError({ code: "digest-mismatch", status: 400, title: "Content does not match its digest", detail: `${error.message}; the file changed or was damaged in transit` });
    case "io":
      return new AppError({ code: "storage-failed", status: 500, title: "Storage failed", detail: error.message, cause: error });
  }
}
