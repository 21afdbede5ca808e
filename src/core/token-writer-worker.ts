// The token writer's thread: its own SQLite connection commits a boot storm's writes (boot tokens, last-seen times,
// runs moving from pending to booting) in batches, so the fsync of a group commit never stalls the event loop.
import { Database } from "bun:sqlite";
import { hashSecret } from "./token-secret.ts";
import type { RecordedEvent, TokenWriterReply, TokenWriterRequest } from "./token-writer.ts";

declare const self: Worker;

let db: Database | null = null;
let insertToken: ReturnType<Database["prepare"]>;
let touchMachine: ReturnType<Database["prepare"]>;
let markBooting: ReturnType<Database["prepare"]>;
let insertTransition: ReturnType<Database["prepare"]>;
let insertEvent: ReturnType<Database["prepare"]>;

self.onmessage = (event: MessageEvent<TokenWriterRequest>) => {
  const message = event.data;
  if (message.type === "open") {
    db = new Database(message.path, { strict: true });
    db.run("PRAGMA busy_timeout = 5000");
    // Durable on commit, as on the main connection: a token is handed out only after this fsync.
    db.run("PRAGMA synchronous = FULL");
    db.run("PRAGMA foreign_keys = ON");
    // 32 MiB of page cache: the hot end of the token table and its indexes stay in memory through a storm.
    db.run("PRAGMA cache_size = -32768");
    insertToken = db.prepare(
      "INSERT INTO machine_tokens (id, kind, secret_hash, machine_id, run_id, mac, created_at, expires_at) VALUES (?, 'boot', ?, ?, ?, ?, ?, ?)",
    );
    touchMachine = db.prepare("UPDATE machines SET last_seen_at = ?, last_source = ? WHERE id = ?");
    // Only a run still pending moves: one cancelled on the main thread meanwhile stays cancelled.
    markBooting = db.prepare("UPDATE runs SET state = 'booting', updated_at = ? WHERE id = ? AND state = 'pending'");
    insertTransition = db.prepare(
      "INSERT INTO run_transitions (run_id, at, from_state, to_state, source, reason) VALUES (?, ?, 'pending', 'booting', ?, ?)",
    );
    insertEvent = db.prepare("INSERT INTO events (at, type, subject, data) VALUES (?, ?, ?, ?) RETURNING id");
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
    const events: RecordedEvent[] = [];
    db!.transaction(() => {
      for (const [runId, at, source, machineId, reason] of rows(message.bootings)) {
        if (markBooting.run(Number(at), Number(runId)).changes === 0) continue;
        insertTransition.run(Number(runId), Number(at), source || null, reason!);
        const data = { machine: Number(machineId), from: "pending", reason, source: source || null };
        const { id } = insertEvent.get(Number(at), "run.booting", `run:${runId}`, JSON.stringify(data)) as { id: number };
        events.push({ id, at: Number(at), type: "run.booting", subject: `run:${runId}`, data });
      }
      for (const line of rows(message.tokens)) {
        const [id, secret, machineId, runId, mac, createdAt, expiresAt] = line;
        insertToken.run(id!, hashSecret(secret!).toString("hex"), Number(machineId), Number(runId), mac!, Number(createdAt), Number(expiresAt));
      }
      for (const [machineId, at, source] of rows(message.touches)) touchMachine.run(Number(at), source || null, Number(machineId));
    }).immediate();
    reply({ type: "committed", seq: message.seq, events });
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
