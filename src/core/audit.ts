// The audit trail: one row per mutation, written in the same transaction as the change it records.
import { and, asc, desc, eq, lt, type SQL } from "drizzle-orm";
import { auditLog, type Db, type Tx } from "../db/index.ts";
import type { Actor } from "./actor.ts";
import { pageOf } from "./page.ts";

export interface AuditEntry {
  id: number;
  at: number;
  actor: string;
  action: string;
  object: string;
  details: Record<string, unknown>;
  source: string | null;
  requestId: string | null;
}

export interface AuditFilter {
  actor?: string;
  action?: string;
  object?: string;
  /** Return entries older than this id: the `next` cursor of the previous page. */
  before?: number;
  /** Oldest first instead of newest first (the machine page finds an agent's first report this way). */
  oldest?: boolean;
  limit: number;
}

export function recordAudit(db: Db | Tx, actor: Actor, action: string, object: string, details: Record<string, unknown>, at: number): void {
  db.insert(auditLog)
    .values({ at, actor: actor.id, action, object, details, source: actor.source ?? null, requestId: actor.requestId ?? null })
    .run();
}

/** Newest first; `next` is the cursor for the following page, or null on the last one. */
export function listAudit(db: Db, filter: AuditFilter): { items: AuditEntry[]; next: number | null } {
  const where: SQL[] = [];
  if (filter.actor) where.push(eq(auditLog.actor, filter.actor));
  if (filter.action) where.push(eq(auditLog.action, filter.action));
  if (filter.object) where.push(eq(auditLog.object, filter.object));
  if (filter.before !== undefined) where.push(lt(auditLog.id, filter.before));
  const rows = db
    .select()
    .from(auditLog)
    .where(and(...where))
    .orderBy(filter.oldest ? asc(auditLog.id) : desc(auditLog.id))
    .limit(filter.limit + 1)
    .all();
  return pageOf(rows, filter.limit);
}
