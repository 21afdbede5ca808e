// The MD5 thread: hashes put() batches in parallel with the main thread's SHA-256 and the write, so a PUT is not capped
// by running both hashes one after the other on one core.
import type { Md5Reply, Md5Request } from "./md5-pool.ts";

declare const self: Worker;

const sessions = new Map<number, Bun.CryptoHasher>();

self.onmessage = (event: MessageEvent<Md5Request>) => {
  const message = event.data;
  if (message.type === "chunk") {
    let hasher = sessions.get(message.id);
    if (!hasher) sessions.set(message.id, (hasher = new Bun.CryptoHasher("md5")));
    hasher.update(new Uint8Array(message.buffer, 0, message.length));
    // The buffer goes back to the sender for its next batch, so a put allocates a fixed handful of them.
    const reply: Md5Reply = { type: "done", id: message.id, buffer: message.buffer };
    self.postMessage(reply, [message.buffer]);
  } else if (message.type === "end") {
    const hasher = sessions.get(message.id) ?? new Bun.CryptoHasher("md5");
    sessions.delete(message.id);
    const reply: Md5Reply = { type: "digest", id: message.id, md5Hex: hasher.digest("hex") };
    self.postMessage(reply);
  } else {
    sessions.delete(message.id);
  }
};
