// /v1/jobs: list, inspect, start and cancel jobs.
import { Type } from "@sinclair/typebox";
import { Elysia, t } from "elysia";
import { type Core, JOB_STATES } from "../core/index.ts";
import { actorOf } from "./auth.ts";
import { pageParams, parseQuery, queryDoc } from "./query.ts";
import { jobView } from "./views.ts";

const ListQuery = Type.Object(
  { ...pageParams, state: Type.Optional(Type.Union(JOB_STATES.map((s) => Type.Literal(s)))), type: Type.Optional(Type.String({ minLength: 1 })) },
  { additionalProperties: false },
);

export const jobsRoutes = (core: Core) =>
  new Elysia({ prefix: "/v1/jobs", tags: ["jobs"] })
    .get("",
      ({ query }) => {
        const q = parseQuery(ListQuery, query);
        const page = core.jobs.list({ ...q, limit: q.limit ?? 50 });
        return { items: page.items.map(jobView), next: page.next };
      },
      { detail: { summary: "List jobs, newest first", parameters: queryDoc(ListQuery) } },
    )
    .get(
      "/types",
      () =>
        core.jobs
          .types()
          .filter((d) => d.operatorStartable)
          .map((d) => ({ type: d.type, description: d.description, concurrency: d.concurrency, payload: d.payload })),
      { detail: { summary: "Job types an operator may start, with their payload schemas" } },
    )
    .get("/:id", ({ params }) => jobView(core.jobs.get(params.id)), {
      params: t.Object({ id: t.Integer({ minimum: 1 }) }),
      detail: { summary: "One job with its progress, result or error" },
    })
    .post("",
      (ctx) => {
        const job = core.jobs.enqueue(ctx.body.type, ctx.body.payload ?? {}, actorOf(ctx), { operator: true });
        ctx.set.status = 201;
        ctx.set.headers.location = `/v1/jobs/${job.id}`;
        return jobView(job);
      },
      {
        body: t.Object(
          { type: t.String({ minLength: 1 }), payload: t.Optional(t.Record(t.String(), t.Unknown())) },
          { additionalProperties: false },
        ),
        detail: { summary: "Start a job (see /v1/jobs/types)" },
      },
    )
    .post(
      "/:id/cancel",
      (ctx) => {
        return jobView(core.jobs.cancel(ctx.params.id, actorOf(ctx)));
      },
      {
        params: t.Object({ id: t.Integer({ minimum: 1 }) }),
        detail: { summary: "Cancel a queued job now, or ask a running one to stop" },
      },
    );
