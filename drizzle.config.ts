// drizzle-kit: `npm run db:generate` writes a migration for every schema change, then embeds it.
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/schema/index.ts",
  out: "./src/db/migrations",
});
