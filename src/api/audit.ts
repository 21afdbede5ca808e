// /v1/audit: the audit trail, filtered by actor, action or object, newest first.
import { Elysia, t } from "elysia";
import type { Core } from "../core/index.ts";
import { pageQuery } from "./paging.ts";
import { auditView } from "./views.ts";

export const auditRoutes = (core: Core) =>
  new Elysia({ prefix: "/v1/audit", tags: ["audit"] }).get("",
    ({ query }) => {
      const page = core.listAudit({ ...query, limit: query.limit ?? 50 });
      return { items: page.items.map(auditView), next: page.next };
    },
    {
      query: t.Object(
        {
          ...pageQuery,
          actor: t.Optional(t.String({ minLength: 1 })),
          action: t.Optional(t.String({ minLength: 1 })),
          object: t.Optional(t.String({ minLength: 1 })),
        },
        { additionalProperties: false },
      ),
      detail: { summary: "Audit entries: who changed what, from where" },
    },
  );
