// Credentials of machines rather than people: boot (one-time), installer (one run) and agent (rotating) tokens.
import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { machines } from "./machines.ts";
import { runs } from "./runs.ts";

export const MACHINE_TOKEN_KINDS = ["boot", "installer", "agent"] as const;
export type MachineTokenKind = (typeof MACHINE_TOKEN_KINDS)[number];

export const machineTokens = sqliteTable(
  "machine_tokens",
  {
    id: text("id").primaryKey(),
    kind: text("kind", { enum: MACHINE_TOKEN_KINDS }).notNull(),
    secretHash: text("secret_hash").notNull(),
    machineId: integer("machine_id")
      .notNull()
      .references(() => machines.id, { onDelete: "cascade" }),
    runId: integer("run_id").references(() => runs.id, { onDelete: "cascade" }),
    /** The MAC a boot token was issued to; it is refused from any other. */
    mac: text("mac"),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at"),
    usedAt: integer("used_at"),
    revokedAt: integer("revoked_at"),
  },
  // Boot tokens are most of the rows and are found only by id (and pruned by expiry, which grows with time like the
  // id); only agent tokens are looked up by machine, to revoke them. No index puts a storm's inserts on random pages.
  (t) => [index("machine_tokens_agent").on(t.machineId).where(sql`${t.kind} = 'agent'`), index("machine_tokens_expiry").on(t.expiresAt).where(sql`${t.kind} = 'boot'`)],
);

export const machineFacts = sqliteTable(
  "machine_facts",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    machineId: integer("machine_id")
      .notNull()
      .references(() => machines.id, { onDelete: "cascade" }),
    at: integer("at").notNull(),
    facts: text("facts", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
  },
  (t) => [index("machine_facts_machine").on(t.machineId, t.id)],
);
