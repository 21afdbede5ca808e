// Group commit for boot tokens on a writer thread. One batch commits (with its fsync) on the worker's own connection
// while this thread goes on serving and gathers the next batch from every request that arrives meanwhile; each
// caller's promise resolves only after its token is durable, so a crash never loses a token that was handed out.
import { join } from "node:path";

export interface BootTokenRow {
  id: string;
  /** Hashed on the writer's thread; only the hash is stored. */
  secret: string;
  machineId: number;
  runId: number;
  mac: string;
  createdAt: number;
  expiresAt: number;
}

export interface MachineTouch {
  machineId: number;
  at: number;
  source: string | null;
}

/** A run moving from pending to booting; the main thread's step function decided it and gave the reason. */
export interface RunBooting {
  runId: number;
  machineId: number;
  at: number;
  source: string | null;
  reason: string;
}

/** An event the writer persisted, to be delivered to listeners once its batch has committed. */
export interface RecordedEvent {
  id: number;
  at: number;
  type: string;
  subject: string;
  data: Record<string, unknown>;
}

export type TokenWriterRequest =
  | { type: "open"; path: string }
  | { type: "close" }
  /** Rows as tab-separated lines: one string crosses to the worker far cheaper than an array of objects. */
  | { type: "batch"; seq: number; tokens: string; touches: string; bootings: string };

export type TokenWriterReply =
  | { type: "opened" }
  | { type: "closed" }
  | { type: "committed"; seq: number; events: RecordedEvent[] }
  | { type: "failed"; seq: number; error: string };

// The compiled binary keeps each entry point under /$bunfs/root/ by its path below the entry points' common root, the
// repository (package.json "build" lists this worker and the loaders in assets/ as entry points); run from source,
// the worker file sits beside this one.
const WORKER_ENTRY = import.meta.url.startsWith("file:///$bunfs/")
  ? "./src/core/token-writer-worker.ts"
  : new URL("./token-writer-worker.ts", import.meta.url).href;

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
}

export class TokenWriter {
  private readonly worker: Worker;
  private tokens = "";
  private touches = "";
  private bootings = "";
  private waiters: Waiter[] = [];
  private scheduled = false;
  private seq = 0;
  private readonly inFlight = new Map<number, { waiters: Waiter[]; settled: () => void; done: Promise<void> }>();
  private readonly ready: Promise<void>;
  private closed: (() => void) | null = null;
  private closing: Promise<void> | null = null;
  private commits = 0;
  private written = 0;
  private failure: Error | null = null;

  /** `onCommit` hears the events each committed batch recorded (runs that began booting). */
  constructor(
    dataDir: string,
    private readonly onCommit: (events: RecordedEvent[]) => void,
  ) {
    this.worker = new Worker(WORKER_ENTRY);
    this.ready = new Promise<void>((resolve, reject) => {
      // A writer that cannot start stops goosed at start; one that dies later fails every boot script waiting on it
      // (and every later one) at once, instead of leaving them hanging.
      this.worker.onerror = (event) => {
        const error = new Error(`the boot token writer failed: ${event.message}`);
        this.failure = error;
        reject(error);
        for (const batch of this.inFlight.values()) {
          for (const w of batch.waiters) w.reject(error);
          batch.settled();
        }
        this.inFlight.clear();
        for (const w of this.waiters.splice(0)) w.reject(error);
      };
      this.worker.onmessage = (event: MessageEvent<TokenWriterReply>) => {
        const reply = event.data;
        if (reply.type === "opened") return resolve();
        if (reply.type === "closed") return this.closed?.();
        const batch = this.inFlight.get(reply.seq)!;
        this.inFlight.delete(reply.seq);
        if (reply.type === "committed") {
          this.onCommit(reply.events);
          this.commits++;
          this.written += batch.waiters.length;
          for (const w of batch.waiters) w.resolve();
        } else {
          const error = new Error(`boot tokens were not saved: ${reply.error}`);
          for (const w of batch.waiters) w.reject(error);
        }
        batch.settled();
        // While that batch was committing, the next one gathered everything that arrived: send it now.
        this.send();
      };
    });
    this.post({ type: "open", path: join(dataDir, "goosed.db") });
  }

  /** Resolves once the writer thread has its connection open. */
  opened(): Promise<void> {
    return this.ready;
  }

  get stats(): { commits: number; tokens: number } {
    return { commits: this.commits, tokens: this.written };
  }

  /** For /readyz: whether boot tokens can be issued. */
  health(): { ok: boolean; detail: string } {
    if (this.failure) return { ok: false, detail: this.failure.message };
    if (this.closing) return { ok: false, detail: "closed" };
    return { ok: true, detail: `${this.written} committed in ${this.commits} group commits` };
  }

  /**
   * Queues a token, a machine's last-seen time and a run's move to booting (any of them); resolves once all of it has
   * committed.
   */
  write(token: BootTokenRow | null, touch: MachineTouch | null, booting: RunBooting | null): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closing) return Promise.reject(new Error("goosed is shutting down; boot tokens are no longer issued"));
    if (booting) this.bootings += `${booting.runId}\t${booting.at}\t${booting.source ?? ""}\t${booting.machineId}\t${booting.reason}\n`;
    if (token) this.tokens += `${token.id}\t${token.secret}\t${token.machineId}\t${token.runId}\t${token.mac}\t${token.createdAt}\t${token.expiresAt}\n`;
    if (touch) this.touches += `${touch.machineId}\t${touch.at}\t${touch.source ?? ""}\n`;
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.send());
    }
    return done;
  }

  /** Sends what is queued, waits for every batch to commit, then closes the writer's connection and thread. */
  async close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    this.send();
    // Each acknowledgement sends what queued behind it; wait until nothing is left.
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight.values()].map((batch) => batch.done));
    await new Promise<void>((resolve) => {
      this.closed = resolve;
      this.post({ type: "close" });
    });
    this.worker.terminate();
  }

  /** One batch in flight at a time: the fewer, larger commits are what keeps a storm fast. */
  private send(): void {
    this.scheduled = false;
    if (this.waiters.length === 0 || this.inFlight.size > 0) return;
    const seq = ++this.seq;
    const { promise, resolve } = Promise.withResolvers<void>();
    this.inFlight.set(seq, { waiters: this.waiters, settled: resolve, done: promise });
    this.post({ type: "batch", seq, tokens: this.tokens, touches: this.touches, bootings: this.bootings });
    this.tokens = "";
    this.touches = "";
    this.bootings = "";
    this.waiters = [];
  }

  private post(message: TokenWriterRequest): void {
    this.worker.postMessage(message);
  }
}
