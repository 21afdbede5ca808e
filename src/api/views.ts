// The JSON shapes the API returns: timestamps as RFC 3339 strings, never internal columns like secret hashes.
import type { AppEvent, AuditEntry, GroupRecord, JobRow, MachineRecord, ProfileRecord, RunRecord, TokenRecord } from "../core/index.ts";

export function iso(ms: number): string;
export function iso(ms: number | null): string | null;
export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

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

export const machineView = (m: MachineRecord) => ({
  ...m,
  lastSeenAt: iso(m.lastSeenAt),
  createdAt: iso(m.createdAt),
  updatedAt: iso(m.updatedAt),
});

export const runView = (r: RunRecord) => ({
  ...r,
  deadlineAt: iso(r.deadlineAt),
  createdAt: iso(r.createdAt),
  updatedAt: iso(r.updatedAt),
  finishedAt: iso(r.finishedAt),
  transitions: r.transitions.map((x) => ({ ...x, at: iso(x.at) })),
});

export const profileView = (p: ProfileRecord) => ({ ...p, createdAt: iso(p.createdAt), updatedAt: iso(p.updatedAt) });

export const groupView = (g: GroupRecord) => ({ ...g, createdAt: iso(g.createdAt), updatedAt: iso(g.updatedAt) });
