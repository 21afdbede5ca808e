// `goosed keys generate|trust|list|revoke`: the keys that sign bundles, and the ones this appliance trusts.
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import type { CAC } from "cac";
import { generateKeyPair } from "../bundles/signify.ts";
import type { ApiClient } from "./client.ts";
import { age, printJson, printTable } from "./output.ts";
import { CliError } from "./usage.ts";

interface KeyView {
  keyId: string;
  name: string;
  addedBy: string;
  addedAt: string;
  revokedAt: string | null;
  state: string;
}

export function registerKeys(cli: CAC, client: (options: Record<string, unknown>) => ApiClient): void {
  cli
    .command("keys generate [prefix]", "Make an ed25519 signing key pair in signify's format: <prefix>.pub and <prefix>.sec (0600); runs offline")
    .option("--comment <text>", "comment written into both files")
    .action((prefix: string | undefined, options: Record<string, unknown>) => {
      const base = prefix ?? "goosed-signing";
      for (const path of [`${base}.pub`, `${base}.sec`]) {
        if (existsSync(path)) throw new CliError(`${path} exists; pick another prefix or move it away (goosed never overwrites a key)`);
      }
      const pair = generateKeyPair(options.comment === undefined ? undefined : String(options.comment));
      // Created 0600 from the start: the secret is never readable by others, not even for a moment.
      writeFileSync(`${base}.sec`, pair.secretKeyFile, { mode: 0o600, flag: "wx" });
      chmodSync(`${base}.sec`, 0o600);
      writeFileSync(`${base}.pub`, pair.publicKeyFile, { mode: 0o644, flag: "wx" });
      if (options.json) return printJson({ keyId: pair.keyId, publicKey: `${base}.pub`, secretKey: `${base}.sec` });
      process.stdout.write(`key ${pair.keyId}: public ${base}.pub, secret ${base}.sec (keep it off the appliance)\n`);
      process.stderr.write(`trust it on an appliance with: goosed keys trust ${base}.pub --name <who signs>\n`);
    });

  cli
    .command("keys trust <file>", "Trust a signify public key: bundles it signed can be imported")
    .option("--name <name>", "who signs with it (default: the file name)")
    .action(async (file: string, options: Record<string, unknown>) => {
      let publicKey: string;
      try {
        publicKey = readFileSync(file, "utf8");
      } catch (err) {
        throw new CliError(`cannot read ${file} (${(err as NodeJS.ErrnoException).code}); give the .pub file of the signing key`);
      }
      const name = options.name === undefined ? file.split("/").at(-1)!.replace(/\.pub$/, "") : String(options.name);
      const key = await client(options).request<KeyView>("POST", "/v1/keys", { name, publicKey });
      if (options.json) return printJson(key);
      process.stdout.write(`key ${key.keyId} (${key.name}) trusted\n`);
    });

  cli.command("keys list", "List bundle signers, trusted and revoked").action(async (options: Record<string, unknown>) => {
    const { items } = await client(options).request<{ items: KeyView[] }>("GET", "/v1/keys");
    if (options.json) return printJson(items);
    printTable(
      ["key id", "name", "state", "added", "by"],
      items.map((k) => [k.keyId, k.name, k.state, age(k.addedAt), k.addedBy]),
    );
  });

  cli.command("keys revoke <id>", "Revoke a signer: its bundles are refused from now on").action(async (id: string, options: Record<string, unknown>) => {
    const key = await client(options).request<KeyView>("DELETE", `/v1/keys/${encodeURIComponent(id)}`);
    if (options.json) return printJson(key);
    process.stdout.write(`key ${key.keyId} (${key.name}) revoked\n`);
  });
}
