// The blobs.collect job: deletes blobs no object, part or artifact refers to any more, once they are old enough that
// no put still on its way to committing its metadata can be counting on them.
import { Type } from "@sinclair/typebox";
import { defineJob } from "../core/index.ts";
import type { BlobBackend } from "./backend.ts";

export const collectBlobsPayload = Type.Object(
  {
    graceMinutes: Type.Optional(
      Type.Integer({
        minimum: 0,
        default: 60,
        description: "keep unreferenced blobs written (or re-put) less than this many minutes ago: their metadata may not have committed yet",
      }),
    ),
  },
  { additionalProperties: false },
);

const DEFAULT_GRACE_MINUTES = 60;

/** Blob listings that say when each blob was last written, as LocalBlobBackend's does; others get no grace check. */
interface ListedBlob {
  digest: string;
  sizeBytes: number;
  mtimeMs?: number;
}

export function collectBlobsJob(backend: BlobBackend, live: () => Set<string>) {
  return defineJob({
    type: "blobs.collect",
    description: "delete blobs that nothing refers to any more and that are older than the grace period",
    payload: collectBlobsPayload,
    concurrency: 1,
    maxAttempts: 3,
    operatorStartable: true,
    async run(payload, ctx) {
      const graceMs = (payload.graceMinutes ?? DEFAULT_GRACE_MINUTES) * 60_000;
      // Listed before the live set is read: a blob put after live() was taken is newer than any cutoff in the past.
      const startedMs = Date.now();
      const blobs: ListedBlob[] = [];
      for await (const blob of backend.list() as AsyncIterable<ListedBlob>) blobs.push(blob);
      const referenced = live();
      let deleted = 0;
      let freedBytes = 0;
      let kept = 0;
      ctx.progress(0, `checking ${blobs.length} blobs`);
      for (const [index, blob] of blobs.entries()) {
        ctx.signal.throwIfAborted();
        const cutoffMs = startedMs - graceMs;
        const oldEnough = blob.mtimeMs === undefined || blob.mtimeMs <= cutoffMs;
        // The cutoff goes along: a put that re-used this content since it was listed refreshed its time, and keeps it.
        if (!referenced.has(blob.digest) && oldEnough && (await backend.delete(blob.digest, cutoffMs))) {
          deleted++;
          freedBytes += blob.sizeBytes;
        } else {
          kept++;
        }
        ctx.progress((index + 1) / blobs.length, `blob ${index + 1} of ${blobs.length}`);
      }
      ctx.log.info("blobs collected", { deleted, freedBytes, kept });
      return { blobs: blobs.length, deleted, kept, freedBytes };
    },
  });
}
