import { describe, expect, test } from "bun:test";
import { Type } from "@sinclair/typebox";
import { backoffDelayMs, defineJob, PermanentJobError, SYSTEM_ACTOR } from "../../src/core/index.ts";
import { openStore } from "../../src/db/index.ts";
import { openTestCore, type TestCore } from "../support/core.ts";

const payload = Type.Object({ n: Type.Optional(Type.Integer()) }, { additionalProperties: false });

/** A latch a handler waits on, so a test decides exactly when a running job may go on. */
function latch() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

/** Registers a job type that runs until its AbortSignal fires; `opened` resolves once one has started. */
function registerUntilAborted(t: TestCore, type: string) {
  const started = latch();
  t.core.jobs.register(
    defineJob({
      type,
      description: "runs until aborted",
      payload,
      concurrency: 1,
      operatorStartable: false,
      async run(_p, ctx) {
        started.open();
        await new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)));
      },
    }),
  );
  return started;
}

describe("backoffDelayMs", () => {
  test.each([
    { name: "first retry, no jitter", attempt: 1, random: 0, expected: 500 },
    { name: "first retry, full jitter", attempt: 1, random: 1, expected: 1000 },
    { name: "third retry doubles twice", attempt: 3, random: 0.5, expected: 3000 },
    { name: "capped at the maximum", attempt: 20, random: 1, expected: 60_000 },
  ])("$name", ({ attempt, random, expected }) => {
    expect(backoffDelayMs(attempt, 1000, 60_000, () => random)).toBe(expected);
  });
});

