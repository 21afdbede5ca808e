// Objects: the content-addressed blob store, the S3 API and artifacts over it, and the jobs that look after it.
export { ARTIFACTS_PATH } from "./artifact-files.ts";
export { type BlobBackend, type BlobRange, BlobWriteError, type BlobWriteReason, type PutOptions, type StoredBlob } from "./backend.ts";
export { type ArtifactRecord, artifactNotFound, ObjectCatalog, type S3KeyRecord } from "./catalog.ts";
export { collectBlobsJob } from "./collect-job.ts";
export { LocalBlobBackend } from "./local-backend.ts";
export { MAX_REQUEST_BODY_BYTES, ObjectStore, type ObjectStoreDeps, S3_PATH } from "./object-store.ts";
export { verifyBlobsJob } from "./verify-job.ts";
