// The audit trail: who changed what, from where, and when. Rows are only ever appended.
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const auditLog = sqliteTable(
  "audit_log",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    at: integer("at").notNull(),
    actor: text("actor").notNull(),
    action: text("action").notNull(),
    object: text("object").notNull(),
    details: text("details", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    source: text("source"),
    requestId: text("request_id"),
  },
  (t) => [index("audit_actor").on(t.actor, t.id), index("audit_action").on(t.action, t.id), index("audit_object").on(t.object, t.id)],
);
