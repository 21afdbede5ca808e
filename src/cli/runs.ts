// `goosed run list|show|cancel`: install runs and the transitions that moved them.
import type { CAC } from "cac";
import { RUN_STATES } from "../db/index.ts";
import type { runView } from "../api/views.ts";
import type { ApiClient } from "./client.ts";
import { machineName, runLine } from "./machines.ts";
import { oneOf, positiveInteger, rawValue } from "./options.ts";
import { age, printJson, printTable } from "./output.ts";
import { UsageError } from "./usage.ts";

export type RunView = ReturnType<typeof runView>;

type Options = Record<string, unknown>;

function runId(raw: string, command: string): number {
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new UsageError(`run id must be a number, got ${raw}`, command);
  return Number(raw);
}

function describe(run: RunView): void {
  const rows: Array<[string, unknown]> = [
    ["id", run.id],
    ["machine", `${machineName(run.machine)} (id ${run.machine.id})`],
    ["profile", run.profile],
    ["state", run.state],
    ["vars", Object.keys(run.vars).length ? JSON.stringify(run.vars) : "-"],
    ["created", `${run.createdAt} (${age(run.createdAt)}) by ${run.createdBy}`],
    ["deadline", run.deadlineAt],
    ["finished", run.finishedAt ?? "-"],
    ["error", run.error ?? "-"],
  ];
  for (const [key, value] of rows) process.stdout.write(`${key.padEnd(9)} ${value}\n`);
  process.stdout.write("\n");
  printTable(
    ["at", "from → to", "source", "reason"],
    run.transitions.map((t) => [t.at, `${t.from ?? "-"} → ${t.to}`, t.source, t.reason]),
  );
}

export function registerRuns(cli: CAC, client: (options: Options) => ApiClient): void {
  cli
    .command("run list", "List install runs, newest first")
    .option("--machine <ref>", "only runs of this machine (id, hostname or MAC)")
    .option("--state <state>", `only runs in this state: ${RUN_STATES.join(", ")}`)
    .option("--limit <n>", "at most this many", { default: 50 })
    .action(async (options: Options) => {
      const command = "run list";
      const query = new URLSearchParams({ limit: String(positiveInteger(options.limit, "limit", command)) });
      const machine = rawValue(cli, "machine", command);
      if (machine) query.set("machine", machine);
      const state = oneOf(rawValue(cli, "state", command), RUN_STATES, "state", command);
      if (state) query.set("state", state);
      const { items, next } = await client(options).request<{ items: RunView[]; next: number | null }>("GET", `/v1/runs?${query}`);
      if (options.json) return printJson(items);
      printTable(
        ["id", "machine", "profile", "state", "started", "finished", "error"],
        items.map((r) => [r.id, machineName(r.machine), r.profile, r.state, age(r.createdAt), r.finishedAt ? age(r.finishedAt) : null, r.error]),
      );
      if (next !== null) process.stderr.write(`showing the newest ${items.length}; pass --limit to see more\n`);
    });

  cli.command("run show <id>", "Show one run and every transition, with its time and source").action(async (raw: string, options: Options) => {
    const run = await client(options).request<RunView>("GET", `/v1/runs/${runId(raw, "run show")}`);
    if (options.json) return printJson(run);
    describe(run);
  });

  cli.command("run cancel <id>", "Cancel a run").action(async (raw: string, options: Options) => {
    const run = await client(options).request<RunView>("POST", `/v1/runs/${runId(raw, "run cancel")}/cancel`);
    if (options.json) return printJson(run);
    process.stdout.write(`${runLine(run)}\n`);
  });
}
