import { describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { LocalBlobBackend } from "../../src/objects/index.ts";
import { api, runGoosed, startGoosed, tempDir } from "../support/goosed.ts";
import { dataOf, SseReader } from "../support/sse.ts";

const BLOB_BYTES = 64 * 1024;

/** Blobs for blobs.verify to chew on; at `rate` bytes/s the job takes blobs × BLOB_BYTES / rate seconds. */
async function seedBlobs(dataDir: string, count: number): Promise<number> {
  const store = new LocalBlobBackend(join(dataDir, "blobs"));
  for (let i = 0; i < count; i++) await store.put(new Blob([new Uint8Array(BLOB_BYTES).fill(i + 1)]).stream());
  return count * BLOB_BYTES;
}

function readDb<T>(dataDir: string, fn: (db: Database) => T): T {
  const db = new Database(join(dataDir, "goosed.db"), { readonly: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

const countEvents = (dataDir: string, subject: string, type: string) =>
  readDb(dataDir, (db) => db.query<{ n: number }, [string, string]>("SELECT count(*) AS n FROM events WHERE subject = ? AND type = ?").get(subject, type)!.n);

describe("crash safety", () => {
  test("SIGKILL mid-job: after restart the job runs again and finishes exactly once", async () => {
    await using dir = tempDir();
    const totalBytes = await seedBlobs(dir.path, 2);
    const first = await startGoosed({ dataDir: dir.path });
    const created = await api(first, "/v1/jobs", { body: { type: "blobs.verify", payload: { maxBytesPerSecond: BLOB_BYTES } } });
    const { id } = (await created.json()) as { id: number };
    {
      await using events = await SseReader.open(`${first.url}/v1/events?lastEventId=0&types=job.progress`, { authorization: `Bearer ${first.token}` });
      await events.waitFor((f) => dataOf(f).data.id === id && dataOf(f).data.fraction > 0);
    }
    await first.kill();
    expect(readDb(dir.path, (db) => db.query("SELECT state, attempts FROM jobs WHERE id = ?").get(id))).toEqual({ state: "running", attempts: 1 });

    // A second goosed must not run beside the first: prove the lock is the kernel's, released by the kill.
    await using second = await startGoosed({ dataDir: dir.path });
    await using events = await SseReader.open(`${second.url}/v1/events?lastEventId=0`, { authorization: `Bearer ${second.token}` });
    await events.waitFor((f) => f.event === "job.succeeded" && dataOf(f).subject === `job:${id}`);
    const job = (await (await api(second, `/v1/jobs/${id}`)).json()) as Record<string, unknown>;
    expect(job).toMatchObject({ state: "succeeded", attempts: 2, result: { blobs: 2, bytes: totalBytes }, error: null });
    expect(await second.stop()).toBe(0);

    expect(countEvents(dir.path, `job:${id}`, "job.succeeded")).toBe(1);
    expect(countEvents(dir.path, `job:${id}`, "job.started")).toBe(2);
    expect(countEvents(dir.path, `job:${id}`, "job.recovered")).toBe(1);
  });

  test("a second goosed on a data directory in use refuses to start", async () => {
    await using dir = tempDir();
    await using running = await startGoosed({ dataDir: dir.path });
    const result = await runGoosed(["serve", "--data-dir", dir.path, "--http-port", "0"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`goosed: ${dir.path} is in use by another goosed process; stop it first or pick another --data-dir\n`);
    expect((await api(running, "/v1/jobs")).status).toBe(200);
  });

  test("a second goosed on a port in use says so and exits 1; the first keeps every connection", async () => {
    await using dir = tempDir();
    await using other = tempDir();
    await using running = await startGoosed({ dataDir: dir.path });
    const result = await runGoosed(["serve", "--data-dir", other.path, "--http-host", "127.0.0.1", "--http-port", String(running.port)]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `goosed: cannot listen on 127.0.0.1:${running.port} (Failed to start server. Is port ${running.port} in use?); stop what holds the port or pick another with --http-port\n`,
    );
    // No port sharing: every request still reaches the one goosed that holds the port.
    for (let i = 0; i < 20; i++) expect((await api(running, "/v1/jobs")).status).toBe(200);
  });

  test("SIGKILL during a burst of writes leaves a database that passes integrity_check, with no half-written change", async () => {
    await using dir = tempDir();
    const goosed = await startGoosed({ dataDir: dir.path });
    let ok = 0;
    let stop = false;
    const enough = Promise.withResolvers<void>();
    const writer = async (n: number) => {
      for (let i = 0; !stop && i < 400; i++) {
        const response = await api(goosed, "/v1/tokens", { body: { name: `burst-${n}-${i}`, scopes: ["read"] } }).catch(() => null);
        if (response?.status === 201 && ++ok === 100) enough.resolve();
        await api(goosed, "/v1/jobs", { body: { type: "blobs.verify" } }).catch(() => null);
      }
    };
    const writers = Array.from({ length: 8 }, (_, n) => writer(n));
    await enough.promise;
    await goosed.kill();
    stop = true;
    await Promise.all(writers);

    const check = readDb(dir.path, (db) => ({
      integrity: db.query<{ integrity_check: string }, []>("PRAGMA integrity_check").all().map((r) => r.integrity_check),
      tokens: db.query<{ n: number }, []>("SELECT count(*) AS n FROM api_tokens").get()!.n,
      tokenAudits: db.query<{ n: number }, []>("SELECT count(*) AS n FROM audit_log WHERE action = 'token.create'").get()!.n,
      jobs: db.query<{ n: number }, []>("SELECT count(*) AS n FROM jobs").get()!.n,
      jobAudits: db.query<{ n: number }, []>("SELECT count(*) AS n FROM audit_log WHERE action = 'job.create'").get()!.n,
    }));
    expect(check.integrity).toEqual(["ok"]);
    // Every change and its audit row commit together or not at all.
    expect(check.tokens).toBe(check.tokenAudits);
    expect(check.jobs).toBe(check.jobAudits);
    expect(check.tokens).toBeGreaterThan(100);

    await using again = await startGoosed({ dataDir: dir.path });
    expect((await api(again, "/v1/tokens")).status).toBe(200);
  });

  test("SIGTERM: running jobs past the grace period are handed back, the WAL is checkpointed, exit 0", async () => {
    await using dir = tempDir();
    await seedBlobs(dir.path, 1);
    const goosed = await startGoosed({ dataDir: dir.path, args: ["--shutdown-grace-ms", "100"] });
    const { id } = (await (await api(goosed, "/v1/jobs", { body: { type: "blobs.verify", payload: { maxBytesPerSecond: 1024 } } })).json()) as { id: number };
    {
      await using events = await SseReader.open(`${goosed.url}/v1/events?lastEventId=0&types=job.started`, { authorization: `Bearer ${goosed.token}` });
      await events.waitFor((f) => dataOf(f).subject === `job:${id}`);
    }
    expect(await goosed.stop()).toBe(0);
    expect(goosed.logs.map((l) => l.message)).toContain("stopped");
    const wal = join(dir.path, "goosed.db-wal");
    expect(existsSync(wal) ? statSync(wal).size : 0).toBe(0);
    expect(readDb(dir.path, (db) => db.query("SELECT state, attempts FROM jobs WHERE id = ?").get(id))).toEqual({ state: "queued", attempts: 0 });
    expect(countEvents(dir.path, `job:${id}`, "job.interrupted")).toBe(1);
  });
});
