// `goosed profile list|show|add|render`: what installs boot, and what a template renders for one machine.
import { extname } from "node:path";
import type { CAC } from "cac";
import { parse as parseYaml } from "yaml";
import { INSTALL_KINDS, OS_FAMILIES } from "../db/index.ts";
import { TEMPLATE_NAMES } from "../render/index.ts";
import type { profileView } from "../api/views.ts";
import type { ApiClient } from "./client.ts";
import { oneOf, rawValue, rawValues, readText, varsOf } from "./options.ts";
import { printJson, printTable } from "./output.ts";
import { CliError, UsageError } from "./usage.ts";

type ProfileView = ReturnType<typeof profileView>;

type Options = Record<string, unknown>;

/** The options that describe a profile on the command line; --file replaces all of them. */
const PROFILE_FLAGS = ["os", "kernel", "initrd", "install", "cmdline", "template", "var", "description"];

const ref = (raw: string) => `/v1/profiles/${encodeURIComponent(raw)}`;

function describe(p: ProfileView): void {
  const rows: Array<[string, string | number]> = [
    ["id", p.id],
    ["name", p.name],
    ["description", p.description],
    ["os", p.osFamily],
    ["install", p.installTemplate],
    ["kernel", p.kernel],
    ["initrd", p.initrd.join(" ")],
    ...Object.entries(p.artifacts).map(([name, key]): [string, string] => ["artifact", `${name} = ${key}`]),
    ["cmdline", p.cmdline ?? "(the default for its OS)"],
    ...Object.entries(p.templates).map(([name, source]): [string, string] => ["template", `${name} (own, ${source.split("\n").length} lines)`]),
    ["vars", Object.keys(p.vars).length ? JSON.stringify(p.vars) : ""],
    ["created", p.createdAt],
    ["updated", p.updatedAt],
  ];
  for (const [key, value] of rows) process.stdout.write(`${key.padEnd(11)} ${value === "" ? "-" : value}\n`);
}

