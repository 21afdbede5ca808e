// The blobs.verify job: re-hashes every blob to find bit rot or tampering, optionally rate-limited to spare the disk.
import { Type } from "@sinclair/typebox";
import { defineJob, PermanentJobError } from "../core/index.ts";
import { abortableSleep } from "../lib/deadline.ts";
import type { BlobBackend } from "./backend.ts";

export const verifyBlobsPayload = Type.Object(
  {
    maxBytesPerSecond: Type.Optional(
      Type.Integer({ minimum: 1, description: "read at most this many bytes per second, so verification does not starve installs" }),
    ),
  },
  { additionalProperties: false },
);

export function verifyBlobsJob(backend: BlobBackend) {
  return defineJob({
    type: "blobs.verify",
    description: "re-hash every stored blob and report any whose content no longer matches its name",
    payload: verifyBlobsPayload,
    concurrency: 1,
    // Corruption is a finding, not a transient fault; the only retries worth having are for I/O errors.
    maxAttempts: 3,
    operatorStartable: true,
    async run(payload, ctx) {
      const blobs: Array<{ digest: string; sizeBytes: number }> = [];
      for await (const blob of backend.list()) blobs.push({ digest: blob.digest, sizeBytes: blob.sizeBytes });
      const totalBytes = blobs.reduce((sum, b) => sum + b.sizeBytes, 0);
      const corrupt: string[] = [];
      const startedMs = performance.now();
      let doneBytes = 0;
      ctx.progress(0, `verifying ${blobs.length} blobs`);
      for (const [index, blob] of blobs.entries()) {
        const content = await backend.read(blob.digest);
        // Deleted since it was listed (collected meanwhile): nothing left to verify.
        if (content === null) continue;
        const hasher = new Bun.CryptoHasher("sha256");
        for await (const chunk of content instanceof ReadableStream ? content : content.stream()) {
          ctx.signal.throwIfAborted();
          hasher.update(chunk);
          doneBytes += chunk.byteLength;
          if (payload.maxBytesPerSecond) {
            const aheadMs = (doneBytes / payload.maxBytesPerSecond) * 1000 - (performance.now() - startedMs);
            if (aheadMs > 0) await abortableSleep(aheadMs, ctx.signal);
          }
          ctx.progress(totalBytes === 0 ? 1 : doneBytes / totalBytes, `blob ${index + 1} of ${blobs.length}`);
        }
        if (hasher.digest("hex") !== blob.digest) corrupt.push(blob.digest);
      }
      if (corrupt.length > 0) {
        throw new PermanentJobError(`${corrupt.length} of ${blobs.length} blobs are corrupt: ${corrupt.join(", ")}`);
      }
      return { blobs: blobs.length, bytes: totalBytes };
    },
  });
}
