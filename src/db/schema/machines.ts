// Machines, their network interfaces and the groups they belong to.
import { sql } from "drizzle-orm";
import { type AnySQLiteColumn, index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { profiles } from "./profiles.ts";

export const MACHINE_STATES = ["discovered", "ready", "provisioning", "provisioned", "failed", "retired"] as const;
export type MachineState = (typeof MACHINE_STATES)[number];

/** What a machine boots when no run is pending: the local disk, the operator's menu, or a discovery profile. */
export const BOOT_POLICIES = ["local", "menu", "profile"] as const;
export type BootPolicy = (typeof BOOT_POLICIES)[number];

export const groups = sqliteTable("groups", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  name: text("name").notNull().unique(),
  description: text("description").notNull().default(""),
  profileId: integer("profile_id").references((): AnySQLiteColumn => profiles.id, { onDelete: "set null" }),
  vars: text("vars", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

export const machines = sqliteTable(
  "machines",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    hostname: text("hostname"),
    serial: text("serial"),
    arch: text("arch"),
    labels: text("labels", { mode: "json" }).$type<Record<string, string>>().notNull(),
    groupId: integer("group_id").references(() => groups.id, { onDelete: "set null" }),
    profileId: integer("profile_id").references((): AnySQLiteColumn => profiles.id, { onDelete: "set null" }),
    state: text("state", { enum: MACHINE_STATES }).notNull(),
    /** null: the configured discovery policy while discovered, the local disk afterwards. */
    bootPolicy: text("boot_policy", { enum: BOOT_POLICIES }),
    vars: text("vars", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    lastSeenAt: integer("last_seen_at"),
    lastSource: text("last_source"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  // A retired machine keeps its name for the record, but a replacement may take it.
  (t) => [uniqueIndex("machines_hostname").on(t.hostname).where(sql`${t.state} <> 'retired'`), index("machines_state").on(t.state, t.id), index("machines_group").on(t.groupId)],
);

export const interfaces = sqliteTable(
  "interfaces",
  {
    /** Canonical form: lowercase, colon-separated (see lib/mac.ts). */
    mac: text("mac").primaryKey(),
    machineId: integer("machine_id")
      .notNull()
      .references(() => machines.id, { onDelete: "cascade" }),
    ip: text("ip"),
    position: integer("position").notNull(),
  },
  (t) => [index("interfaces_machine").on(t.machineId, t.position), uniqueIndex("interfaces_ip").on(t.ip)],
);
