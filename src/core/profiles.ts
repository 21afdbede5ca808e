// Profiles: what an install boots (kernel, initrd, artifacts), its command line and install templates, its variables.
// A profile is checked by rendering every template it uses with sample values before it is saved.
import { asc, eq } from "drizzle-orm";
import { type Db, type InstallKind, type OsFamily, profiles, type Tx } from "../db/index.ts";
import { conflict, type FieldError, invalid, notFound } from "../lib/errors.ts";
import { checkTemplates, DEFAULT_INSTALL_KIND, defaultTemplate, layerVars, sampleContext, TEMPLATE_NAMES, type TemplateName } from "../render/index.ts";
import type { Actor } from "./actor.ts";
import { recordAudit } from "./audit.ts";

export interface ProfileInput {
  name?: string;
  description?: string;
  osFamily?: OsFamily;
  kernel?: string;
  initrd?: string[];
  artifacts?: Record<string, string>;
  cmdline?: string | null;
  installTemplate?: InstallKind;
  templates?: Record<string, string>;
  vars?: Record<string, unknown>;
}

export type ProfileRow = typeof profiles.$inferSelect;

export interface ProfileRecord {
  id: number;
  name: string;
  description: string;
  osFamily: OsFamily;
  kernel: string;
  initrd: string[];
  artifacts: Record<string, string>;
  cmdline: string | null;
  installTemplate: InstallKind;
  templates: Record<string, string>;
  vars: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

/** The templates each install kind serves, besides the command line and the iPXE install script every profile has. */
export const INSTALL_TEMPLATES: Record<InstallKind, TemplateName[]> = {
  kickstart: ["kickstart"],
  preseed: ["preseed"],
  // Subiquity reads its autoinstall document as NoCloud user-data; meta-data and vendor-data come with it.
  autoinstall: ["autoinstall", "cloud-init-meta-data", "cloud-init-vendor-data"],
  "cloud-init": ["cloud-init-user-data", "cloud-init-meta-data", "cloud-init-vendor-data"],
  unattend: ["unattend"],
  none: [],
};

const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/i;
// Artifact keys are object-store keys: relative, no '..', no empty segments.
const KEY = /^(?!.*(^|\/)\.\.?(\/|$))[\w.+-]+(\/[\w.+-]+)*$/;

/** The source a profile renders for `name`: its own override, else the shipped default for its OS family. */
export function templateSource(profile: Pick<ProfileRow, "templates" | "cmdline" | "osFamily">, name: TemplateName): string {
  if (name === "cmdline" && profile.cmdline !== null) return profile.cmdline;
  return profile.templates[name] ?? defaultTemplate(name, profile.osFamily);
}

/** Every template a profile uses, by name. */
export function profileTemplates(profile: ProfileRow): TemplateName[] {
  return ["cmdline", "ipxe-install", ...INSTALL_TEMPLATES[profile.installKind]];
}

export class ProfileService {
  constructor(
    private readonly db: Db,
    private readonly globalVars: Record<string, unknown>,
    private readonly now: () => number = Date.now,
  ) {}

  list(): ProfileRecord[] {
    return this.db.select().from(profiles).orderBy(asc(profiles.name)).all().map(toRecord);
  }

  row(ref: string | number, db: Db | Tx = this.db): ProfileRow {
    const text = String(ref);
    const row = db
      .select()
      .from(profiles)
      .where(/^\d+$/.test(text) ? eq(profiles.id, Number(text)) : eq(profiles.name, text))
      .get();
    if (!row) throw notFound("profile", text);
    return row;
  }

  get(ref: string): ProfileRecord {
    return toRecord(this.row(ref));
  }

