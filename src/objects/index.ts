// Objects: the content-addressed blob store and the jobs that look after it.
export { type BlobBackend, type BlobRange, BlobWriteError, type BlobWriteReason, type PutOptions, type StoredBlob } from "./backend.ts";
export { collectBlobsJob } from "./collect-job.ts";
export { LocalBlobBackend } from "./local-backend.ts";
export { verifyBlobsJob } from "./verify-job.ts";
