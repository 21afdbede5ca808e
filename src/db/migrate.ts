// Applies the embedded migrations in one transaction, and refuses a database written by a newer goosed.
import type { Database } from "bun:sqlite";
import { AppError } from "../lib/errors.ts";
import { MIGRATIONS } from "./migrations/index.ts";

export interface Migration {
  idx: number;
  tag: string;
  sql: string;
}

export interface MigrationReport {
  applied: string[];
  current: string;
}

const sha256 = (text: string) => new Bun.CryptoHasher("sha256").update(text).digest("hex");

export function migrate(sqlite: Database, migrations: readonly Migration[] = MIGRATIONS): MigrationReport {
  const applied: string[] = [];
  const run = sqlite.transaction(() => {
    sqlite.run(`CREATE TABLE IF NOT EXISTS schema_migrations (
      idx INTEGER PRIMARY KEY, tag TEXT NOT NULL, sha256 TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
    const done = sqlite.query<{ idx: number; tag: string }, []>("SELECT idx, tag FROM schema_migrations ORDER BY idx").all();
    const known = new Map(migrations.map((m) => [m.idx, m]));
    const unknown = done.filter((row) => known.get(row.idx)?.tag !== row.tag);
    if (unknown.length > 0) {
      const newest = done.at(-1)!;
      throw new AppError({
        code: "schema-too-new",
        status: 500,
        title: "Database schema is newer than this goosed",
        detail:
          `the database is at migration ${newest.tag} but this goosed knows only up to ${migrations.at(-1)?.tag ?? "none"}; ` +
          "run the goosed version that wrote it, or restore a backup made for this version",
      });
    }
    const doneIdx = new Set(done.map((row) => row.idx));
    for (const m of migrations) {
      if (doneIdx.has(m.idx)) continue;
      for (const statement of m.sql.split("--> statement-breakpoint")) {
        if (statement.trim()) sqlite.run(statement);
      }
      sqlite.run("INSERT INTO schema_migrations (idx, tag, sha256, applied_at) VALUES (?, ?, ?, ?)", [
        m.idx,
        m.tag,
        sha256(m.sql),
        Date.now(),
      ]);
      applied.push(m.tag);
    }
    sqlite.run(`PRAGMA user_version = ${migrations.length}`);
  });
  run.immediate();
  return { applied, current: migrations.at(-1)?.tag ?? "none" };
}
