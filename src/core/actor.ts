// Who is asking: carried from the HTTP edge into core so every mutation can be audited.

export interface Actor {
  /** Stable name for the audit trail, e.g. `token:tok_3f9a (admin)` or `system`. */
  id: string;
  /** Remote address of the request, when there was one. */
  source?: string;
  requestId?: string;
}

export const SYSTEM_ACTOR: Actor = { id: "system" };
