// Profiles (blueprints): what an install boots and which templates it renders.
import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
// The names templates know are the names the database stores: one list, kept with the templates.
import { INSTALL_KINDS, OS_FAMILIES } from "../../render/context.ts";

export { INSTALL_KINDS, type InstallKind, OS_FAMILIES, type OsFamily } from "../../render/context.ts";

export const profiles = sqliteTable("profiles", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  name: text("name").notNull().unique(),
  description: text("description").notNull().default(""),
  osFamily: text("os_family", { enum: OS_FAMILIES }).notNull(),
  /** Artifact names (objects/catalog.ts), or files under <data>/artifacts served at the same /artifacts/ URLs. */
  kernel: text("kernel").notNull(),
  initrd: text("initrd", { mode: "json" }).$type<string[]>().notNull(),
  artifacts: text("artifacts", { mode: "json" }).$type<Record<string, string>>().notNull(),
  /** Kernel command line template; null uses the OS family's default. */
  cmdline: text("cmdline"),
  installKind: text("install_kind", { enum: INSTALL_KINDS }).notNull(),
  /** Per-profile template overrides by template name; absent names use the shipped defaults. */
  templates: text("templates", { mode: "json" }).$type<Record<string, string>>().notNull(),
  vars: text("vars", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});
