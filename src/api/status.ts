// /v1/status: one call that tells an operator (and `goosed status`) how the appliance is doing.
import { Elysia } from "elysia";
import type { Core, Readiness } from "../core/index.ts";
import { iso } from "./views.ts";

export interface StatusDeps {
  core: Core;
  readiness: Readiness;
  version: string;
  startedAt: number;
}

export const statusRoutes = (deps: StatusDeps) =>
  new Elysia({ prefix: "/v1/status", tags: ["system"] }).get("",
    () => {
      const report = deps.readiness.report();
      return {
        version: deps.version,
        startedAt: iso(deps.startedAt),
        uptimeSeconds: Math.round((Date.now() - deps.startedAt) / 1000),
        dataDir: deps.core.store.dataDir,
        schema: deps.core.store.migrations.current,
        ready: report.ready,
        services: report.services,
        jobs: deps.core.jobs.counts(),
        machines: deps.core.machines.countByState(),
      };
    },
    { detail: { summary: "Version, uptime, services, and job and machine counts" } },
  );
