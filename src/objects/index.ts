// Objects: the content-addressed blob store and the jobs that look after it.
export { BlobStore, type BlobInfo } from "./blob-store.ts";
export { verifyBlobsJob } from "./verify-job.ts";
