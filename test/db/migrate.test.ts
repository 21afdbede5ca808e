import { describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { migrate, openStore } from "../../src/db/index.ts";
import { MIGRATIONS } from "../../src/db/migrations/index.ts";
import { runGoosed, tempDir } from "../support/goosed.ts";

const MIGRATIONS_DIR = join(import.meta.dir, "../../src/db/migrations");

describe("migrations", () => {
  test("the embedded list matches what drizzle-kit generated, byte for byte", () => {
    const journal = JSON.parse(readFileSync(join(MIGRATIONS_DIR, "meta/_journal.json"), "utf8")) as { entries: Array<{ idx: number; tag: string }> };
    expect(MIGRATIONS.map((m) => ({ idx: m.idx, tag: m.tag }))).toEqual(journal.entries.map((e) => ({ idx: e.idx, tag: e.tag })));
    for (const m of MIGRATIONS) expect(m.sql).toBe(readFileSync(join(MIGRATIONS_DIR, `${m.tag}.sql`), "utf8"));
  });

  test("a new data directory gets every migration once; reopening applies none", async () => {
    await using dir = tempDir();
    const first = openStore(dir.path);
    expect(first.migrations).toEqual({ applied: MIGRATIONS.map((m) => m.tag), current: MIGRATIONS.at(-1)!.tag });
    expect(first.sqlite.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
    expect(first.sqlite.query("PRAGMA synchronous").get()).toEqual({ synchronous: 2 });
    first.close();
    const second = openStore(dir.path);
    expect(second.migrations.applied).toEqual([]);
    expect(second.sqlite.query("PRAGMA user_version").get()).toEqual({ user_version: MIGRATIONS.length });
    second.close();
  });

  test("the database and its WAL files are readable by their owner only: they hold S3 secrets", async () => {
    await using dir = tempDir();
    const store = openStore(dir.path);
    store.sqlite.run("CREATE TABLE touch (x)");
    for (const name of ["goosed.db", "goosed.db-wal", "goosed.db-shm"]) expect((statSync(join(dir.path, name)).mode & 0o777).toString(8)).toBe("600");
    store.close();
  });

  test("a migration that fails leaves nothing behind: all of them apply or none", () => {
    const sqlite = new Database(":memory:");
    const broken = [
      { idx: 0, tag: "0000_good", sql: "CREATE TABLE a (x INTEGER);--> statement-breakpoint\nINSERT INTO a VALUES (1);" },
      { idx: 1, tag: "0001_bad", sql: "CREATE TABLE b (y INTEGER);--> statement-breakpoint\nINSERT INTO nowhere VALUES (1);" },
    ];
    expect(() => migrate(sqlite, broken)).toThrow("no such table: nowhere");
    const tables = sqlite.query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type = 'table'").all();
    expect(tables).toEqual([]);
  });

  test("a database from a newer goosed is refused with a clear message and left untouched", async () => {
    await using dir = tempDir();
    openStore(dir.path).close();
    const db = new Database(join(dir.path, "goosed.db"));
    db.run("INSERT INTO schema_migrations (idx, tag, sha256, applied_at) VALUES (999, '0999_from_the_future', 'x', 0)");
    db.close();

    const newest = MIGRATIONS.at(-1)!.tag;
    expect(() => openStore(dir.path)).toThrow(`the database is at migration 0999_from_the_future but this goosed knows only up to ${newest}`);

    const result = await runGoosed(["serve", "--data-dir", dir.path, "--http-port", "0"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `goosed: the database is at migration 0999_from_the_future but this goosed knows only up to ${newest}; ` +
        "run the goosed version that wrote it, or restore a backup made for this version\n",
    );
    const after = new Database(join(dir.path, "goosed.db"), { readonly: true });
    expect(after.query("SELECT tag FROM schema_migrations ORDER BY idx DESC LIMIT 1").get()).toEqual({ tag: "0999_from_the_future" });
    after.close();
  });
});
