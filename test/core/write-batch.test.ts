import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { join } from "node:path";
import { events } from "../../src/db/index.ts";
import { openTestCore } from "../support/core.ts";

test("concurrent writes share one commit, and each resolves only once it is on disk", async () => {
  await using t = openTestCore();
  const { batch } = t.core;
  const before = batch.stats;
  const other = new Database(join(t.dataDir, "goosed.db"), { readonly: true });
  const ids = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      batch.write((tx) => tx.insert(events).values({ at: i, type: "test.batch", subject: `s${i}`, data: {} }).returning({ id: events.id }).get().id),
    ),
  );
  // A second connection sees every row the moment the promises resolve: they were committed, not just queued.
  const seen = other.query("SELECT count(*) AS n FROM events WHERE type = 'test.batch'").get() as { n: number };
  other.close();
  expect(seen.n).toBe(50);
  expect(new Set(ids).size).toBe(50);
  expect(batch.stats.flushes - before.flushes).toBe(1);
  expect(batch.stats.writes - before.writes).toBe(50);
});

test("a write that throws is rolled back and rejected alone; its neighbours commit", async () => {
  await using t = openTestCore();
  const { batch } = t.core;
  let committed = 0;
  const results = await Promise.allSettled([
    batch.write((tx) => tx.insert(events).values({ at: 1, type: "test.ok", subject: "a", data: {} }).run()),
    batch.write((tx) => {
      tx.insert(events).values({ at: 2, type: "test.bad", subject: "b", data: {} }).run();
      batch.onCommit(() => committed++);
      throw new Error("refused");
    }),
    batch.write((tx) => {
      tx.insert(events).values({ at: 3, type: "test.ok", subject: "c", data: {} }).run();
      batch.onCommit(() => committed++);
    }),
  ]);
  expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
  expect((results[1] as PromiseRejectedResult).reason.message).toBe("refused");
  const types = t.core.store.sqlite.query("SELECT type FROM events WHERE type LIKE 'test.%' ORDER BY id").all() as Array<{ type: string }>;
  expect(types.map((r) => r.type)).toEqual(["test.ok", "test.ok"]);
  // Only the surviving write's after-commit callback ran.
  expect(committed).toBe(1);
});
