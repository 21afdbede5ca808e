// /v1/keys: the signers whose bundles this appliance imports. Reading needs `read`; trusting and revoking, `admin`.
import { Elysia, t } from "elysia";
import type { TrustedKey, TrustStore } from "../bundles/index.ts";
import { actorOf } from "./auth.ts";
import { iso } from "./views.ts";

const keyView = (key: TrustedKey) => ({ ...key, addedAt: iso(key.addedAt), revokedAt: iso(key.revokedAt), state: key.revokedAt === null ? "trusted" : "revoked" });

export const keysRoutes = (trust: TrustStore) =>
  new Elysia({ prefix: "/v1/keys", tags: ["bundles"] })
    .get("", () => ({ items: trust.list().map(keyView) }), { detail: { summary: "Bundle signers: trusted and revoked keys" } })
    .post(
      "",
      (ctx) => {
        ctx.set.status = 201;
        return keyView(trust.trust(ctx.body.publicKey, ctx.body.name, actorOf(ctx)));
      },
      {
        body: t.Object(
          {
            name: t.String({ minLength: 1, maxLength: 64, description: "who signs with it, e.g. 'release team'" }),
            publicKey: t.String({ minLength: 1, maxLength: 4096, description: "the signify public key file's text" }),
          },
          { additionalProperties: false },
        ),
        detail: { summary: "Trust a signify public key: bundles it signed can be imported" },
      },
    )
    .delete("/:id", (ctx) => keyView(trust.revoke(ctx.params.id, actorOf(ctx))), {
      params: t.Object({ id: t.String({ pattern: "^[0-9a-f]{16}$" }) }),
      detail: { summary: "Revoke a key: its bundles are refused from now on (bundles already imported stay)" },
    });
