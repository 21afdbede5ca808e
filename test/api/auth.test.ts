import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { join } from "node:path";
import { SYSTEM_ACTOR, TokenService } from "../../src/core/index.ts";
import { openTestCore } from "../support/core.ts";
import { api, type RunningGoosed, startGoosed, tempDir } from "../support/goosed.ts";

const dir = tempDir();
let goosed: RunningGoosed;
const tokens: Record<"read" | "write" | "admin", string> = { read: "", write: "", admin: "" };

beforeAll(async () => {
  goosed = await startGoosed({ dataDir: dir.path });
  for (const scope of ["read", "write", "admin"] as const) {
    const response = await api(goosed, "/v1/tokens", { body: { name: `${scope}-bot`, scopes: [scope] } });
    expect(response.status).toBe(201);
    tokens[scope] = ((await response.json()) as { token: string }).token;
  }
});
afterAll(async () => {
  await goosed.stop();
  await dir[Symbol.asyncDispose]();
});

describe("first start", () => {
  test("the admin token file is mode 0600, holds a working admin token, and its location is logged", () => {
    const path = join(dir.path, "admin-token");
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(goosed.token).toMatch(/^gd_[0-9a-f]{12}_[0-9a-f]{64}$/);
    expect(goosed.logs.find((l) => l.message === "admin token created; it is shown nowhere else")).toMatchObject({ path });
  });

  test("only the hash is stored", async () => {
    const { Database } = await import("bun:sqlite");
    const db = new Database(join(dir.path, "goosed.db"), { readonly: true });
    try {
      const dump = JSON.stringify(db.query("SELECT * FROM api_tokens").all());
      for (const token of [goosed.token, ...Object.values(tokens)]) expect(dump).not.toContain(token.split("_")[2]!);
    } finally {
      db.close();
    }
  });
});

describe("scopes", () => {
  const cases = [
    { name: "read lists jobs", scope: "read", method: "GET", path: "/v1/jobs", status: 200 },
    { name: "read cannot start a job", scope: "read", method: "POST", path: "/v1/jobs", status: 403 },
    { name: "read cannot list tokens", scope: "read", method: "GET", path: "/v1/tokens", status: 403 },
    { name: "write starts a job", scope: "write", method: "POST", path: "/v1/jobs", status: 201 },
    { name: "write reads the audit trail", scope: "write", method: "GET", path: "/v1/audit", status: 200 },
    { name: "write cannot create tokens", scope: "write", method: "POST", path: "/v1/tokens", status: 403 },
    { name: "admin lists tokens", scope: "admin", method: "GET", path: "/v1/tokens", status: 200 },
    { name: "admin starts a job", scope: "admin", method: "POST", path: "/v1/jobs", status: 201 },
  ] as const;
  test.each(cases)("$name", async ({ scope, method, path, status }) => {
    const body = method === "POST" ? (path === "/v1/jobs" ? { type: "blobs.verify" } : { name: "x", scopes: ["read"] }) : undefined;
    const response = await api(goosed, path, { method, body, token: tokens[scope] });
    expect(response.status).toBe(status);
  });

  test("a denied request is a security event in the audit trail", async () => {
    await api(goosed, "/v1/tokens", { token: tokens.read });
    const { items } = (await (await api(goosed, "/v1/audit?action=auth.denied&object=GET%20%2Fv1%2Ftokens")).json()) as {
      items: Array<Record<string, unknown>>;
    };
    expect(items[0]).toMatchObject({ action: "auth.denied", object: "GET /v1/tokens", details: { needed: "admin", held: ["read"] }, source: "127.0.0.1" });
    expect(items[0]!.actor).toEndWith("(read-bot)");
  });

  test("a revoked token is refused from then on", async () => {
    const created = (await (await api(goosed, "/v1/tokens", { body: { name: "temp", scopes: ["read"] } })).json()) as { id: string; token: string };
    expect((await api(goosed, "/v1/jobs", { token: created.token })).status).toBe(200);
    const revoked = await api(goosed, `/v1/tokens/${created.id}`, { method: "DELETE" });
    expect(((await revoked.json()) as { revokedAt: string | null }).revokedAt).not.toBeNull();
    expect((await api(goosed, "/v1/jobs", { token: created.token })).status).toBe(401);
    expect((await api(goosed, `/v1/tokens/${created.id}`, { method: "DELETE" })).status).toBe(409);
  });

  test("token listings never carry secrets or hashes", async () => {
    const text = await (await api(goosed, "/v1/tokens")).text();
    expect(text).not.toContain("secret");
    expect(text).not.toContain(goosed.token);
    expect(JSON.parse(text).items.map((t: { name: string }) => t.name)).toEqual(expect.arrayContaining(["admin", "read-bot", "write-bot", "admin-bot"]));
  });
});

test("an expired token is refused", async () => {
  await using t = openTestCore();
  let now = 1_000_000;
  const service = new TokenService(t.core.store.db, () => now);
  const { token } = service.create({ name: "short", scopes: ["read"], ttlSeconds: 60 }, SYSTEM_ACTOR);
  expect(service.authenticate(token)?.name).toBe("short");
  now += 60_000;
  expect(service.authenticate(token)).toBeNull();
});

test("a token with a right id but a wrong secret is refused", async () => {
  await using t = openTestCore();
  const { token } = t.core.tokens.create({ name: "real", scopes: ["admin"] }, SYSTEM_ACTOR);
  const tampered = token.slice(0, -1) + (token.endsWith("0") ? "1" : "0");
  expect(t.core.tokens.authenticate(tampered)).toBeNull();
  expect(t.core.tokens.authenticate(token)?.name).toBe("real");
});
