// DHCP leases: one row per address goosed has handed out. Rows outlive their lease so a returning client gets its
// old address back; a declined address keeps its row as a quarantine until expires_at.
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const LEASE_STATES = ["bound", "released", "declined"] as const;
export type LeaseState = (typeof LEASE_STATES)[number];

export const leases = sqliteTable(
  "leases",
  {
    ip: text("ip").primaryKey(),
    /** The address as an unsigned 32-bit number, so listings sort and page by address. */
    ipNumber: integer("ip_number").notNull().unique(),
    /** Canonical MAC (lib/mac.ts); for a declined address, the client that declined it. */
    mac: text("mac").notNull(),
    /** Option 61 as hex, kept for the record; leases are keyed by MAC (see dhcp/lease-pool.ts). */
    clientId: text("client_id"),
    hostname: text("hostname"),
    /** The served subnet the address belongs to, e.g. 10.0.0.0/24. */
    subnet: text("subnet").notNull(),
    state: text("state", { enum: LEASE_STATES }).notNull(),
    startsAt: integer("starts_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("leases_mac").on(t.mac)],
);
