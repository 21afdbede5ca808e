// Groups: a role a machine plays, carrying a default profile and variables (the fallback for its machines).
import { asc, eq, sql } from "drizzle-orm";
import { type Db, groups, machines, profiles, type Tx } from "../db/index.ts";
import { conflict, invalid, notFound } from "../lib/errors.ts";
import type { Actor } from "./actor.ts";
import { recordAudit } from "./audit.ts";

export interface GroupInput {
  name?: string;
  description?: string;
  profile?: string | null;
  vars?: Record<string, unknown>;
}

export interface GroupRecord {
  id: number;
  name: string;
  description: string;
  profile: string | null;
  vars: Record<string, unknown>;
  machines: number;
  createdAt: number;
  updatedAt: number;
}

const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/i;

export class GroupService {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  list(): GroupRecord[] {
    return this.select(this.db).orderBy(asc(groups.name)).all().map(toRecord);
  }

  get(ref: string, db: Db | Tx = this.db): GroupRecord {
    const row = this.select(db).where(/^\d+$/.test(ref) ? eq(groups.id, Number(ref)) : eq(groups.name, ref)).get();
    if (!row) throw notFound("group", ref);
    return toRecord(row);
  }

  create(input: GroupInput & { name: string }, actor: Actor): GroupRecord {
    const at = this.now();
    return this.db.transaction((tx) => {
      if (tx.select({ id: groups.id }).from(groups).where(eq(groups.name, input.name)).get()) {
        throw conflict("group-exists", `a group named ${input.name} exists; change it with goosed group update`);
      }
      const fields = this.fields(tx, input);
      const row = tx
        .insert(groups)
        .values({ vars: {}, ...fields, name: input.name, createdAt: at, updatedAt: at })
        .returning({ id: groups.id })
        .get();
      recordAudit(tx, actor, "group.create", `group:${row.id}`, { ...input }, at);
      return this.get(String(row.id), tx);
    });
  }

  update(ref: string, input: GroupInput, actor: Actor): GroupRecord {
    const at = this.now();
    return this.db.transaction((tx) => {
      const { id } = this.get(ref, tx);
      const taken = input.name === undefined ? undefined : tx.select({ id: groups.id }).from(groups).where(eq(groups.name, input.name)).get();
      if (taken && taken.id !== id) throw conflict("group-exists", `a group named ${input.name} exists; pick another name`);
      const fields = this.fields(tx, input);
      tx.update(groups).set({ ...fields, updatedAt: at }).where(eq(groups.id, id)).run();
      recordAudit(tx, actor, "group.update", `group:${id}`, { ...input }, at);
      return this.get(String(id), tx);
    });
  }

  remove(ref: string, actor: Actor): void {
    const at = this.now();
    this.db.transaction((tx) => {
      const group = this.get(ref, tx);
      if (group.machines > 0) throw conflict("group-in-use", `group ${group.name} still has ${group.machines} machine(s); move them first`);
      tx.delete(groups).where(eq(groups.id, group.id)).run();
      recordAudit(tx, actor, "group.delete", `group:${group.id}`, { name: group.name }, at);
    });
  }

  private fields(tx: Tx, input: GroupInput) {
    const fields: Partial<typeof groups.$inferInsert> = {};
    if (input.name !== undefined) {
      if (!NAME.test(input.name)) throw invalid("group was not saved; see errors", [{ path: "/name", message: "letters, digits, '.', '_' and '-', up to 63" }]);
      fields.name = input.name;
    }
    if (input.description !== undefined) fields.description = input.description;
    if (input.vars !== undefined) fields.vars = input.vars;
    if (input.profile !== undefined) {
      if (!input.profile) fields.profileId = null;
      else {
        const profile = tx.select({ id: profiles.id }).from(profiles).where(eq(profiles.name, input.profile)).get();
        if (!profile) throw invalid("group was not saved; see errors", [{ path: "/profile", message: `no profile named ${input.profile}` }]);
        fields.profileId = profile.id;
      }
    }
    return fields;
  }

  private select(db: Db | Tx) {
    return db
      .select({
        group: groups,
        profile: profiles.name,
        machines: sql<number>`(SELECT count(*) FROM ${machines} WHERE ${machines.groupId} = ${groups.id})`,
      })
      .from(groups)
      .leftJoin(profiles, eq(profiles.id, groups.profileId))
      .$dynamic();
  }
}

function toRecord(row: { group: typeof groups.$inferSelect; profile: string | null; machines: number }): GroupRecord {
  const { profileId: _p, ...group } = row.group;
  return { ...group, profile: row.profile, machines: row.machines };
}
