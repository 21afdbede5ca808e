// `goosed jobs list|show|start|cancel`: inspect and steer the job queue of a running appliance.
import type { CAC } from "cac";
import type { ApiClient } from "./client.ts";
import { age, createProgress, printJson, printTable } from "./output.ts";
import { CliError, UsageError } from "./usage.ts";

export interface JobView {
  id: number;
  type: string;
  state: string;
  attempts: number;
  maxAttempts: number;
  error: string | null;
  result: unknown;
  progress: { fraction: number; message: string | null };
  createdAt: string;
  runAt: string;
  finishedAt: string | null;
}

const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);
const WATCH_POLL_MS = 500;

function jobId(raw: string, command: string): number {
  if (!/^\d+$/.test(raw)) throw new UsageError(`job id must be a number, got ${raw}`, command);
  return Number(raw);
}

export async function watchJob(client: ApiClient, id: number): Promise<JobView> {
  const bar = createProgress();
  for (;;) {
    const job = await client.request<JobView>("GET", `/v1/jobs/${id}`);
    bar.update(job.progress.fraction, job.state === "running" ? job.progress.message : job.state);
    if (TERMINAL.has(job.state)) {
      bar.done();
      return job;
    }
    await Bun.sleep(WATCH_POLL_MS);
  }
}

function describe(job: JobView): void {
  const rows: Array<[string, unknown]> = [
    ["id", job.id],
    ["type", job.type],
    ["state", job.state],
    ["attempts", `${job.attempts} of ${job.maxAttempts}`],
    ["progress", `${Math.floor(job.progress.fraction * 100)}% ${job.progress.message ?? ""}`.trim()],
    ["created", `${job.createdAt} (${age(job.createdAt)})`],
    ["finished", job.finishedAt ?? "-"],
    ["error", job.error ?? "-"],
    ["result", job.result === null ? "-" : JSON.stringify(job.result)],
  ];
  for (const [key, value] of rows) process.stdout.write(`${key.padEnd(9)} ${value}\n`);
}

export function registerJobs(cli: CAC, client: (options: Record<string, unknown>) => ApiClient): void {
  cli
    .command("jobs list", "List jobs, newest first")
    .option("--state <state>", "only jobs in this state: queued, running, succeeded, failed, cancelled")
    .option("--type <type>", "only jobs of this type")
    .option("--limit <n>", "at most this many", { default: 50 })
    .action(async (options: Record<string, unknown>) => {
      const query = new URLSearchParams({ limit: String(options.limit) });
      if (options.state) query.set("state", String(options.state));
      if (options.type) query.set("type", String(options.type));
      const { items } = await client(options).request<{ items: JobView[] }>("GET", `/v1/jobs?${query}`);
      if (options.json) return printJson(items);
      printTable(
        ["id", "type", "state", "progress", "attempts", "created", "error"],
        items.map((j) => [j.id, j.type, j.state, `${Math.floor(j.progress.fraction * 100)}%`, `${j.attempts}/${j.maxAttempts}`, age(j.createdAt), j.error]),
      );
    });

  cli
    .command("jobs show <id>", "Show one job; --watch follows its progress until it ends")
    .option("--watch", "follow progress until the job ends; exit 1 unless it succeeded")
    .action(async (raw: string, options: Record<string, unknown>) => {
      const id = jobId(raw, "jobs show");
      const api = client(options);
      const job = options.watch ? await watchJob(api, id) : await api.request<JobView>("GET", `/v1/jobs/${id}`);
      if (options.json) printJson(job);
      else describe(job);
      if (options.watch && job.state !== "succeeded") throw new CliError(`job ${id} ${job.state}${job.error ? `: ${job.error}` : ""}`);
    });

  cli
    .command("jobs start <type>", "Start a job of a type from GET /v1/jobs/types, e.g. blobs.verify")
    .option("--payload <json>", "job payload as JSON", { default: "{}" })
    .option("--watch", "follow progress until the job ends")
    .action(async (type: string, options: Record<string, unknown>) => {
      let payload: unknown;
      try {
        payload = JSON.parse(String(options.payload));
      } catch {
        throw new UsageError(`--payload is not valid JSON: ${options.payload}`, "jobs start");
      }
      const api = client(options);
      const job = await api.request<JobView>("POST", "/v1/jobs", { type, payload });
      if (!options.watch) return options.json ? printJson(job) : process.stdout.write(`job ${job.id} (${job.type}) queued\n`);
      const finished = await watchJob(api, job.id);
      if (options.json) printJson(finished);
      else describe(finished);
      if (finished.state !== "succeeded") throw new CliError(`job ${job.id} ${finished.state}${finished.error ? `: ${finished.error}` : ""}`);
    });

  cli.command("jobs cancel <id>", "Cancel a queued job, or ask a running one to stop").action(async (raw: string, options: Record<string, unknown>) => {
    const job = await client(options).request<JobView>("POST", `/v1/jobs/${jobId(raw, "jobs cancel")}/cancel`);
    if (options.json) return printJson(job);
    process.stdout.write(`job ${job.id} ${job.state === "cancelled" ? "cancelled" : "asked to stop"}\n`);
  });
}
