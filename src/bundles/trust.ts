// The trust store: the signify public keys whose bundles this appliance imports. A key is trusted by an operator,
// revoked by one, and never deleted, so an imported bundle's signer stays on record.
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import type { Actor } from "../core/actor.ts";
import { recordAudit } from "../core/audit.ts";
import type { EventBus } from "../core/events.ts";
import type { Store } from "../db/index.ts";
import { AppError, conflict, notFound } from "../lib/errors.ts";
import { readPublicKey, SIGNIFY_REASON_TEXT, type SignifyPublicKey } from "./signify.ts";

export interface TrustedKey {
  keyId: string;
  name: string;
  publicKey: string;
  addedBy: string;
  addedAt: number;
  revokedAt: number | null;
}

const COLUMNS = "key_id AS keyId, name, public_key AS publicKey, added_by AS addedBy, added_at AS addedAt, revoked_at AS revokedAt";

export class TrustStore {
  constructor(
    private readonly store: Store,
    private readonly bus: EventBus,
  ) {}

  /** Trusts a signify public key file's key under `name`; a key trusted before (even revoked) is a conflict. */
  trust(publicKeyText: string, name: string, actor: Actor): TrustedKey {
    const parsed = readPublicKey(publicKeyText);
    if (!parsed.ok) {
      throw new AppError({
        code: "invalid-public-key",
        status: 422,
        title: "Not a signify public key",
        detail: `the key cannot be trusted: ${SIGNIFY_REASON_TEXT[parsed.reason]}; give the .pub file 'goosed keys generate' or 'signify-openbsd -G' wrote`,
      });
    }
    const keyId = parsed.value.keyId;
    if (acceptsForgery(parsed.value)) {
      throw new AppError({
        code: "weak-public-key",
        status: 422,
        title: "Weak public key",
        detail: `key ${keyId} is a small-order point (or not a curve point at all), which forged signatures can pass; generate a real key with 'goosed keys generate'`,
      });
    }
    const now = Date.now();
    this.store.sqlite.transaction(() => {
      const existing = this.get(keyId);
      if (existing) {
        throw conflict("key-already-known", existing.revokedAt === null ? `key ${keyId} is already trusted as ${existing.name}` : `key ${keyId} was revoked; a revoked key is not trusted again`);
      }
      this.store.sqlite
        .query("INSERT INTO trusted_keys (key_id, public_key, name, added_by, added_at) VALUES (?, ?, ?, ?, ?)")
        .run(keyId, publicKeyText.trim() + "\n", name, actor.id, now);
      recordAudit(this.store.db, actor, "key.trust", keyId, { name }, now);
    })();
    this.bus.publish("key.trusted", keyId, { name });
    return this.get(keyId)!;
  }

  /**
   * Trusts each key file not yet known, named after its file (release.pub → release): the appliance's keys from its
   * GOOSED stick, at every boot. A key already trusted, or revoked since, is left alone; a file that is not a key fails.
   */
  trustFiles(paths: readonly string[], actor: Actor): TrustedKey[] {
    const added: TrustedKey[] = [];
    for (const path of paths) {
      let text: string;
      try {
        text = readFileSync(path, "utf8");
      } catch (error) {
        throw new AppError({ code: "key-file-unreadable", status: 422, title: "Key file unreadable", detail: `cannot read ${path} (bundles.trustKeys): ${(error as Error).message}`, cause: error });
      }
      const parsed = readPublicKey(text);
      if (parsed.ok && this.get(parsed.value.keyId)) continue;
      try {
        added.push(this.trust(text, basename(path).replace(/\.pub$/, ""), actor));
      } catch (error) {
        if (error instanceof AppError) throw new AppError({ code: error.code, status: error.status, title: error.title, detail: `${path} (bundles.trustKeys): ${error.detail}`, cause: error });
        throw error;
      }
    }
    return added;
  }

  list(): TrustedKey[] {
    return this.store.sqlite.query<TrustedKey, []>(`SELECT ${COLUMNS} FROM trusted_keys ORDER BY added_at, key_id`).all();
  }

  get(keyId: string): TrustedKey | null {
    return this.store.sqlite.query<TrustedKey, [string]>(`SELECT ${COLUMNS} FROM trusted_keys WHERE key_id = ?`).get(keyId);
  }

  /** The public key that may sign bundles under this id, or null for an unknown or revoked one. */
  signer(keyId: string): TrustedKey | null {
    const key = this.get(keyId);
    return key && key.revokedAt === null ? key : null;
  }

  revoke(keyId: string, actor: Actor): TrustedKey {
    const now = Date.now();
    this.store.sqlite.transaction(() => {
      const key = this.get(keyId);
      if (!key) throw notFound("key", keyId);
      if (key.revokedAt !== null) return;
      this.store.sqlite.query("UPDATE trusted_keys SET revoked_at = ? WHERE key_id = ?").run(now, keyId);
      recordAudit(this.store.db, actor, "key.revoke", keyId, {}, now);
    })();
    this.bus.publish("key.revoked", keyId, {});
    return this.get(keyId)!;
  }
}

// Curve25519's field and twisted Edwards constant (RFC 8032 §5.1), for the small-order check below.
const P = 2n ** 255n - 19n;
const D = (-121665n * modInverse(121666n)) % P;

/**
 * A small-order public key (the identity, or a point of order 2, 4 or 8) lets a forged signature verify over
 * messages the forger did not choose; trusting one would trust such bundles. Such a point times 8 is the identity.
 * Keys that are not curve points at all are refused too: nothing could ever verify with them.
 */
function acceptsForgery(key: SignifyPublicKey): boolean {
  const point = decodePoint(key.publicKey);
  if (!point) return true;
  let [x, y] = point;
  for (let i = 0; i < 3; i++) [x, y] = double(x, y);
  return x === 0n && y === 1n;
}

function mod(n: bigint): bigint {
  const r = n % P;
  return r < 0n ? r + P : r;
}

function power(base: bigint, exponent: bigint): bigint {
  let result = 1n;
  let b = mod(base);
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
  }
  return result;
}

function modInverse(n: bigint): bigint {
  return power(n, P - 2n);
}

/** RFC 8032 §5.1.3: y little-endian with x's sign in the top bit; null when it is not a point. */
function decodePoint(bytes: Uint8Array): [bigint, bigint] | null {
  const sign = bytes[31]! >> 7;
  const copy = Uint8Array.from(bytes);
  copy[31]! &= 0x7f;
  const y = BigInt(`0x${Buffer.from(copy).reverse().toString("hex")}`);
  if (y >= P) return null;
  const u = mod(y * y - 1n);
  const v = mod(D * y * y + 1n);
  let x = mod(u * power(v, 3n) * power(u * power(v, 7n), (P - 5n) / 8n));
  if (mod(v * x * x) !== u) {
    if (mod(v * x * x) !== mod(-u)) return null;
    x = mod(x * power(2n, (P - 1n) / 4n));
  }
  if (x === 0n && sign === 1) return null;
  if (Number(x & 1n) !== sign) x = mod(-x);
  return [x, y];
}

/** Point doubling on -x² + y² = 1 + d·x²·y² (complete, so defined for every point). */
function double(x: bigint, y: bigint): [bigint, bigint] {
  const xx = mod(x * x);
  const yy = mod(y * y);
  return [mod(2n * x * y * modInverse(mod(yy - xx))), mod((yy + xx) * modInverse(mod(2n - yy + xx)))];
}
