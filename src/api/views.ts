// The JSON shapes the API returns: timestamps as RFC 3339 strings, never internal columns like secret hashes.
import type { AppEvent, AuditEntry, JobRow, TokenRecord } from "../core/index.ts";

export const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export const jobView = (job: JobRow) => ({
  id: job.id,
  type: job.type,
  state: job.state,
  payload: job.payload,
  result: job.result ?? null,
  error: job.error,
  attempts: job.attempts,
  maxAttempts: job.maxAttempts,
  progress: { fraction: job.progress, message: job.progressMessage },
  cancelRequested: job.cancelRequested,
  createdBy: job.createdBy,
  createdAt: iso(job.createdAt),
  runAt: iso(job.runAt),
  startedAt: iso(job.startedAt),
  finishedAt: iso(job.finishedAt),
  updatedAt: iso(job.updatedAt),
});

export const tokenView = (token: TokenRecord) => ({
  id: token.id,
  name: token.name,
  scopes: token.scopes,
  createdBy: token.createdBy,
  createdAt: iso(token.createdAt),
  lastUsedAt: iso(token.lastUsedAt),
  expiresAt: iso(token.expiresAt),
  revokedAt: iso(token.revokedAt),
});

export const auditView = (entry: AuditEntry) => ({ ...entry, at: iso(entry.at) });

export const eventView = (event: AppEvent) => ({ ...event, at: iso(event.at) });
