// /v1/runs: install runs with their transitions.
import { Type } from "@sinclair/typebox";
import { Elysia, t } from "elysia";
import type { Core } from "../core/index.ts";
import { RUN_STATES } from "../db/index.ts";
import { actorOf } from "./auth.ts";
import { pageParams, parseQuery, queryDoc } from "./query.ts";
import { runView } from "./views.ts";

const ListQuery = Type.Object(
  { ...pageParams, state: Type.Optional(Type.Union(RUN_STATES.map((s) => Type.Literal(s)))), machine: Type.Optional(Type.String({ minLength: 1 })) },
  { additionalProperties: false },
);

export const runsRoutes = (core: Core) =>
  new Elysia({ prefix: "/v1/runs", tags: ["runs"] })
    .get(
      "",
      ({ query }) => {
        const q = parseQuery(ListQuery, query);
        const page = core.runs.list({ ...q, limit: q.limit ?? 50 });
        return { items: page.items.map(runView), next: page.next };
      },
      { detail: { summary: "List runs, newest first", parameters: queryDoc(ListQuery) } },
    )
    .get("/:id", ({ params }) => runView(core.runs.get(params.id)), {
      params: t.Object({ id: t.Integer({ minimum: 1 }) }),
      detail: { summary: "One run with every transition, its time and source" },
    })
    .post("/:id/cancel", (ctx) => runView(core.runs.cancel(ctx.params.id, actorOf(ctx))), {
      params: t.Object({ id: t.Integer({ minimum: 1 }) }),
      detail: { summary: "Cancel a run" },
    });