/** A profile from a JSON or YAML file, in the API's own shape (name, osFamily, kernel, installTemplate, ...). */
function profileFile(path: string): Record<string, unknown> {
  const text = readText(path, "profile file");
  let value: unknown;
  try {
    value = extname(path).toLowerCase() === ".json" ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new CliError(`${path} does not parse: ${(err as Error).message.split("\n")[0]}`, { cause: err });
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new CliError(`${path} must hold one profile (a mapping of its fields)`);
  return value as Record<string, unknown>;
}

/** A profile from flags: `--template NAME=FILE` reads each file. Only the flags given are in it. */
function profileFlags(cli: CAC, name: string | undefined, command: string): Record<string, unknown> {
  const osFamily = oneOf(rawValue(cli, "os", command), OS_FAMILIES, "os", command);
  const kernel = rawValue(cli, "kernel", command);
  const templates: Record<string, string> = {};
  for (const pair of rawValues(cli, "template")) {
    const at = pair.indexOf("=");
    if (at <= 0 || at === pair.length - 1) throw new UsageError(`--template expects NAME=FILE, got ${pair}`, command);
    templates[pair.slice(0, at)] = readText(pair.slice(at + 1), `template ${pair.slice(0, at)}:`);
  }
  const initrd = rawValues(cli, "initrd");
  return {
    name,
    osFamily,
    kernel,
    initrd: initrd.length ? initrd : undefined,
    installTemplate: oneOf(rawValue(cli, "install", command), INSTALL_KINDS, "install", command),
    cmdline: rawValue(cli, "cmdline", command),
    templates: Object.keys(templates).length ? templates : undefined,
    vars: varsOf(cli, command),
    description: rawValue(cli, "description", command),
  };
}

export function registerProfiles(cli: CAC, client: (options: Options) => ApiClient): void {
  cli.command("profile list", "List profiles").action(async (options: Options) => {
    const { items } = await client(options).request<{ items: ProfileView[] }>("GET", "/v1/profiles");
    if (options.json) return printJson(items);
    printTable(
      ["name", "os", "install", "kernel", "initrd", "own templates", "description"],
      items.map((p) => [p.name, p.osFamily, p.installTemplate, p.kernel, p.initrd.join(" "), Object.keys(p.templates).join(","), p.description]),
    );
  });

  cli.command("profile show <ref>", "Show one profile by name or id").action(async (raw: string, options: Options) => {
    const profile = await client(options).request<ProfileView>("GET", ref(raw));
    if (options.json) return printJson(profile);
    describe(profile);
  });

  cli
    .command("profile add [name]", "Create a profile from options or --file; every template it uses must render")
    .option("--file <path>", "the whole profile as JSON or YAML (fields as in the API: name, osFamily, kernel, installTemplate, ...)")
    .option("--os <family>", `OS family: ${OS_FAMILIES.join(", ")}`)
    .option("--kernel <key>", "object-store key of the kernel, e.g. rocky9/vmlinuz")
    .option("--initrd <key>", "object-store key of an initrd; repeat for more, in load order")
    .option("--install <kind>", `install template kind: ${INSTALL_KINDS.join(", ")} (default: the one for its OS family)`)
    .option("--cmdline <text>", "kernel command line template (default: the one for its OS)")
    .option("--template <name=file>", "use this file for template NAME (e.g. kickstart=ks.cfg); repeat for more")
    .option("--var <key=value>", "a template variable, JSON when it parses; repeat for more")
    .option("--description <text>", "what the profile is for")
    .action(async (name: string | undefined, options: Options) => {
      const command = "profile add";
      const file = rawValue(cli, "file", command);
      let body: Record<string, unknown>;
      if (file) {
        const mixed = PROFILE_FLAGS.filter((flag) => rawValues(cli, flag).length > 0);
        if (mixed.length) throw new UsageError(`--file holds the whole profile; drop ${mixed.map((f) => `--${f}`).join(", ")} or put ${mixed.length === 1 ? "it" : "them"} in the file`, command);
        body = { ...profileFile(file), ...(name ? { name } : {}) };
      } else {
        if (!name) throw new UsageError("give the profile a name, or --file", command);
        body = profileFlags(cli, name, command);
        if (!body.osFamily || !body.kernel) throw new UsageError("a profile needs --os and --kernel", command);
      }
      const profile = await client(options).request<ProfileView>("POST", "/v1/profiles", body);
      if (options.json) return printJson(profile);
      process.stdout.write(`profile ${profile.name} added (${profile.osFamily}, install ${profile.installTemplate})\n`);
    });

  cli
    .command("profile set <ref>", "Change a profile: only what you give changes; every template it uses must still render")
    .option("--file <path>", "the fields to change as JSON or YAML (as in the API)")
    .option("--os <family>", `OS family: ${OS_FAMILIES.join(", ")}`)
    .option("--kernel <key>", "object-store key of the kernel")
    .option("--initrd <key>", "replace the initrds; repeat for more, in load order")
    .option("--install <kind>", `install template kind: ${INSTALL_KINDS.join(", ")}`)
    .option("--cmdline <text>", "kernel command line template")
    .option("--template <name=file>", "replace the profile's own templates with these files; repeat for more")
    .option("--var <key=value>", "replace the variables; repeat for more")
    .option("--description <text>", "what the profile is for")
    .example("goosed profile set rocky9 --var repo_url=http://10.0.0.5/rocky9 --template kickstart=ks.cfg")
    .action(async (raw: string, options: Options) => {
      const command = "profile set";
      const file = rawValue(cli, "file", command);
      const body = file ? profileFile(file) : profileFlags(cli, undefined, command);
      if (Object.values(body).every((v) => v === undefined)) throw new UsageError("nothing to change; give at least one option or --file", command);
      const profile = await client(options).request<ProfileView>("PATCH", ref(raw), body);
      if (options.json) return printJson(profile);
      process.stdout.write(`profile ${profile.name} changed (${profile.osFamily}, install ${profile.installTemplate})\n`);
    });

  cli
    .command("profile render <profile>", "Print what a profile's template renders for one machine; nothing is issued or changed")
    .option("--machine <ref>", "the machine to render for (id, hostname or MAC)")
    .option("--template <name>", `which template: ${TEMPLATE_NAMES.join(", ")}`)
    .action(async (profile: string, options: Options) => {
      const command = "profile render";
      const machine = rawValue(cli, "machine", command);
      // The API's own answer to a bad name is a bare schema error; this one lists the names.
      const template = oneOf(rawValue(cli, "template", command), TEMPLATE_NAMES, "template", command);
      if (!machine || !template) throw new UsageError("give --machine and --template", command);
      const text = await client(options).requestText("POST", `${ref(profile)}/render`, { machine, template });
      if (options.json) return printJson({ profile, machine, template, text });
      process.stdout.write(text);
    });
}
