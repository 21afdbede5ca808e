// Machine credentials: boot tokens (one-time, MAC-bound, short-lived), installer tokens (one run) and agent tokens
// (rotating). Only sha256 hashes are stored; secrets are compared in constant time; every refusal is audited.
import { timingSafeEqual } from "node:crypto";
import { and, eq, isNull, lt } from "drizzle-orm";
import { type Db, type MachineTokenKind, machineTokens, runs, type Tx } from "../db/index.ts";
import { AppError } from "../lib/errors.ts";
import type { Actor } from "./actor.ts";
import { recordAudit } from "./audit.ts";
import { ACTIVE_RUN_STATES } from "./runs/step.ts";
import { hashSecret, randomHex } from "./token-secret.ts";

export type MachineTokenRow = typeof machineTokens.$inferSelect;

const PREFIX: Record<MachineTokenKind, string> = { boot: "gb", installer: "gi", agent: "ga" };
const TOKEN = /^(gb|gi|ga)_([0-9a-f]{16})_([0-9a-f]{32})$/;

export interface NewMachineToken {
  id: string;
  /** What the holder presents: `<prefix>_<id>_<secret>`. */
  token: string;
  secret: string;
}

export interface MintedMachineToken extends NewMachineToken {
  secretHash: string;
}

// Ids grow with time (milliseconds, then a counter), so a storm's inserts append at the end of the primary-key
// B-tree instead of landing on random pages; the secret, not the id, is what must be unguessable.
let idCounter = Number.parseInt(randomHex(3), 16);

function nextTokenId(): string {
  idCounter = (idCounter + 1) & 0xfffff;
  return `${Date.now().toString(16).padStart(11, "0")}${idCounter.toString(16).padStart(5, "0")}`;
}

/** A token whose hash is still to be computed: the boot path leaves that to the token writer's thread. */
export function newMachineToken(kind: MachineTokenKind): NewMachineToken {
  const id = nextTokenId();
  const secret = randomHex(16);
  return { id, secret, token: `${PREFIX[kind]}_${id}_${secret}` };
}

export function mintMachineToken(kind: MachineTokenKind): MintedMachineToken {
  const token = newMachineToken(kind);
  return { ...token, secretHash: hashSecret(token.secret).toString("hex") };
}

const withArticle = (word: string) => `${/^[aeiou]/.test(word) ? "an" : "a"} ${word}`;

/** Why a token was refused; the status says whether the caller may try again with a fresh token (401) or not (403). */
export class TokenRefused extends AppError {
  constructor(
    readonly reason: string,
    status: 401 | 403,
    detail: string,
  ) {
    super({
      code: status === 401 ? "token-invalid" : "token-forbidden",
      status,
      title: status === 401 ? "Token not accepted" : "Token not valid here",
      detail,
    });
  }
}

export interface TokenCheck {
  kind: MachineTokenKind;
  /** The MAC the caller says it is; a boot token is refused from any MAC but its own. */
  mac?: string | null;
  at: number;
}

/** Finds and checks a machine token inside the caller's transaction; throws TokenRefused with the reason. */
export function checkMachineToken(db: Db | Tx, token: string, check: TokenCheck): MachineTokenRow {
  const match = TOKEN.exec(token);
  if (!match) throw new TokenRefused("malformed", 401, `that is not a goosed ${check.kind} token`);
  const [, prefix, id, secret] = match as unknown as [string, string, string, string];
  const row = db.select().from(machineTokens).where(eq(machineTokens.id, id)).get();
  if (!row || !timingSafeEqual(Buffer.from(row.secretHash, "hex"), hashSecret(secret))) {
    throw new TokenRefused("unknown", 401, `unknown ${check.kind} token`);
  }
  if (prefix !== PREFIX[check.kind] || row.kind !== check.kind) {
    throw new TokenRefused("wrong-kind", 401, `${withArticle(row.kind)} token cannot be used where ${withArticle(check.kind)} token is needed`);
  }
  if (row.revokedAt !== null) throw new TokenRefused("revoked", 401, `this ${check.kind} token was replaced or revoked`);
  if (row.kind === "boot" && row.usedAt !== null) {
    throw new TokenRefused("reused", 401, "this boot token was already used; boot tokens work once (reboot the machine for a fresh one)");
  }
  if (row.expiresAt !== null && row.expiresAt <= check.at) {
    throw new TokenRefused("expired", 401, `this ${check.kind} token expired at ${new Date(row.expiresAt).toISOString()}; reboot the machine for a fresh one`);
  }
  if (check.mac !== undefined && row.mac !== null && check.mac !== row.mac) {
    throw new TokenRefused("other-mac", 403, `this boot token was issued to ${row.mac}, not ${check.mac ?? "an unnamed MAC"}`);
  }
  if (row.runId !== null && row.kind !== "agent") {
    const run = db.select({ state: runs.state }).from(runs).where(eq(runs.id, row.runId)).get();
    if (!run || !ACTIVE_RUN_STATES.has(run.state)) {
      throw new TokenRefused("run-ended", 403, `run ${row.runId} ${run ? `ended ${run.state}` : "is gone"}; its tokens no longer work`);
    }
  }
  return row;
}

export function insertMachineToken(
  tx: Db | Tx,
  kind: MachineTokenKind,
  fields: { machineId: number; runId: number | null; mac: string | null; expiresAt: number | null },
  at: number,
): string {
  const minted = mintMachineToken(kind);
  tx.insert(machineTokens).values({ id: minted.id, kind, secretHash: minted.secretHash, ...fields, createdAt: at }).run();
  return minted.token;
}

/** Revokes a machine's live agent tokens (an agent enrolling again replaces its old identity). */
export function revokeAgentTokens(tx: Tx, machineId: number, at: number): void {
  tx.update(machineTokens)
    .set({ revokedAt: at })
    .where(and(eq(machineTokens.kind, "agent"), eq(machineTokens.machineId, machineId), isNull(machineTokens.revokedAt)))
    .run();
}

// Spent and expired boot tokens are kept a day for the audit trail's sake, then dropped: a storm mints millions.
const BOOT_TOKEN_KEEP_MS = 86_400_000;

/** Deletes boot tokens that expired more than a day ago; returns how many. */
export function pruneBootTokens(db: Db, at: number): number {
  return db
    .delete(machineTokens)
    .where(and(eq(machineTokens.kind, "boot"), lt(machineTokens.expiresAt, at - BOOT_TOKEN_KEEP_MS)))
    .returning({ id: machineTokens.id })
    .all().length;
}

/** The audit row for a refused machine token: who presented what, from where, and why it failed. */
export function auditRefusal(db: Db, error: TokenRefused, kind: MachineTokenKind, token: string, source: string | null, request: string, at: number): void {
  const id = TOKEN.exec(token)?.[2] ?? null;
  const actor: Actor = { id: id ? `${kind}-token:${id}` : "anonymous", source: source ?? undefined };
  recordAudit(db, actor, "token.refused", id ? `token:${id}` : request, { kind, reason: error.reason, request }, at);
}
