// Group commit: writes from many concurrent requests share one transaction, so a boot storm costs one fsync per
// batch instead of one per token. Callers await their write's commit before answering, so nothing handed out is
// ever lost to a crash.
import type { Db, Tx } from "../db/index.ts";

interface Pending {
  work: (tx: Tx) => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export class WriteBatch {
  private queue: Pending[] = [];
  private scheduled = false;
  private readonly afterCommit: Array<() => void> = [];
  private flushes = 0;
  private writes = 0;

  constructor(private readonly db: Db) {}

  /**
   * Runs `work` inside the next batch's transaction and resolves with its result once the batch has committed.
   * Each write runs in its own savepoint: one that throws is rolled back and rejected alone.
   */
  write<T>(work: (tx: Tx) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // setImmediate runs after the requests already read in this turn of the event loop: they all join the batch.
        setImmediate(() => this.flush());
      }
    });
  }

  /** Runs `fn` after the current batch commits (event fan-out, cache updates); only valid inside `work`. */
  onCommit(fn: () => void): void {
    this.afterCommit.push(fn);
  }

  get stats(): { flushes: number; writes: number } {
    return { flushes: this.flushes, writes: this.writes };
  }

  /** Commits whatever is queued now; shutdown calls it so no accepted write is dropped. */
  flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    let results: Result[];
    try {
      // Optimistic: every write in one transaction without savepoints. If one throws, the whole attempt rolls back
      // and the batch runs again with a savepoint per write, so the others still commit.
      results = this.run(batch, false) ?? this.run(batch, true)!;
    } catch (error) {
      this.afterCommit.length = 0;
      for (const item of batch) item.reject(error);
      return;
    }
    this.flushes++;
    this.writes += batch.length;
    const callbacks = this.afterCommit.splice(0);
    batch.forEach((item, i) => {
      const result = results[i]!;
      if (result.ok) item.resolve(result.value);
      else item.reject(result.error);
    });
    for (const callback of callbacks) callback();
  }

  /** One attempt at the batch; null when `isolated` is false and a write threw (nothing was committed). */
  private run(batch: Pending[], isolated: boolean): Result[] | null {
    this.afterCommit.length = 0;
    const results: Result[] = [];
    try {
      this.db.transaction((tx) => {
        for (const item of batch) {
          if (!isolated) {
            results.push({ ok: true, value: item.work(tx) });
            continue;
          }
          const callbacksBefore = this.afterCommit.length;
          try {
            results.push({ ok: true, value: tx.transaction((inner) => item.work(inner)) });
          } catch (error) {
            this.afterCommit.length = callbacksBefore;
            results.push({ ok: false, error });
          }
        }
      });
    } catch (error) {
      if (isolated || results.length === batch.length) throw error;
      return null;
    }
    return results;
  }
}

type Result = { ok: true; value: unknown } | { ok: false; error: unknown };
