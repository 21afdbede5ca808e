// State: drizzle schema, embedded migrations and the data-directory store.
export { openStore, type Db, type Tx, type Store } from "./open.ts";
export { migrate, type Migration, type MigrationReport } from "./migrate.ts";
export * from "./schema/index.ts";
