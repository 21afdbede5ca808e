// /v1/tokens: create, list and revoke API tokens (admin scope).
import { Elysia, t } from "elysia";
import { type Core, SCOPES } from "../core/index.ts";
import { actorOf } from "./auth.ts";
import { tokenView } from "./views.ts";
import { oneOf } from "./query.ts";

export const tokensRoutes = (core: Core) =>
  new Elysia({ prefix: "/v1/tokens", tags: ["tokens"] })
    .get("", () => ({ items: core.tokens.list().map(tokenView) }), { detail: { summary: "List API tokens (never their secrets)" } })
    .post("",
      (ctx) => {
        const { token, record } = core.tokens.create(ctx.body, actorOf(ctx));
        ctx.set.status = 201;
        ctx.set.headers.location = `/v1/tokens/${record.id}`;
        return { ...tokenView(record), token };
      },
      {
        body: t.Object(
          {
            name: t.String({ minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9][A-Za-z0-9._ -]*$" }),
            scopes: t.Array(oneOf(SCOPES), { minItems: 1 }),
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
        return tokenView(core.tokens.revoke(ctx.params.id, actorOf(ctx)));
      },
      { params: t.Object({ id: t.String({ pattern: "^[0-9a-f]{12}$" }) }), detail: { summary: "Revoke a token" } },
    );