describe("job queue", () => {
  test("a failing job is retried with exponential backoff and jitter, then succeeds", async () => {
    await using t = openTestCore({ jobsBackoffBaseMs: "40", jobsPollIntervalMs: "10" });
    let calls = 0;
    const failedAt: number[] = [];
    t.core.jobs.register(
      defineJob({
        type: "test.flaky",
        description: "fails twice",
        payload,
        concurrency: 1,
        operatorStartable: false,
        async run() {
          calls++;
          if (calls < 3) {
            failedAt.push(Date.now());
            throw new Error(`flake ${calls}`);
          }
          return { calls };
        },
      }),
    );
    t.core.start();
    const job = t.core.jobs.enqueue("test.flaky", {}, SYSTEM_ACTOR);
    const done = await t.waitForEvent((e) => e.subject === `job:${job.id}` && e.type === "job.succeeded");
    const retries = t.events.filter((e) => e.subject === `job:${job.id}` && e.type === "job.retry");
    expect(retries.map((e) => [e.data.attempt, e.data.error])).toEqual([
      [1, "flake 1"],
      [2, "flake 2"],
    ]);
    // Each retry waits between half and all of base·2^(attempt-1) after the failure. The delay is counted from when
    // the attempt settled, which lies between the throw and the retry event: measured from the throw it can only look
    // longer, from the event only shorter, so each bound is checked from the side where it must hold.
    for (const [i, retry] of retries.entries()) {
      const ceiling = 40 * 2 ** ((retry.data.attempt as number) - 1);
      const runAt = retry.data.runAt as number;
      expect(runAt - failedAt[i]!).toBeGreaterThanOrEqual(ceiling / 2);
      expect(runAt - retry.at).toBeLessThanOrEqual(ceiling);
    }
    expect(done.data).toMatchObject({ state: "succeeded", attempt: 3 });
    expect(t.core.jobs.get(job.id)).toMatchObject({ state: "succeeded", attempts: 3, result: { calls: 3 }, progress: 1, error: null });
  });

  test("attempts run out: the job fails for good with the last error", async () => {
    await using t = openTestCore({ jobsBackoffBaseMs: "1", jobsPollIntervalMs: "10", jobsMaxAttempts: "2" });
    t.core.jobs.register(
      defineJob({ type: "test.broken", description: "", payload, concurrency: 1, operatorStartable: false, run: async () => Promise.reject(new Error("disk on fire")) }),
    );
    t.core.start();
    const job = t.core.jobs.enqueue("test.broken", {}, SYSTEM_ACTOR);
    await t.waitForEvent((e) => e.subject === `job:${job.id}` && e.type === "job.failed");
    expect(t.core.jobs.get(job.id)).toMatchObject({ state: "failed", attempts: 2, error: "disk on fire" });
  });

  test("a permanent error fails the job without retrying", async () => {
    await using t = openTestCore({ jobsPollIntervalMs: "10" });
    t.core.jobs.register(
      defineJob({ type: "test.bad-input", description: "", payload, concurrency: 1, operatorStartable: false, run: async () => Promise.reject(new PermanentJobError("no such image")) }),
    );
    t.core.start();
    const job = t.core.jobs.enqueue("test.bad-input", {}, SYSTEM_ACTOR);
    await t.waitForEvent((e) => e.subject === `job:${job.id}` && e.type === "job.failed");
    expect(t.core.jobs.get(job.id)).toMatchObject({ state: "failed", attempts: 1, error: "no such image" });
    expect(t.events.some((e) => e.type === "job.retry")).toBe(false);
  });

  test("progress is stored on the job and published as events, throttled", async () => {
    await using t = openTestCore({ jobsPollIntervalMs: "10" });
    const gate = latch();
    t.core.jobs.register(
      defineJob({
        type: "test.progress",
        description: "",
        payload,
        concurrency: 1,
        operatorStartable: false,
        async run(_p, ctx) {
          for (let i = 1; i <= 1000; i++) ctx.progress(i / 2000, `step ${i}`);
          await gate.opened;
          return null;
        },
      }),
    );
    t.core.start();
    const job = t.core.jobs.enqueue("test.progress", {}, SYSTEM_ACTOR);
    const last = await t.waitForEvent((e) => e.type === "job.progress" && e.data.message === "step 1000");
    expect(last.data).toMatchObject({ id: job.id, fraction: 0.5 });
    expect(t.core.jobs.get(job.id)).toMatchObject({ state: "running", progress: 0.5, progressMessage: "step 1000" });
    // A thousand calls in one tick become at most two writes: the first at once, the last after the throttle.
    expect(t.events.filter((e) => e.type === "job.progress").length).toBeLessThanOrEqual(2);
    gate.open();
    await t.waitForEvent((e) => e.subject === `job:${job.id}` && e.type === "job.succeeded");
    expect(t.core.jobs.get(job.id).progress).toBe(1);
  });

  test("cancel: a queued job ends at once, a running one through its AbortSignal", async () => {
    await using t = openTestCore({ jobsPollIntervalMs: "10" });
    const started = registerUntilAborted(t, "test.long");
    t.core.start();
    const running = t.core.jobs.enqueue("test.long", {}, SYSTEM_ACTOR);
    const queued = t.core.jobs.enqueue("test.long", {}, SYSTEM_ACTOR);
    await started.opened;
    expect(t.core.jobs.cancel(queued.id, SYSTEM_ACTOR)).toMatchObject({ state: "cancelled" });
    expect(t.core.jobs.cancel(running.id, SYSTEM_ACTOR)).toMatchObject({ state: "running", cancelRequested: true });
    await t.waitForEvent((e) => e.subject === `job:${running.id}` && e.type === "job.cancelled");
    expect(t.core.jobs.get(running.id)).toMatchObject({ state: "cancelled", attempts: 1 });
    expect(t.core.jobs.get(queued.id)).toMatchObject({ state: "cancelled", attempts: 0 });
    expect(() => t.core.jobs.cancel(running.id, SYSTEM_ACTOR)).toThrow("job " + running.id + " is cancelled");
  });

  test("per-type concurrency: never more than the limit at once", async () => {
    await using t = openTestCore({ jobsPollIntervalMs: "10" });
    let active = 0;
    let peak = 0;
    t.core.jobs.register(
      defineJob({
        type: "test.pair",
        description: "",
        payload,
        concurrency: 2,
        operatorStartable: false,
        async run() {
          active++;
          peak = Math.max(peak, active);
          await Bun.sleep(5);
          active--;
        },
      }),
    );
    t.core.start();
    const ids = Array.from({ length: 8 }, () => t.core.jobs.enqueue("test.pair", {}, SYSTEM_ACTOR).id);
    for (const id of ids) await t.waitForEvent((e) => e.subject === `job:${id}` && e.type === "job.succeeded");
    expect(peak).toBe(2);
  });

  test("unknown types and payloads that do not fit are refused with each field named", async () => {
    await using t = openTestCore();
    t.core.jobs.register(defineJob({ type: "test.typed", description: "", payload, concurrency: 1, operatorStartable: false, run: async () => null }));
    expect(() => t.core.jobs.enqueue("test.nope", {}, SYSTEM_ACTOR)).toThrow('unknown job type "test.nope"');
    try {
      t.core.jobs.enqueue("test.typed", { n: "x", extra: 1 }, SYSTEM_ACTOR);
      throw new Error("expected a validation error");
    } catch (err) {
      expect((err as { errors: unknown }).errors).toEqual([
        { path: "/payload/extra", message: "Unexpected property" },
        { path: "/payload/n", message: "Expected integer" },
      ]);
    }
    // An internal type is not startable by an operator.
    expect(() => t.core.jobs.enqueue("test.typed", {}, SYSTEM_ACTOR, { operator: true })).toThrow('unknown job type "test.typed"');
  });

  test("recovery at start: a job left running by a dead process runs again; one out of attempts fails", async () => {
    await using t = openTestCore({ jobsPollIntervalMs: "10", jobsMaxAttempts: "2" });
    const { db } = t.core.store;
    const { jobs } = await import("../../src/db/index.ts");
    const at = Date.now();
    const base = { type: "test.resume", payload: {}, maxAttempts: 2, runAt: at, createdBy: "test", createdAt: at, updatedAt: at };
    const [again, exhausted, cancelling] = db
      .insert(jobs)
      .values([
        { ...base, state: "running", attempts: 1 },
        { ...base, state: "running", attempts: 2 },
        { ...base, state: "running", attempts: 1, cancelRequested: true },
      ])
      .returning()
      .all();
    let runs = 0;
    t.core.jobs.register(defineJob({ type: "test.resume", description: "", payload, concurrency: 1, operatorStartable: false, run: async () => ++runs }));
    t.core.start();
    await t.waitForEvent((e) => e.subject === `job:${again!.id}` && e.type === "job.succeeded");
    expect(t.core.jobs.get(again!.id)).toMatchObject({ state: "succeeded", attempts: 2 });
    expect(t.core.jobs.get(exhausted!.id)).toMatchObject({ state: "failed", error: "interrupted on its last attempt: goosed stopped while it ran" });
    expect(t.core.jobs.get(cancelling!.id)).toMatchObject({ state: "cancelled" });
    expect(runs).toBe(1);
  });

  test("shutdown past the grace period aborts running jobs and gives their attempt back", async () => {
    const t = openTestCore({ jobsPollIntervalMs: "10" });
    const started = registerUntilAborted(t, "test.stubborn");
    t.core.start();
    const job = t.core.jobs.enqueue("test.stubborn", {}, SYSTEM_ACTOR);
    await started.opened;
    await t.core.stop(20);
    expect(t.core.jobs.get(job.id)).toMatchObject({ state: "queued", attempts: 0 });
    await t[Symbol.asyncDispose]();
  });
});

test("a second process cannot open a data directory in use", async () => {
  await using t = openTestCore();
  expect(() => openStore(t.dataDir)).toThrow(`${t.dataDir} is in use by another goosed process`);
});
