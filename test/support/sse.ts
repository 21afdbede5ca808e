// A Server-Sent Events reader for tests: parses frames off a real HTTP stream and waits for the ones asked for.

export interface SseFrame {
  id?: string;
  event?: string;
  data?: string;
}

export class SseReader implements AsyncDisposable {
  readonly frames: SseFrame[] = [];
  private waiters: Array<() => void> = [];
  private readonly controller = new AbortController();
  private closed = false;

  static async open(url: string, headers: Record<string, string>): Promise<SseReader> {
    const reader = new SseReader();
    const response = await fetch(url, { headers, signal: reader.controller.signal });
    if (!response.ok || !response.body) throw new Error(`SSE ${url} answered ${response.status}: ${await response.text()}`);
    void reader.pump(response.body);
    return reader;
  }

  private async pump(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const frame: SseFrame = {};
          for (const line of block.split("\n")) {
            const colon = line.indexOf(":");
            if (colon <= 0) continue;
            const field = line.slice(0, colon) as keyof SseFrame;
            const value = line.slice(colon + 1).replace(/^ /, "");
            if (field === "id" || field === "event" || field === "data") frame[field] = value;
          }
          if (frame.event || frame.data) this.frames.push(frame);
          this.notify();
        }
      }
    } catch {
      // aborted by dispose
    } finally {
      this.closed = true;
      this.notify();
    }
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves with the first frame matching `predicate`, or rejects if the stream ends without one. */
  async waitFor(predicate: (frame: SseFrame) => boolean): Promise<SseFrame> {
    for (;;) {
      const found = this.frames.find(predicate);
      if (found) return found;
      if (this.closed) throw new Error(`stream ended; saw ${JSON.stringify(this.frames)}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Resolves once the server has closed the stream. */
  async ended(): Promise<void> {
    while (!this.closed) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.controller.abort();
  }
}

export const dataOf = (frame: SseFrame) => JSON.parse(frame.data ?? "null") as Record<string, any>;
