// `goosed token create|list|revoke`: manage API tokens on a running appliance.
import type { CAC } from "cac";
import type { ApiClient } from "./client.ts";
import { age, printJson, printTable } from "./output.ts";
import { UsageError } from "./usage.ts";

interface TokenView {
  id: string;
  name: string;
  scopes: string[];
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
  token?: string;
}

export function registerTokens(cli: CAC, client: (options: Record<string, unknown>) => ApiClient): void {
  cli
    .command("token create <name>", "Create an API token; its secret is printed once")
    .option("--scope <scopes>", "comma-separated scopes: read, write, admin", { default: "read" })
    .option("--ttl <seconds>", "expire the token after this many seconds")
    .action(async (name: string, options: Record<string, unknown>) => {
      const scopes = String(options.scope).split(",").map((s) => s.trim()).filter(Boolean);
      const ttl = options.ttl === undefined ? undefined : Number(options.ttl);
      if (ttl !== undefined && !Number.isInteger(ttl)) throw new UsageError(`--ttl expects whole seconds, got ${options.ttl}`, "token create");
      const created = await client(options).request<TokenView>("POST", "/v1/tokens", { name, scopes, ...(ttl ? { ttlSeconds: ttl } : {}) });
      if (options.json) return printJson(created);
      process.stdout.write(`${created.token}\n`);
      process.stderr.write(`token ${created.id} (${created.name}, ${created.scopes.join(",")}) created; store it now, it is not shown again\n`);
    });

  cli.command("token list", "List API tokens").action(async (options: Record<string, unknown>) => {
    const { items } = await client(options).request<{ items: TokenView[] }>("GET", "/v1/tokens");
    if (options.json) return printJson(items);
    printTable(
      ["id", "name", "scopes", "created", "last used", "expires", "state"],
      items.map((t) => [t.id, t.name, t.scopes.join(","), age(t.createdAt), age(t.lastUsedAt), t.expiresAt, t.revokedAt ? "revoked" : "active"]),
    );
  });

  cli.command("token revoke <id>", "Revoke an API token").action(async (id: string, options: Record<string, unknown>) => {
    const revoked = await client(options).request<TokenView>("DELETE", `/v1/tokens/${encodeURIComponent(id)}`);
    if (options.json) return printJson(revoked);
    process.stdout.write(`token ${revoked.id} (${revoked.name}) revoked\n`);
  });
}
