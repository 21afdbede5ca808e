// `goosed machine list|show|add|import|provision|cancel|retire|facts`: the inventory and its install runs.
import { extname } from "node:path";
import type { CAC } from "cac";
import { BOOT_POLICIES, MACHINE_STATES } from "../db/index.ts";
import type { machineView } from "../api/views.ts";
import type { ApiClient } from "./client.ts";
import { oneOf, pairs, positiveInteger, rawValue, rawValues, readText, varsOf } from "./options.ts";
import type { RunView } from "./runs.ts";
import { age, printJson, printTable } from "./output.ts";
import { CliError, UsageError } from "./usage.ts";

export type MachineView = ReturnType<typeof machineView>;

interface ImportResult {
  dryRun: boolean;
  rows: number;
  created: number;
  machines: MachineView[];
}

type Options = Record<string, unknown>;

export const machineName = (m: { id: number; hostname: string | null }): string => m.hostname ?? `machine ${m.id}`;

/** `run 7 cancelled: rocky9 on node01`, the line a command that changed a run ends with. */
export const runLine = (run: RunView): string => `run ${run.id} ${run.state}: ${run.profile} on ${machineName(run.machine)}`;

const ref = (raw: string) => `/v1/machines/${encodeURIComponent(raw)}`;

/**
 * A machine as the command line describes it, for POST (add) and PATCH (set): only the options given are in it.
 * An empty value ('') clears a field; `--mac`, `--label` and `--var` replace the whole list or map.
 */
function machineBody(cli: CAC, command: string) {
  const macs = rawValues(cli, "mac");
  const ips = rawValues(cli, "ip");
  if (ips.length > macs.length) throw new UsageError(`${ips.length} --ip for ${macs.length} --mac; each --ip goes with the --mac in the same position`, command);
  const labels = rawValues(cli, "label");
  const cleared = (value: string | undefined) => (value === "" ? null : value);
  const policy = rawValue(cli, "boot-policy", command);
  return {
    hostname: cleared(rawValue(cli, "hostname", command)),
    serial: cleared(rawValue(cli, "serial", command)),
    arch: cleared(rawValue(cli, "arch", command)),
    group: cleared(rawValue(cli, "group", command)),
    profile: cleared(rawValue(cli, "profile", command)),
    bootPolicy: policy === "" ? null : oneOf(policy, BOOT_POLICIES, "boot-policy", command),
    labels: labels.length ? Object.fromEntries(pairs(labels, "label", command)) : undefined,
    vars: varsOf(cli, command),
    interfaces: macs.length ? macs.map((mac, i) => ({ mac, ...(ips[i] ? { ip: ips[i] } : {}) })) : undefined,
  };
}

function describe(m: MachineView): void {
  const rows: Array<[string, unknown]> = [
    ["id", m.id],
    ["hostname", m.hostname],
    ["state", m.state],
    ["serial", m.serial],
    ["arch", m.arch],
    ["group", m.group],
    ["profile", m.profile],
    ["boot policy", m.bootPolicy],
    ["labels", Object.entries(m.labels).map(([k, v]) => `${k}=${v}`).join(", ")],
    ["vars", Object.keys(m.vars).length ? JSON.stringify(m.vars) : ""],
    ...m.interfaces.map((i): [string, unknown] => ["interface", `${i.mac}${i.ip ? ` ${i.ip}` : ""}`]),
    ["active run", m.activeRun ? `${m.activeRun.id} (${m.activeRun.state})` : ""],
    ["last seen", m.lastSeenAt ? `${m.lastSeenAt} (${age(m.lastSeenAt)}${m.lastSource ? ` from ${m.lastSource}` : ""})` : ""],
    ["created", m.createdAt],
    ["updated", m.updatedAt],
  ];
  for (const [key, value] of rows) process.stdout.write(`${key.padEnd(11)} ${value === null || value === "" ? "-" : value}\n`);
}

/** An import must show every bad row: the summary, then one line per row the appliance named. */
function importFailure(err: unknown): unknown {
  if (!(err instanceof CliError) || err.fields.length === 0) return err;
  const summary = err.message.slice(0, err.message.indexOf(" (")).trim() || err.message;
  return new CliError([summary, ...err.fields.map((f) => `  ${f.path}: ${f.message}`)].join("\n"), { cause: err });
}

