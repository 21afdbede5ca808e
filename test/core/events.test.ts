import { expect, test } from "bun:test";
import { EventBus } from "../../src/core/index.ts";
import { openTestCore } from "../support/core.ts";

test("publish persists before it fans out, and since() pages in id order", async () => {
  await using t = openTestCore();
  const seen: number[] = [];
  const bus = new EventBus(t.core.store);
  const unsubscribe = bus.subscribe((e) => seen.push(bus.since(e.id - 1, 1)[0]!.id));
  const ids = [bus.publish("job.queued", "job:1", { id: 1 }).id, bus.publish("job.started", "job:1").id];
  unsubscribe();
  bus.publish("job.succeeded", "job:1");
  expect(seen).toEqual(ids);
  expect(bus.since(0, 2).map((e) => [e.type, e.subject])).toEqual([
    ["job.queued", "job:1"],
    ["job.started", "job:1"],
  ]);
});

test("prune keeps the newest retainCount events and drops those older than retainHours", async () => {
  await using t = openTestCore();
  let now = 10 * 3_600_000;
  const bus = new EventBus(t.core.store, () => now);
  for (let i = 0; i < 5; i++) bus.publish("old", `x:${i}`);
  now += 3 * 3_600_000;
  for (let i = 0; i < 150; i++) bus.publish("new", `y:${i}`);
  expect(bus.prune({ retainCount: 1000, retainHours: 2 })).toBe(5);
  expect(bus.oldestId()).toBe(6);
  expect(bus.prune({ retainCount: 100, retainHours: 2 })).toBe(50);
  expect(bus.since(0, 1000).map((e) => e.subject)).toEqual(Array.from({ length: 100 }, (_, i) => `y:${i + 50}`));
});