  /** `within`: a caller's transaction (a bundle import registers profiles with everything else, or nothing). */
  create(input: ProfileInput & Required<Pick<ProfileInput, "name" | "osFamily" | "kernel">>, actor: Actor, within?: Tx): ProfileRecord {
    const at = this.now();
    return this.inTransaction(within, (tx) => {
      if (tx.select({ id: profiles.id }).from(profiles).where(eq(profiles.name, input.name)).get()) {
        throw conflict("profile-exists", `a profile named ${input.name} exists; change it with PATCH /v1/profiles/${input.name}`);
      }
      const candidate: ProfileRow = {
        id: 0,
        name: input.name,
        description: input.description ?? "",
        osFamily: input.osFamily,
        kernel: input.kernel,
        initrd: input.initrd ?? [],
        artifacts: input.artifacts ?? {},
        cmdline: input.cmdline ?? null,
        installKind: input.installTemplate ?? DEFAULT_INSTALL_KIND[input.osFamily],
        templates: input.templates ?? {},
        vars: input.vars ?? {},
        createdAt: at,
        updatedAt: at,
      };
      this.check(candidate);
      const { id: _id, ...values } = candidate;
      const row = tx.insert(profiles).values(values).returning().get();
      recordAudit(tx, actor, "profile.create", `profile:${row.id}`, { ...input }, at);
      return toRecord(row);
    });
  }

  update(ref: string, input: ProfileInput, actor: Actor, within?: Tx): ProfileRecord {
    const at = this.now();
    return this.inTransaction(within, (tx) => {
      const before = this.row(ref, tx);
      if (input.name && input.name !== before.name && tx.select({ id: profiles.id }).from(profiles).where(eq(profiles.name, input.name)).get()) {
        throw conflict("profile-exists", `a profile named ${input.name} exists`);
      }
      const candidate: ProfileRow = {
        ...before,
        ...definedFields({
          name: input.name,
          description: input.description,
          osFamily: input.osFamily,
          kernel: input.kernel,
          initrd: input.initrd,
          artifacts: input.artifacts,
          cmdline: input.cmdline,
          installKind: input.installTemplate,
          templates: input.templates,
          vars: input.vars,
        }),
        updatedAt: at,
      };
      this.check(candidate);
      const { id, ...values } = candidate;
      const row = tx.update(profiles).set(values).where(eq(profiles.id, id)).returning().get();
      recordAudit(tx, actor, "profile.update", `profile:${id}`, { ...input }, at);
      return toRecord(row);
    });
  }

  private inTransaction<T>(within: Tx | undefined, work: (tx: Tx) => T): T {
    return within ? work(within) : this.db.transaction(work);
  }

  /** Every problem with a profile at once: bad names and keys, unknown template names, templates that do not render. */
  private check(profile: ProfileRow): void {
    const errors: FieldError[] = [];
    if (!NAME.test(profile.name)) errors.push({ path: "/name", message: "letters, digits, '.', '_' and '-', up to 63" });
    if (!KEY.test(profile.kernel)) errors.push({ path: "/kernel", message: `${JSON.stringify(profile.kernel)} is not an artifact key (relative path, no '..')` });
    profile.initrd.forEach((key, i) => {
      if (!KEY.test(key)) errors.push({ path: `/initrd/${i}`, message: `${JSON.stringify(key)} is not an artifact key` });
    });
    for (const [name, key] of Object.entries(profile.artifacts)) {
      if (!KEY.test(key)) errors.push({ path: `/artifacts/${name}`, message: `${JSON.stringify(key)} is not an artifact key` });
    }
    for (const name of Object.keys(profile.templates)) {
      if (!(TEMPLATE_NAMES as readonly string[]).includes(name)) {
        errors.push({ path: `/templates/${name}`, message: `unknown template; expected one of ${TEMPLATE_NAMES.join(", ")}` });
      }
    }
    const context = sampleContext({
      vars: layerVars(this.globalVars, profile.vars),
      profile: { name: profile.name, os_family: profile.osFamily },
    });
    errors.push(...checkTemplates(profileTemplates(profile).map((name) => ({ name, source: templateSource(profile, name) })), context));
    if (errors.length > 0) throw invalid(`profile ${profile.name} was not saved; see errors`, errors);
  }
}

function definedFields<T extends Record<string, unknown>>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function toRecord(row: ProfileRow): ProfileRecord {
  const { installKind, ...rest } = row;
  return { ...rest, installTemplate: installKind };
}
