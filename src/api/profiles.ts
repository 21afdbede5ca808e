// /v1/profiles: what installs boot and render. Saving renders every template with sample values (422 naming
// template, line and problem); /render shows what one machine would get, to debug a template.
import { Elysia, t } from "elysia";
import type { BootService } from "../boot/index.ts";
import type { Core } from "../core/index.ts";
import { INSTALL_KINDS, OS_FAMILIES } from "../db/index.ts";
import { TEMPLATE_NAMES } from "../render/index.ts";
import { actorOf } from "./auth.ts";
import { profileView } from "./views.ts";
import { oneOf } from "./query.ts";

const fields = {
  description: t.Optional(t.String({ maxLength: 1024 })),
  osFamily: t.Optional(oneOf(OS_FAMILIES)),
  kernel: t.Optional(t.String({ minLength: 1 })),
  initrd: t.Optional(t.Array(t.String({ minLength: 1 }))),
  artifacts: t.Optional(t.Record(t.String(), t.String())),
  cmdline: t.Optional(t.Nullable(t.String({ maxLength: 4096 }))),
  installTemplate: t.Optional(oneOf(INSTALL_KINDS)),
  templates: t.Optional(t.Record(t.String(), t.String())),
  vars: t.Optional(t.Record(t.String(), t.Unknown())),
};

export const profilesRoutes = (core: Core, boot: BootService) =>
  new Elysia({ prefix: "/v1/profiles", tags: ["profiles"] })
    .get("", () => ({ items: core.profiles.list().map(profileView) }), { detail: { summary: "List profiles" } })
    .post(
      "",
      (ctx) => {
        const profile = core.profiles.create(ctx.body, actorOf(ctx));
        ctx.set.status = 201;
        ctx.set.headers.location = `/v1/profiles/${profile.name}`;
        return profileView(profile);
      },
      {
        body: t.Object(
          { ...fields, name: t.String({ minLength: 1, maxLength: 63 }), osFamily: oneOf(OS_FAMILIES), kernel: t.String({ minLength: 1 }) },
          { additionalProperties: false },
        ),
        detail: { summary: "Create a profile; every template it uses must render" },
      },
    )
    .get("/:ref", ({ params }) => profileView(core.profiles.get(params.ref)), { detail: { summary: "One profile, by id or name" } })
    .patch("/:ref", (ctx) => profileView(core.profiles.update(ctx.params.ref, ctx.body, actorOf(ctx))), {
      body: t.Object({ ...fields, name: t.Optional(t.String({ minLength: 1, maxLength: 63 })) }, { additionalProperties: false }),
      detail: { summary: "Change a profile; every template it uses must still render" },
    })
    .post(
      "/:ref/render",
      (ctx) => {
        ctx.set.headers["content-type"] = "text/plain; charset=utf-8";
        return boot.preview(ctx.params.ref, ctx.body.machine, ctx.body.template, new URL(ctx.request.url).origin);
      },
      {
        body: t.Object({ machine: t.String({ minLength: 1 }), template: oneOf(TEMPLATE_NAMES) }, { additionalProperties: false }),
        detail: { summary: "Render one of a profile's templates for a machine, with a placeholder token; nothing is issued or changed" },
      },
    );
