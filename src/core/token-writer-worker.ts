// The token writer's thread: its own SQLite connection commits boot tokens in batches, so the fsync of a group
// commit never stalls the event loop that serves the boot storm.
import { Database } from "bun:sqlite";
import { hashSecret } from "./token-secret.ts";
import type { TokenWriterReply, TokenWriterRequest } from "./token-writer.ts";

declare const self: Worker;

let db: Database | null = null;
let insertToken: ReturnType<Database["prepare"]>;
let touchMachine: ReturnType<Database["prepare"]>;

self.onmessage = (event: MessageEvent<TokenWriterRequest>) => {
  const message = event.data;
  if (message.type === "open") {
    db = new Database(message.path, { strict: true });
    db.run("PRAGMA busy_timeout = 5000");
    // Durable on commit, as on the main connection: a token is handed out only after this fsync.
    db.run("PRAGMA synchronous = FULL");
    db.run("PRAGMA foreign_keys = ON");
    insertToken = db.prepare(
      "INSERT INTO machine_tokens (id, kind, secret_hash, machine_id, run_id, mac, created_at, expires_at) VALUES (?, 'boot', ?, ?, ?, ?, ?, ?)",
    );
    touchMachine = db.prepare("UPDATE machines SET last_seen_at = ?, last_source = ? WHERE id = ?");
    reply({ type: "opened" });
    return;
  }
  if (message.type === "close") {
    db?.close();
    db = null;
    reply({ type: "closed" });
    return;
  }
  try {
    db!.transaction(() => {
      for (const line of rows(message.tokens)) {
        const [id, secret, machineId, runId, mac, createdAt, expiresAt] = line;
        insertToken.run(id!, hashSecret(secret!).toString("hex"), Number(machineId), Number(runId), mac!, Number(createdAt), Number(expiresAt));
      }
      for (const [machineId, at, source] of rows(message.touches)) touchMachine.run(Number(at), source || null, Number(machineId));
    }).immediate();
    reply({ type: "committed", seq: message.seq });
  } catch (error) {
    reply({ type: "failed", seq: message.seq, error: (error as Error).message });
  }
};

function rows(text: string): string[][] {
  return text === "" ? [] : text.slice(0, -1).split("\n").map((line) => line.split("\t"));
}

function reply(message: TokenWriterReply): void {
  self.postMessage(message);
}
