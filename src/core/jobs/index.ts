// The durable job queue and the shape of a job type.
export { JobQueue, type JobRow, type JobFilter, type JobQueueOptions } from "./queue.ts";
export { defineJob, PermanentJobError, type JobContext, type JobDefinition } from "./definition.ts";
export { backoffDelayMs } from "./backoff.ts";
