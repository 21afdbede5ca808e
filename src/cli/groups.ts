// `goosed group list|show|add|remove`: roles that give their machines a default profile and variables.
import type { CAC } from "cac";
import type { groupView } from "../api/views.ts";
import type { ApiClient } from "./client.ts";
import { rawValue, varsOf } from "./options.ts";
import { printJson, printTable } from "./output.ts";

type GroupView = ReturnType<typeof groupView>;

type Options = Record<string, unknown>;

const ref = (raw: string) => `/v1/groups/${encodeURIComponent(raw)}`;

export function registerGroups(cli: CAC, client: (options: Options) => ApiClient): void {
  cli.command("group list", "List groups").action(async (options: Options) => {
    const { items } = await client(options).request<{ items: GroupView[] }>("GET", "/v1/groups");
    if (options.json) return printJson(items);
    printTable(
      ["name", "profile", "machines", "vars", "description"],
      items.map((g) => [g.name, g.profile, g.machines, Object.keys(g.vars).join(","), g.description]),
    );
  });

  cli.command("group show <ref>", "Show one group by name or id").action(async (raw: string, options: Options) => {
    const g = await client(options).request<GroupView>("GET", ref(raw));
    if (options.json) return printJson(g);
    const rows: Array<[string, unknown]> = [
      ["id", g.id],
      ["name", g.name],
      ["description", g.description || "-"],
      ["profile", g.profile ?? "-"],
      ["machines", g.machines],
      ["vars", Object.keys(g.vars).length ? JSON.stringify(g.vars) : "-"],
      ["created", g.createdAt],
      ["updated", g.updatedAt],
    ];
    for (const [key, value] of rows) process.stdout.write(`${key.padEnd(11)} ${value}\n`);
  });

  cli
    .command("group add <name>", "Create a group")
    .option("--profile <profile>", "the profile its machines install unless they name their own")
    .option("--var <key=value>", "a template variable for its machines, JSON when it parses; repeat for more")
    .option("--description <text>", "what the group is for")
    .action(async (name: string, options: Options) => {
      const command = "group add";
      const body = { name, profile: rawValue(cli, "profile", command), vars: varsOf(cli, command), description: rawValue(cli, "description", command) };
      const g = await client(options).request<GroupView>("POST", "/v1/groups", body);
      if (options.json) return printJson(g);
      process.stdout.write(`group ${g.name} added${g.profile ? ` (profile ${g.profile})` : ""}\n`);
    });

  cli.command("group remove <name>", "Delete a group that has no machines").action(async (name: string, options: Options) => {
    await client(options).request<undefined>("DELETE", ref(name));
    if (options.json) return printJson({ removed: name });
    process.stdout.write(`group ${name} removed\n`);
  });
}
