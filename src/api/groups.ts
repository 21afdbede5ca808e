// /v1/groups: roles with a default profile and variables.
import { Elysia, t } from "elysia";
import type { Core } from "../core/index.ts";
import { actorOf } from "./auth.ts";
import { groupView } from "./views.ts";

const fields = {
  description: t.Optional(t.String({ maxLength: 1024 })),
  profile: t.Optional(t.Nullable(t.String())),
  vars: t.Optional(t.Record(t.String(), t.Unknown())),
};

export const groupsRoutes = (core: Core) =>
  new Elysia({ prefix: "/v1/groups", tags: ["groups"] })
    .get("", () => ({ items: core.groups.list().map(groupView) }), { detail: { summary: "List groups" } })
    .post(
      "",
      (ctx) => {
        const group = core.groups.create(ctx.body, actorOf(ctx));
        ctx.set.status = 201;
        ctx.set.headers.location = `/v1/groups/${group.name}`;
        return groupView(group);
      },
      { body: t.Object({ name: t.String({ minLength: 1, maxLength: 63 }), ...fields }, { additionalProperties: false }), detail: { summary: "Create a group" } },
    )
    .get("/:ref", ({ params }) => groupView(core.groups.get(params.ref)), { detail: { summary: "One group, by id or name" } })
    .patch("/:ref", (ctx) => groupView(core.groups.update(ctx.params.ref, ctx.body, actorOf(ctx))), {
      body: t.Object({ name: t.Optional(t.String({ minLength: 1, maxLength: 63 })), ...fields }, { additionalProperties: false }),
      detail: { summary: "Change a group" },
    })
    .delete(
      "/:ref",
      (ctx) => {
        core.groups.remove(ctx.params.ref, actorOf(ctx));
        ctx.set.status = 204;
      },
      { detail: { summary: "Delete an empty group" } },
    );
