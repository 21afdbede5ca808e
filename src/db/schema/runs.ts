// Install runs and every transition they went through.
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { MACHINE_STATES, machines } from "./machines.ts";
import { profiles } from "./profiles.ts";

export const RUN_STATES = ["pending", "booting", "installing", "succeeded", "failed", "cancelled"] as const;
export type RunState = (typeof RUN_STATES)[number];

export const runs = sqliteTable(
  "runs",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    machineId: integer("machine_id")
      .notNull()
      .references(() => machines.id, { onDelete: "cascade" }),
    profileId: integer("profile_id")
      .notNull()
      .references(() => profiles.id),
    state: text("state", { enum: RUN_STATES }).notNull(),
    /** Only one run per machine may be active; this column is 1 while it is, NULL after (unique index). */
    active: integer("active"),
    vars: text("vars", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    /** Restored to the machine if the run is cancelled. */
    machineStateBefore: text("machine_state_before", { enum: MACHINE_STATES }).notNull(),
    deadlineAt: integer("deadline_at").notNull(),
    error: text("error"),
    createdBy: text("created_by").notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    finishedAt: integer("finished_at"),
  },
  (t) => [index("runs_machine").on(t.machineId, t.id), index("runs_state").on(t.state, t.id), uniqueIndex("runs_active").on(t.machineId, t.active)],
);

export const runTransitions = sqliteTable(
  "run_transitions",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    runId: integer("run_id")
      .notNull()
      .references(() => runs.id, { onDelete: "cascade" }),
    at: integer("at").notNull(),
    from: text("from_state", { enum: RUN_STATES }),
    to: text("to_state", { enum: RUN_STATES }).notNull(),
    source: text("source"),
    reason: text("reason").notNull(),
  },
  (t) => [index("run_transitions_run").on(t.runId, t.id)],
);