/** Facts as the agent stores them: .proto field names, 64-bit numbers as strings, unreadable values empty. */
function factLines(facts: Record<string, unknown>): Array<[string, string]> {
  const f = facts as {
    hostname?: string;
    os?: { name?: string; version?: string; kernel?: string; arch?: string };
    cpu?: { model?: string; cores?: number; threads?: number };
    memory_bytes?: string | number;
    disks?: Array<{ name?: string; size_bytes?: string | number; model?: string; type?: string }>;
    interfaces?: Array<{ name?: string; mac?: string; addresses?: string[]; state?: string }>;
  };
  const words = (...parts: Array<string | undefined>) => parts.filter(Boolean).join(" ");
  const gib = (bytes: string | number | undefined) => (Number(bytes) > 0 ? `${(Number(bytes) / 2 ** 30).toFixed(1)} GiB` : "");
  return [
    ["hostname", f.hostname ?? ""],
    ["os", words(f.os?.name, f.os?.version, f.os?.kernel ? `(kernel ${f.os.kernel}, ${f.os.arch || "?"})` : f.os?.arch)],
    ["cpu", words(f.cpu?.model, f.cpu?.cores ? `${f.cpu.cores} cores` : undefined, f.cpu?.threads ? `${f.cpu.threads} threads` : undefined)],
    ["memory", gib(f.memory_bytes)],
    ...(f.disks ?? []).map((d): [string, string] => ["disk", words(d.name, gib(d.size_bytes), d.type, d.model)]),
    ...(f.interfaces ?? []).map((i): [string, string] => ["interface", words(i.name, i.mac, i.state, ...(i.addresses ?? []))]),
  ];
}

