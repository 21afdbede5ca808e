// /v1/audit: the audit trail, filtered by actor, action or object, newest first.
import { Type } from "@sinclair/typebox";
import { Elysia } from "elysia";
import type { Core } from "../core/index.ts";
import { pageParams, parseQuery, queryDoc } from "./query.ts";
import { auditView } from "./views.ts";

const ListQuery = Type.Object(
  {
    ...pageParams,
    actor: Type.Optional(Type.String({ minLength: 1, description: "e.g. token:3f9a0c1d2e4b (ops)" })),
    action: Type.Optional(Type.String({ minLength: 1, description: "e.g. token.create" })),
    object: Type.Optional(Type.String({ minLength: 1, description: "e.g. job:42" })),
  },
  { additionalProperties: false },
);

export const auditRoutes = (core: Core) =>
  new Elysia({ prefix: "/v1/audit", tags: ["audit"] }).get("",
    ({ query }) => {
      const q = parseQuery(ListQuery, query);
      const page = core.listAudit({ ...q, limit: q.limit ?? 50 });
      return { items: page.items.map(auditView), next: page.next };
    },
    { detail: { summary: "Audit entries: who changed what, from where", parameters: queryDoc(ListQuery) } },
  );
