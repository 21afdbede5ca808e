// `goosed keys generate|trust|list|revoke` against a real goosed: signify-format files, the trust store, scopes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readPublicKey, readSecretKey } from "../../src/bundles/signify.ts";
import { api } from "../support/goosed.ts";
import { type CliHarness, startCli } from "./harness.ts";

let h: CliHarness;
let keyId = "";

beforeAll(async () => {
  h = await startCli();
});
afterAll(async () => {
  await h[Symbol.asyncDispose]();
});

describe("goosed keys", () => {
  test("generate writes a signify key pair, the secret 0600, and never overwrites one", async () => {
    const prefix = join(h.dir.path, "release");
    const made = await h.json<{ keyId: string; publicKey: string; secretKey: string }>("keys", "generate", prefix, "--comment", "release team");
    keyId = made.keyId;
    expect(keyId).toMatch(/^[0-9a-f]{16}$/);
    expect(statSync(`${prefix}.sec`).mode & 0o777).toBe(0o600);
    const pub = readPublicKey(readFileSync(`${prefix}.pub`, "utf8"));
    const sec = readSecretKey(readFileSync(`${prefix}.sec`, "utf8"));
    expect([pub.ok && pub.value.keyId, sec.ok && sec.value.keyId]).toEqual([keyId, keyId]);
    const again = await h.cli("keys", "generate", prefix);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("exists");
    expect(readPublicKey(readFileSync(`${prefix}.pub`, "utf8"))).toEqual(pub);
  });

  test("trust adds the key, list shows it, trusting it twice is one clear line", async () => {
    const trusted = await h.cli("keys", "trust", join(h.dir.path, "release.pub"), "--name", "release team");
    expect(trusted.stdout).toBe(`key ${keyId} (release team) trusted\n`);
    const listed = await h.json<Array<{ keyId: string; name: string; state: string }>>("keys", "list");
    expect(listed).toEqual([expect.objectContaining({ keyId, name: "release team", state: "trusted" })]);
    const twice = await h.cli("keys", "trust", join(h.dir.path, "release.pub"));
    expect(twice.code).toBe(1);
    expect(twice.stderr).toBe(`goosed: key ${keyId} is already trusted as release team\n`);
  });

  test("a file that is not a public key is refused with the reason and what to give instead", async () => {
    const bogus = join(h.dir.path, "bogus.pub");
    writeFileSync(bogus, "hello\n");
    const refused = await h.cli("keys", "trust", bogus);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("not a signify file");
    const secret = await h.cli("keys", "trust", join(h.dir.path, "release.sec"));
    expect(secret.code).toBe(1);
    expect(secret.stderr).toContain("cannot be trusted");
  });

  test("a read token lists signers but cannot trust or revoke one", async () => {
    const { token } = (await (await api(h.goosed, "/v1/tokens", { body: { name: "viewer", scopes: ["read"] } })).json()) as { token: string };
    expect((await api(h.goosed, "/v1/keys", { token })).status).toBe(200);
    const publicKey = readFileSync(join(h.dir.path, "release.pub"), "utf8");
    expect((await api(h.goosed, "/v1/keys", { token, body: { name: "x", publicKey } })).status).toBe(403);
    expect((await api(h.goosed, `/v1/keys/${keyId}`, { token, method: "DELETE" })).status).toBe(403);
  });

  test("revoke marks the key revoked; a revoked key is not trusted again", async () => {
    expect((await h.cli("keys", "revoke", keyId)).stdout).toBe(`key ${keyId} (release team) revoked\n`);
    expect((await h.json<Array<{ state: string }>>("keys", "list"))[0]!.state).toBe("revoked");
    const again = await h.cli("keys", "trust", join(h.dir.path, "release.pub"));
    expect(again.stderr).toContain("was revoked");
  });
});

test.each<[string, (key: Buffer) => void]>([
  ["the all-zero point (order 4)", () => {}],
  ["the identity", (key) => (key[0] = 1)],
  ["a point of order 2 (y = -1)", (key) => { key.fill(0xff); key[0] = 0xec; key[31] = 0x7f; }],
  ["an order-8 point", (key) => key.set(Buffer.from("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", "hex"))],
])("a small-order public key is not trusted: %s", async (_name, shape) => {
  const point = Buffer.alloc(32);
  shape(point);
  const path = join(h.dir.path, "weak.pub");
  writeFileSync(path, `untrusted comment: weak public key\n${Buffer.concat([Buffer.from("Ed"), Buffer.alloc(8, 7), point]).toString("base64")}\n`);
  const refused = await h.cli("keys", "trust", path);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain("small-order point");
});
