// Offline bundles: the signers an appliance trusts, and every bundle it imported (the newest version per name is what
// a later import must not go below unless forced).
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const trustedKeys = sqliteTable("trusted_keys", {
  /** signify's 8-byte key number, as 16 hex digits: what a manifest.sig names. */
  keyId: text("key_id").primaryKey(),
  /** The public key file as given (signify format), kept so an operator can export it again. */
  publicKey: text("public_key").notNull(),
  name: text("name").notNull(),
  addedBy: text("added_by").notNull(),
  addedAt: integer("added_at").notNull(),
  revokedAt: integer("revoked_at"),
});

export const bundles = sqliteTable(
  "bundles",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    name: text("name").notNull(),
    version: text("version").notNull(),
    signerKeyId: text("signer_key_id").notNull(),
    /** sha256 of the exact manifest bytes the signature covers. */
    manifestSha256: text("manifest_sha256").notNull(),
    manifest: text("manifest").notNull(),
    /** Entries, bytes and how many blobs were new, for the status page. */
    summary: text("summary", { mode: "json" }).$type<{ entries: number; bytes: number; newBlobs: number; newBytes: number }>().notNull(),
    importedBy: text("imported_by").notNull(),
    importedAt: integer("imported_at").notNull(),
  },
  (t) => [index("bundles_name").on(t.name, t.importedAt)],
);
