// The durable job queue: one row per job, claimed atomically by a worker.
import { index, integer, real, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const JOB_STATES = ["queued", "running", "succeeded", "failed", "cancelled"] as const;
export type JobState = (typeof JOB_STATES)[number];

export const jobs = sqliteTable(
  "jobs",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    type: text("type").notNull(),
    state: text("state", { enum: JOB_STATES }).notNull(),
    payload: text("payload", { mode: "json" }).$type<unknown>().notNull(),
    result: text("result", { mode: "json" }).$type<unknown>(),
    error: text("error"),
    attempts: integer("attempts").notNull().default(0),
    maxAttempts: integer("max_attempts").notNull(),
    runAt: integer("run_at").notNull(),
    progress: real("progress").notNull().default(0),
    progressMessage: text("progress_message"),
    cancelRequested: integer("cancel_requested", { mode: "boolean" }).notNull().default(false),
    createdBy: text("created_by").notNull(),
    createdAt: integer("created_at").notNull(),
    startedAt: integer("started_at"),
    finishedAt: integer("finished_at"),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("jobs_due").on(t.state, t.runAt), index("jobs_type_state").on(t.type, t.state)],
);
