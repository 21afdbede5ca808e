// Opens the data directory: takes its lock, opens goosed.db in WAL mode and applies migrations.
import { Database } from "bun:sqlite";
import { chmodSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type BunSQLiteDatabase, drizzle } from "drizzle-orm/bun-sqlite";
import { AppError } from "../lib/errors.ts";
import { type MigrationReport, migrate } from "./migrate.ts";
import * as schema from "./schema/index.ts";

export type Db = BunSQLiteDatabase<typeof schema>;
/** A transaction handle; functions that write inside a caller's transaction take `Db | Tx`. */
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];

export interface Store {
  db: Db;
  sqlite: Database;
  dataDir: string;
  blobsDir: string;
  migrations: MigrationReport;
  /** Checkpoints the WAL into the main file and releases the data-directory lock. */
  close(): void;
}

/**
 * A second goosed on the same data directory would run every job twice. SQLite's own file lock, held
 * in EXCLUSIVE locking mode for the life of the process, keeps it out; the kernel drops it on any exit,
 * kill -9 included, so a crash never leaves a stale lock behind.
 */
function lockDataDir(dataDir: string): Database {
  const lock = new Database(join(dataDir, "goosed.lock"), { create: true });
  try {
    lock.run("PRAGMA locking_mode = EXCLUSIVE");
    lock.run("CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL, since INTEGER NOT NULL)");
    lock.transaction(() => {
      lock.run("DELETE FROM holder");
      lock.run("INSERT INTO holder (pid, since) VALUES (?, ?)", [process.pid, Date.now()]);
    })();
  } catch (err) {
    lock.close();
    throw new AppError({
      code: "data-dir-in-use",
      status: 500,
      title: "Data directory in use",
      detail: `${dataDir} is in use by another goosed process; stop it first or pick another --data-dir`,
      cause: err,
    });
  }
  return lock;
}

export function openStore(dataDir: string): Store {
  const blobsDir = join(dataDir, "blobs");
  mkdirSync(blobsDir, { recursive: true });
  const lock = lockDataDir(dataDir);
  let sqlite: Database | undefined;
  try {
    const dbPath = join(dataDir, "goosed.db");
    sqlite = new Database(dbPath, { create: true, strict: true });
    // The database holds S3 secrets (SigV4 signs with the secret itself): owner only. SQLite gives the WAL and shm
    // files the database's mode when it creates them; older installs get theirs fixed here too.
    for (const path of [dbPath, `${dbPath}-wal`, `${dbPath}-shm`]) if (existsSync(path)) chmodSync(path, 0o600);
    sqlite.run("PRAGMA journal_mode = WAL");
    // FULL: a committed import or job result survives power loss, not only a process crash.
    sqlite.run("PRAGMA synchronous = FULL");
    sqlite.run("PRAGMA foreign_keys = ON");
    sqlite.run("PRAGMA busy_timeout = 5000");
    // 32 MiB of page cache (the default is 2 MiB): a storm's leases and events land in B-trees keyed by random MACs,
    // and each page missing from the cache is a read on the event loop.
    sqlite.run("PRAGMA cache_size = -32768");
    const migrations = migrate(sqlite);
    const db = drizzle({ client: sqlite, schema });
    // Boot tokens commit from a second connection (the token writer's thread). A deferred transaction that reads and
    // then writes would fail at once with SQLITE_BUSY when that connection committed in between; an immediate one
    // takes the write lock up front and waits its turn (busy_timeout).
    const deferred = db.transaction.bind(db);
    db.transaction = ((work, config) => deferred(work, { behavior: "immediate", ...config })) as typeof db.transaction;
    const opened = sqlite;
    return {
      db,
      sqlite: opened,
      dataDir,
      blobsDir,
      migrations,
      close() {
        opened.run("PRAGMA wal_checkpoint(TRUNCATE)");
        opened.close();
        lock.close();
      },
    };
  } catch (err) {
    sqlite?.close();
    lock.close();
    throw err;
  }
}
