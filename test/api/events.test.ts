import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { api, type RunningGoosed, startGoosed, tempDir } from "../support/goosed.ts";
import { dataOf, SseReader } from "../support/sse.ts";

const dir = tempDir();
let goosed: RunningGoosed;

beforeAll(async () => {
  goosed = await startGoosed({ dataDir: dir.path });
});
afterAll(async () => {
  expect(await goosed.stop()).toBe(0);
  await dir[Symbol.asyncDispose]();
});

const open = (query = "", headers: Record<string, string> = {}) =>
  SseReader.open(`${goosed.url}/v1/events${query}`, { authorization: `Bearer ${goosed.token}`, ...headers });

async function startJob(): Promise<number> {
  const response = await api(goosed, "/v1/jobs", { body: { type: "blobs.verify" } });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: number }).id;
}

describe("GET /v1/events", () => {
  test("requires a token like every /v1 route", async () => {
    const response = await fetch(`${goosed.url}/v1/events`);
    expect(response.status).toBe(401);
  });

  test("delivers a job's events live, in order, with ids", async () => {
    await using stream = await open();
    const id = await startJob();
    await stream.waitFor((f) => f.event === "job.succeeded" && dataOf(f).subject === `job:${id}`);
    const mine = stream.frames.filter((f) => f.data && dataOf(f).subject === `job:${id}`);
    expect(mine.map((f) => f.event)).toEqual(["job.queued", "job.started", "job.progress", "job.succeeded"]);
    const ids = mine.map((f) => Number(f.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(dataOf(mine[3]!)).toMatchObject({ id: ids[3], type: "job.succeeded", data: { id, state: "succeeded", attempt: 1 } });
  });

  test("resumes after Last-Event-ID with exactly the events missed, then goes on live", async () => {
    let lastSeen: string;
    {
      await using stream = await open();
      const id = await startJob();
      const done = await stream.waitFor((f) => f.event === "job.succeeded" && dataOf(f).subject === `job:${id}`);
      lastSeen = done.id!;
    }
    // While the client is away, two more jobs run to completion; a second client sees everything.
    await using watcher = await open();
    const missedJobs = [await startJob(), await startJob()];
    for (const id of missedJobs) await watcher.waitFor((f) => f.event === "job.succeeded" && dataOf(f).subject === `job:${id}`);

    await using resumed = await open("", { "last-event-id": lastSeen });
    const lastMissed = watcher.frames.at(-1)!.id!;
    await resumed.waitFor((f) => f.id === lastMissed);
    const replayedIds = resumed.frames.filter((f) => f.id).map((f) => f.id);
    const expected = watcher.frames.filter((f) => f.id && Number(f.id) > Number(lastSeen)).map((f) => f.id);
    expect(replayedIds).toEqual(expected);
    expect(new Set(resumed.frames.map((f) => dataOf(f).subject))).toEqual(new Set(missedJobs.map((id) => `job:${id}`)));

    const liveId = await startJob();
    await resumed.waitFor((f) => f.event === "job.succeeded" && dataOf(f).subject === `job:${liveId}`);
  });

  test("the lastEventId query parameter resumes like the header, and types filters by prefix", async () => {
    await using first = await open();
    const id = await startJob();
    const queued = await first.waitFor((f) => f.event === "job.queued" && dataOf(f).subject === `job:${id}`);
    await first.waitFor((f) => f.event === "job.succeeded" && dataOf(f).subject === `job:${id}`);
    await using filtered = await open(`?lastEventId=${queued.id}&types=job.succeeded`);
    const frame = await filtered.waitFor((f) => f.event === "job.succeeded");
    expect(dataOf(frame).subject).toBe(`job:${id}`);
    expect(filtered.frames.every((f) => f.event === "job.succeeded")).toBe(true);
  });

  test("a resume point older than the retained log is announced as a gap", async () => {
    // Retention pruned the oldest rows; the client asks for what came after one of them.
    const db = new Database(join(dir.path, "goosed.db"));
    try {
      db.run("DELETE FROM events WHERE id <= 3");
    } finally {
      db.close();
    }
    await using stream = await open("", { "last-event-id": "1" });
    const gap = await stream.waitFor((f) => f.event === "gap");
    expect(JSON.parse(gap.data!)).toEqual({ lastEventId: 1, oldestKept: 4 });
    await stream.waitFor((f) => f.id === "4");
  });

  test("streams end when goosed shuts down, so SIGTERM is not held up", async () => {
    await using d = tempDir();
    const other = await startGoosed({ dataDir: d.path });
    const stream = await SseReader.open(`${other.url}/v1/events`, { authorization: `Bearer ${other.token}` });
    expect(await other.stop()).toBe(0);
    await stream.ended();
  });
});