export function registerMachines(cli: CAC, client: (options: Options) => ApiClient): void {
  cli
    .command("machine list", "List machines, newest first")
    .option("--state <state>", `only machines in this state: ${MACHINE_STATES.join(", ")}`)
    .option("--group <group>", "only machines in this group")
    .option("--label <key=value>", "only machines with this label (key alone: any value)")
    .option("--limit <n>", "at most this many", { default: 50 })
    .action(async (options: Options) => {
      const command = "machine list";
      const query = new URLSearchParams({ limit: String(positiveInteger(options.limit, "limit", command)) });
      const state = oneOf(rawValue(cli, "state", command), MACHINE_STATES, "state", command);
      if (state) query.set("state", state);
      const group = rawValue(cli, "group", command);
      if (group) query.set("group", group);
      const label = rawValue(cli, "label", command);
      if (label) query.set("label", label);
      const { items, next } = await client(options).request<{ items: MachineView[]; next: number | null }>("GET", `/v1/machines?${query}`);
      if (options.json) return printJson(items);
      printTable(
        ["id", "hostname", "state", "macs", "group", "profile", "run", "last seen"],
        items.map((m) => [
          m.id,
          m.hostname,
          m.state,
          m.interfaces.map((i) => i.mac).join(","),
          m.group,
          m.profile,
          m.activeRun ? `${m.activeRun.id} ${m.activeRun.state}` : null,
          age(m.lastSeenAt),
        ]),
      );
      if (next !== null) process.stderr.write(`showing the newest ${items.length}; pass --limit to see more\n`);
    });

  cli.command("machine show <ref>", "Show one machine by id, hostname or MAC").action(async (raw: string, options: Options) => {
    const machine = await client(options).request<MachineView>("GET", ref(raw));
    if (options.json) return printJson(machine);
    describe(machine);
  });

  cli
    .command("machine add", "Add a machine by its MACs (any usual spelling)")
    .option("--mac <mac>", "a MAC address; repeat for each interface (the first is the boot interface)")
    .option("--ip <ip>", "reserve this IPv4 address; repeat to reserve one per --mac, in order")
    .option("--hostname <name>", "host name")
    .option("--serial <serial>", "serial number")
    .option("--arch <arch>", "architecture, e.g. x86_64, aarch64")
    .option("--group <group>", "put it in this group")
    .option("--profile <profile>", "install this profile (else its group's)")
    .option("--label <key=value>", "a label; repeat for more")
    .option("--var <key=value>", "a template variable, JSON when it parses; repeat for more")
    .option("--boot-policy <policy>", `what it boots when no run is active: ${BOOT_POLICIES.join(", ")}`)
    .action(async (options: Options) => {
      const body = machineBody(cli, "machine add");
      if (!body.interfaces) throw new UsageError("give at least one --mac", "machine add");
      const machine = await client(options).request<MachineView>("POST", "/v1/machines", body);
      if (options.json) return printJson(machine);
      process.stdout.write(`machine ${machine.id} added: ${machine.hostname ?? "(no hostname)"} ${machine.interfaces.map((i) => i.mac).join(", ")}\n`);
    });

  cli
    .command("machine set <ref>", "Change a machine: only what you give changes ('' clears a field)")
    .option("--mac <mac>", "replace the interfaces with these MACs; repeat for each")
    .option("--ip <ip>", "with --mac: reserve this IPv4 address for the --mac in the same position")
    .option("--hostname <name>", "host name")
    .option("--serial <serial>", "serial number")
    .option("--arch <arch>", "architecture")
    .option("--group <group>", "move it to this group ('' for none)")
    .option("--profile <profile>", "install this profile ('' to fall back to its group's)")
    .option("--label <key=value>", "replace the labels; repeat for more")
    .option("--var <key=value>", "replace the template variables; repeat for more")
    .option("--boot-policy <policy>", `what it boots when no run is active: ${BOOT_POLICIES.join(", ")}, or '' for the default`)
    .example("goosed machine set node01 --profile rocky9 --group compute")
    .action(async (raw: string, options: Options) => {
      const body = machineBody(cli, "machine set");
      if (Object.values(body).every((v) => v === undefined)) throw new UsageError("nothing to change; give at least one option", "machine set");
      const machine = await client(options).request<MachineView>("PATCH", ref(raw), body);
      if (options.json) return printJson(machine);
      process.stdout.write(`machine ${machine.id} changed: ${machineName(machine)}\n`);
    });

  cli
    .command("machine import <file>", "Import machines from a CSV or JSON file: every row or none")
    .option("--format <format>", "csv or json (default: from the file's extension)")
    .option("--dry-run", "check every row, import nothing")
    .example("goosed machine import rack4.csv --dry-run   # header: hostname,mac,ip,serial,arch,group,profile,labels")
    .example("# mac may hold several MACs split by spaces or ';'; labels are k=v;k=v; JSON is an array of POST /v1/machines bodies")
    .action(async (file: string, options: Options) => {
      const command = "machine import";
      const given = rawValue(cli, "format", command);
      const extension = extname(file).slice(1).toLowerCase();
      if (!given && extension !== "csv" && extension !== "json") throw new UsageError(`cannot tell the format of ${file} from its name; pass --format csv or --format json`, command);
      const format = oneOf(given ?? extension, ["csv", "json"] as const, "format", command);
      const content = readText(file, "file");
      let result: ImportResult;
      try {
        result = await client(options).request<ImportResult>("POST", "/v1/machines/import", { format, content, dryRun: options.dryRun === true });
      } catch (err) {
        throw importFailure(err);
      }
      if (options.json) return printJson(result);
      if (result.dryRun) process.stdout.write(`${result.rows} rows checked, nothing imported (dry run)\n`);
      else process.stdout.write(`imported ${result.created} machines\n`);
    });

  cli
    .command("machine provision <ref>", "Start an install run: the machine's profile, its group's, or --profile")
    .option("--profile <profile>", "install this profile instead")
    .option("--var <key=value>", "a variable for this run only, JSON when it parses; repeat for more")
    .option("--deadline-minutes <n>", "fail the run if it has not finished by then")
    .action(async (raw: string, options: Options) => {
      const command = "machine provision";
      const body = {
        profile: rawValue(cli, "profile", command),
        vars: varsOf(cli, command),
        deadlineMinutes: positiveInteger(options.deadlineMinutes, "deadline-minutes", command),
      };
      const run = await client(options).request<RunView>("POST", `${ref(raw)}/provision`, body);
      if (options.json) return printJson(run);
      process.stdout.write(`run ${run.id} started: ${run.profile} on ${machineName(run.machine)} (${run.state})\n`);
    });

  cli.command("machine cancel <ref>", "Cancel the machine's active run").action(async (raw: string, options: Options) => {
    const run = await client(options).request<RunView>("POST", `${ref(raw)}/cancel`);
    if (options.json) return printJson(run);
    process.stdout.write(`${runLine(run)}\n`);
  });

  cli.command("machine retire <ref>", "Retire a machine: it keeps its history, frees its MACs and boots nothing").action(async (raw: string, options: Options) => {
    const machine = await client(options).request<MachineView>("POST", `${ref(raw)}/retire`);
    if (options.json) return printJson(machine);
    process.stdout.write(`machine ${machine.id} (${machine.hostname ?? "no hostname"}) retired; its MACs are free\n`);
  });

  cli.command("machine facts <ref>", "Show the newest facts the machine's agent reported").action(async (raw: string, options: Options) => {
    const latest = await client(options).request<{ at: string | null; facts: Record<string, unknown> | null }>("GET", `${ref(raw)}/facts`);
    if (options.json) return printJson(latest);
    if (!latest.facts) return void process.stdout.write("no facts yet\n");
    process.stdout.write(`${"reported".padEnd(9)} ${latest.at} (${age(latest.at)})\n`);
    for (const [key, value] of factLines(latest.facts)) process.stdout.write(`${key.padEnd(9)} ${value || "-"}\n`);
  });
}
