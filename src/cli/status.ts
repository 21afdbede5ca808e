// `goosed status`: is the appliance up, which services are ready, how busy is the job queue.
import type { CAC } from "cac";
import type { ApiClient } from "./client.ts";
import { printJson } from "./output.ts";
import { CliError } from "./usage.ts";

interface StatusView {
  version: string;
  startedAt: string;
  uptimeSeconds: number;
  dataDir: string;
  schema: string;
  ready: boolean;
  services: Record<string, { ok: boolean; detail: string }>;
  jobs: Record<string, number>;
}

export function registerStatus(cli: CAC, client: (options: Record<string, unknown>) => ApiClient): void {
  cli.command("status", "Show the appliance's version, services and job queue").action(async (options: Record<string, unknown>) => {
    const api = client(options);
    const status = await api.request<StatusView>("GET", "/v1/status");
    if (options.json) printJson(status);
    else {
      const out = process.stdout;
      out.write(`goosed ${status.version} at ${api.baseUrl}, up ${status.uptimeSeconds}s, ${status.ready ? "ready" : "NOT READY"}\n`);
      out.write(`${"data".padEnd(11)} ${status.dataDir} (schema ${status.schema})\n`);
      for (const [name, service] of Object.entries(status.services)) {
        out.write(`${name.padEnd(11)} ${service.ok ? "ok  " : "DOWN"} ${service.detail}\n`);
      }
      out.write(`${"job queue".padEnd(11)} ${Object.entries(status.jobs).map(([state, n]) => `${n} ${state}`).join(", ")}\n`);
    }
    if (!status.ready) throw new CliError("some services are down; see the lines marked DOWN and the appliance log");
  });
}
