// API tokens: scoped bearer secrets, stored as sha256 hashes and compared in constant time.
import { randomBytes, timingSafeEqual } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { desc, eq, sql } from "drizzle-orm";
import { apiTokens, type Db } from "../db/index.ts";
import { AppError, notFound } from "../lib/errors.ts";
import { type Actor, SYSTEM_ACTOR } from "./actor.ts";
import { recordAudit } from "./audit.ts";

/** Ordered by power: a token holding a scope also holds every scope before it. */
export const SCOPES = ["read", "write", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

export interface TokenRecord {
  id: string;
  name: string;
  scopes: Scope[];
  createdBy: string;
  createdAt: number;
  lastUsedAt: number | null;
  expiresAt: number | null;
  revokedAt: number | null;
}

export const ADMIN_TOKEN_FILE = "admin-token";

const TOKEN_PATTERN = /^gd_([0-9a-f]{12})_([0-9a-f]{64})$/;
// Touching last_used_at on every request would turn every GET into a write.
const LAST_USED_RESOLUTION_MS = 60_000;

const hashSecret = (secret: string) => new Bun.CryptoHasher("sha256").update(secret).digest();

interface MintedToken {
  id: string;
  token: string;
  secretHash: string;
}

function mintToken(): MintedToken {
  const id = randomBytes(6).toString("hex");
  const secret = randomBytes(32).toString("hex");
  return { id, token: `gd_${id}_${secret}`, secretHash: hashSecret(secret).toString("hex") };
}

export const grants = (held: readonly Scope[], needed: Scope): boolean =>
  held.some((scope) => SCOPES.indexOf(scope) >= SCOPES.indexOf(needed));

export class TokenService {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  create(input: { name: string; scopes: Scope[]; ttlSeconds?: number }, actor: Actor): { token: string; record: TokenRecord } {
    const minted = mintToken();
    const at = this.now();
    const scopes = [...new Set(input.scopes)].sort((a, b) => SCOPES.indexOf(a) - SCOPES.indexOf(b));
    this.insert(minted, { name: input.name, scopes, expiresAt: input.ttlSeconds ? at + input.ttlSeconds * 1000 : null }, actor, at);
    return { token: minted.token, record: this.get(minted.id) };
  }

  private insert(minted: MintedToken, fields: { name: string; scopes: Scope[]; expiresAt: number | null }, actor: Actor, at: number): void {
    this.db.transaction((tx) => {
      tx.insert(apiTokens)
        .values({ ...fields, id: minted.id, secretHash: minted.secretHash, createdBy: actor.id, createdAt: at })
        .run();
      recordAudit(tx, actor, "token.create", `token:${minted.id}`, fields, at);
    });
  }

  get(id: string): TokenRecord {
    const row = this.db.select().from(apiTokens).where(eq(apiTokens.id, id)).get();
    if (!row) throw notFound("token", id);
    return toRecord(row);
  }

  /** Whether the token still authenticates: it exists, is not revoked and has not expired. */
  isLive(id: string): boolean {
    const row = this.db.select({ revokedAt: apiTokens.revokedAt, expiresAt: apiTokens.expiresAt }).from(apiTokens).where(eq(apiTokens.id, id)).get();
    return row !== undefined && row.revokedAt === null && (row.expiresAt === null || row.expiresAt > this.now());
  }

  list(): TokenRecord[] {
    return this.db.select().from(apiTokens).orderBy(desc(apiTokens.createdAt)).all().map(toRecord);
  }

  revoke(id: string, actor: Actor): TokenRecord {
    const at = this.now();
    this.db.transaction((tx) => {
      const row = tx.select().from(apiTokens).where(eq(apiTokens.id, id)).get();
      if (!row) throw notFound("token", id);
      if (row.revokedAt !== null) {
        throw new AppError({ code: "token-revoked", status: 409, title: "Token already revoked", detail: `token ${id} was revoked before` });
      }
      tx.update(apiTokens).set({ revokedAt: at }).where(eq(apiTokens.id, id)).run();
      recordAudit(tx, actor, "token.revoke", `token:${id}`, { name: row.name }, at);
    });
    return this.get(id);
  }

  /** The token a bearer secret belongs to, or null when it is malformed, unknown, revoked or expired. */
  authenticate(bearer: string): TokenRecord | null {
    const match = TOKEN_PATTERN.exec(bearer);
    if (!match) return null;
    const [, id, secret] = match as unknown as [string, string, string];
    const row = this.db.select().from(apiTokens).where(eq(apiTokens.id, id)).get();
    if (!row) return null;
    const stored = Buffer.from(row.secretHash, "hex");
    if (!timingSafeEqual(stored, hashSecret(secret))) return null;
    const at = this.now();
    if (row.revokedAt !== null || (row.expiresAt !== null && row.expiresAt <= at)) return null;
    if (row.lastUsedAt === null || at - row.lastUsedAt >= LAST_USED_RESOLUTION_MS) {
      this.db.update(apiTokens).set({ lastUsedAt: at }).where(eq(apiTokens.id, id)).run();
      row.lastUsedAt = at;
    }
    return toRecord(row);
  }

  /**
   * On first start (no token at all) mint an admin token and write it once to <data>/admin-token, mode 0600.
   * The file is written before the row: a crash between the two leaves no token, and the next start mints again.
   */
  ensureAdminToken(dataDir: string): string | null {
    const count = this.db.select({ n: sql<number>`count(*)` }).from(apiTokens).get()?.n ?? 0;
    if (count > 0) return null;
    const path = join(dataDir, ADMIN_TOKEN_FILE);
    const minted = mintToken();
    writeFileSync(path, `${minted.token}\n`, { mode: 0o600, flush: true });
    this.insert(minted, { name: "admin", scopes: ["admin"], expiresAt: null }, SYSTEM_ACTOR, this.now());
    return path;
  }
}

function toRecord(row: typeof apiTokens.$inferSelect): TokenRecord {
  const { secretHash: _hash, ...rest } = row;
  return { ...rest, scopes: row.scopes as Scope[] };
}
