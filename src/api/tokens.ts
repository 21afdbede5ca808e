// /v1/tokens: create, list and revoke API tokens (admin scope).
import { Elysia, t } from "elysia";
import { type Core, SCOPES } from "../core/index.ts";
import type { Principal } from "./auth.ts";
import { tokenView } from "./views.ts";

export const tokensRoutes = (core: Core) =>
  new Elysia({ prefix: "/v1/tokens", tags: ["tokens"] })
    .get("", () => ({ items: core.tokens.list().map(tokenView) }), { detail: { summary: "List API tokens (never their secrets)" } })
    .post("",
      (ctx) => {
        const { principal } = ctx as typeof ctx & { principal: Principal };
        const { token, record } = core.tokens.create(ctx.body, principal.actor);
        ctx.set.status = 201;
        ctx.set.headers.location = `/v1/tokens/${record.id}`;
        return { ...tokenView(record), token };
      },
      {
        body: t.Object(
          {
            name: t.String({ minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9][A-Za-z0-9._ -]*$" }),
            scopes: t.Array(t.UnionEnum(SCOPES), { minItems: 1 }),
            ttlSeconds: t.Optional(t.Integer({ minimum: 60, description: "token expires after this many seconds" })),
          },
          { additionalProperties: false },
        ),
        detail: { summary: "Create a token; its secret is returned once, in `token`" },
      },
    )
    .delete(
      "/:id",
      (ctx) => {
        const { principal } = ctx as typeof ctx & { principal: Principal };
        return tokenView(core.tokens.revoke(ctx.params.id, principal.actor));
      },
      { params: t.Object({ id: t.String({ pattern: "^[0-9a-f]{12}$" }) }), detail: { summary: "Revoke a token" } },
    );
