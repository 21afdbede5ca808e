// One long-lived MD5 thread shared by every put(): sessions are tagged by id, batches are transferred (not copied) and
// come back once hashed, so at most `maxInFlight` batches of a put exist at once.

export type Md5Request =
  | { type: "chunk"; id: number; buffer: ArrayBuffer; length: number }
  | { type: "end"; id: number }
  | { type: "drop"; id: number };

export type Md5Reply = { type: "done"; id: number; buffer: ArrayBuffer } | { type: "digest"; id: number; md5Hex: string };

// The compiled binary keeps each entry point under /$bunfs/root/ by its path below the entry points' common root, the
// repository (package.json "build" lists this worker as an entry point); run from source, it sits beside this file.
const WORKER_ENTRY = import.meta.url.startsWith("file:///$bunfs/")
  ? "./src/objects/md5-worker.ts"
  : new URL("./md5-worker.ts", import.meta.url).href;

interface Session {
  returned: ArrayBuffer[];
  inFlight: number;
  wake: (() => void) | null;
  digest: ((md5Hex: string) => void) | null;
  fail: (error: Error) => void;
}

let worker: Worker | null = null;
let nextId = 1;
const sessions = new Map<number, Session>();

// The thread keeps the process alive only while a put is waiting on it.
function forget(id: number): void {
  sessions.delete(id);
  if (sessions.size === 0) worker?.unref();
}

function startWorker(): Worker {
  if (worker) return worker;
  const started = new Worker(WORKER_ENTRY);
  started.onmessage = (event: MessageEvent<Md5Reply>) => {
    const reply = event.data;
    const session = sessions.get(reply.id);
    if (!session) return;
    if (reply.type === "done") {
      session.inFlight--;
      session.returned.push(reply.buffer);
      session.wake?.();
    } else {
      forget(reply.id);
      session.digest?.(reply.md5Hex);
    }
  };
  started.onerror = (event) => {
    const failure = new Error(`md5 worker failed: ${event.message}`);
    worker = null;
    for (const session of sessions.values()) session.fail(failure);
    sessions.clear();
  };
  worker = started;
  return started;
}

/** One put's MD5, computed on the shared thread. Call `end()` for the digest or `drop()` to abandon it. */
export class Md5Session {
  private readonly id = nextId++;
  private readonly state: Session;
  private readonly worker: Worker;
  private error: Error | null = null;

  constructor(private readonly maxInFlight: number) {
    this.worker = startWorker();
    this.state = {
      returned: [],
      inFlight: 0,
      wake: null,
      digest: null,
      fail: (error) => {
        this.error = error;
        this.state.wake?.();
      },
    };
    sessions.set(this.id, this.state);
    this.worker.ref();
  }

  /** A hashed buffer back from the thread, for reuse, if one is waiting. */
  takeReturned(): ArrayBuffer | undefined {
    return this.state.returned.pop();
  }

  /** Waits until fewer than maxInFlight batches are at the thread. */
  async ready(): Promise<void> {
    while (this.state.inFlight >= this.maxInFlight && !this.error) {
      await new Promise<void>((resolve) => (this.state.wake = resolve));
      this.state.wake = null;
    }
    if (this.error) throw this.error;
  }

  /** Hands `buffer` (its first `length` bytes are the next content) to the thread; the caller must not touch it again. */
  send(buffer: ArrayBuffer, length: number): void {
    if (this.error) throw this.error;
    this.state.inFlight++;
    const message: Md5Request = { type: "chunk", id: this.id, buffer, length };
    this.worker.postMessage(message, [buffer]);
  }

  end(): Promise<string> {
    if (this.error) return Promise.reject(this.error);
    return new Promise<string>((resolve, reject) => {
      this.state.digest = resolve;
      this.state.fail = reject;
      const message: Md5Request = { type: "end", id: this.id };
      this.worker.postMessage(message);
    });
  }

  drop(): void {
    forget(this.id);
    const message: Md5Request = { type: "drop", id: this.id };
    this.worker.postMessage(message);
  }
}
