import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { LocalBlobBackend } from "../../src/objects/index.ts";
import { api, type RunningGoosed, startGoosed, tempDir } from "../support/goosed.ts";

const dir = tempDir();
let goosed: RunningGoosed;

beforeAll(async () => {
  // One blob, verified at 1 KB/s: the first job stays running until it is cancelled.
  await new LocalBlobBackend(join(dir.path, "blobs")).put(new Blob([new Uint8Array(64 * 1024).fill(7)]).stream());
  goosed = await startGoosed({ dataDir: dir.path });
});
afterAll(async () => {
  await goosed.stop();
  await dir[Symbol.asyncDispose]();
});

interface AuditItem {
  id: number;
  at: string;
  actor: string;
  action: string;
  object: string;
  details: Record<string, unknown>;
  source: string | null;
  requestId: string | null;
}

const audit = async (query = "") => (await (await api(goosed, `/v1/audit${query}`)).json()) as { items: AuditItem[]; next: number | null };

test("every mutation leaves an audit row with actor, action, object, details, source, request id and time", async () => {
  const created = await api(goosed, "/v1/tokens", { body: { name: "ci", scopes: ["write"] } });
  const token = (await created.json()) as { id: string; token: string };
  const job = (await (await api(goosed, "/v1/jobs", { token: token.token, body: { type: "blobs.verify", payload: { maxBytesPerSecond: 1000 } } })).json()) as { id: number };
  const cancelled = await api(goosed, `/v1/jobs/${job.id}/cancel`, { method: "POST", token: token.token });
  expect(cancelled.status).toBe(200);
  const revoked = await api(goosed, `/v1/tokens/${token.id}`, { method: "DELETE" });

  const { items } = await audit();
  const admin = items.find((i) => i.action === "token.create" && i.details.firstStart === undefined && i.object === `token:${token.id}`);
  expect(admin).toMatchObject({
    object: `token:${token.id}`,
    details: { name: "ci", scopes: ["write"], expiresAt: null },
    source: "127.0.0.1",
    requestId: created.headers.get("x-request-id"),
  });
  expect(admin!.actor).toMatch(/^token:[0-9a-f]{12} \(admin\)$/);
  expect(Date.parse(admin!.at)).toBeGreaterThan(Date.now() - 60_000);
  const ciActor = `token:${token.id} (ci)`;
  expect(items.find((i) => i.action === "job.create")).toMatchObject({ actor: ciActor, object: `job:${job.id}`, details: { type: "blobs.verify", payload: { maxBytesPerSecond: 1000 } } });
  expect(items.find((i) => i.action === "job.cancel")).toMatchObject({ actor: ciActor, object: `job:${job.id}`, requestId: cancelled.headers.get("x-request-id") });
  expect(items.find((i) => i.action === "token.revoke")).toMatchObject({ object: `token:${token.id}`, requestId: revoked.headers.get("x-request-id") });
});

test("reads leave no audit rows", async () => {
  const before = (await audit()).items.length;
  await api(goosed, "/v1/jobs");
  await api(goosed, "/v1/tokens");
  expect((await audit()).items.length).toBe(before);
});

test("filters by actor, action and object, and pages newest first", async () => {
  for (let i = 0; i < 5; i++) await api(goosed, "/v1/jobs", { body: { type: "blobs.verify" } });
  const creates = await audit("?action=job.create");
  expect(creates.items.length).toBeGreaterThanOrEqual(5);
  expect(creates.items.every((i) => i.action === "job.create")).toBe(true);

  const first = await audit("?action=job.create&limit=2");
  expect(first.items).toHaveLength(2);
  expect(first.items[0]!.id).toBeGreaterThan(first.items[1]!.id);
  const second = await audit(`?action=job.create&limit=2&before=${first.next}`);
  expect(second.items[0]!.id).toBeLessThan(first.items[1]!.id);
  expect([...first.items, ...second.items].map((i) => i.id)).toEqual(creates.items.slice(0, 4).map((i) => i.id));

  const one = creates.items[0]!;
  expect((await audit(`?object=${encodeURIComponent(one.object)}`)).items.map((i) => i.id)).toEqual([one.id]);
  const byActor = await audit(`?actor=${encodeURIComponent(one.actor)}`);
  expect(byActor.items.every((i) => i.actor === one.actor)).toBe(true);
  expect((await audit("?actor=nobody")).items).toEqual([]);
});
