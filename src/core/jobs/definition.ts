// What a job type is: its payload schema, its concurrency limit and the handler that does the work.
import type { Static, TSchema } from "@sinclair/typebox";
import type { Logger } from "../../lib/logger.ts";

export interface JobContext {
  jobId: number;
  /** 1 on the first run, 2 on the first retry, ... */
  attempt: number;
  /** Aborted when the job is cancelled or goosed shuts down; long loops must check it. */
  signal: AbortSignal;
  /** Reports progress; writes are throttled, so call it as often as is convenient. */
  progress(fraction: number, message?: string): void;
  log: Logger;
}

export interface JobDefinition<S extends TSchema = TSchema> {
  type: string;
  description: string;
  payload: S;
  /** How many jobs of this type may run at once. */
  concurrency: number;
  /** Overrides the configured jobs.maxAttempts for this type. */
  maxAttempts?: number;
  /** Whether operators may start it through POST /v1/jobs; internal jobs are started by goosed itself. */
  operatorStartable: boolean;
  run(payload: Static<S>, ctx: JobContext): Promise<unknown>;
}

export const defineJob = <S extends TSchema>(definition: JobDefinition<S>): JobDefinition<S> => definition;

/** Thrown by a handler when retrying cannot help (bad input, corrupt data): the job fails at once. */
export class PermanentJobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PermanentJobError";
  }
}
