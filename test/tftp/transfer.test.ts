import { describe, expect, test } from "bun:test";
import { createTransfer, step, type TransferConfig, type TransferEvent, type TransferState } from "../../src/tftp/transfer.ts";

const config = (overrides: Partial<TransferConfig> = {}): TransferConfig => ({
  sizeBytes: 2000,
  blksize: 512,
  windowsize: 1,
  timeoutMs: 1000,
  maxRetries: 2,
  sendsOack: false,
  ...overrides,
});

/** Runs events in order from a fresh transfer; returns every step's actions and the last state. */
function run(cfg: TransferConfig, events: Array<[TransferEvent, number]>) {
  let state: TransferState = createTransfer(cfg);
  const log: unknown[] = [];
  for (const [event, nowMs] of events) {
    const result = step(state, event, nowMs);
    state = result.state;
    log.push(result.ignored ? { ignored: result.ignored } : result.actions);
  }
  return { state, log };
}

const ack = (block: number): TransferEvent => ({ type: "ack", block });
const TIMEOUT: TransferEvent = { type: "timeout" };
const START: TransferEvent = { type: "start" };

describe("lock-step (RFC 1350)", () => {
  test("2000 bytes at 512: blocks 1-4, the last short; the final ACK completes", () => {
    const { state, log } = run(config(), [[START, 0], [ack(1), 1], [ack(2), 2], [ack(3), 3], [ack(4), 4]]);
    expect(log).toEqual([
      [{ type: "send-data", first: 1, count: 1, resent: 0 }],
      [{ type: "send-data", first: 2, count: 1, resent: 0 }],
      [{ type: "send-data", first: 3, count: 1, resent: 0 }],
      [{ type: "send-data", first: 4, count: 1, resent: 0 }],
      [{ type: "complete" }],
    ]);
    expect(state.phase).toBe("completed");
  });

  test("a size that is a multiple of blksize ends with an empty block", () => {
    expect(createTransfer(config({ sizeBytes: 1024 })).totalBlocks).toBe(3);
    expect(createTransfer(config({ sizeBytes: 0 })).totalBlocks).toBe(1);
  });

  test("Sorcerer's Apprentice: a delayed DATA retransmitted on timeout brings two ACKs, and only one next DATA goes out", () => {
    const { log } = run(config(), [[START, 0], [TIMEOUT, 1000], [ack(1), 1010], [ack(1), 1011], [ack(2), 1020], [ack(2), 1021]]);
    expect(log).toEqual([
      [{ type: "send-data", first: 1, count: 1, resent: 0 }],
      [{ type: "send-data", first: 1, count: 1, resent: 1 }],
      [{ type: "send-data", first: 2, count: 1, resent: 0 }],
      { ignored: "duplicate-ack" },
      [{ type: "send-data", first: 3, count: 1, resent: 0 }],
      { ignored: "duplicate-ack" },
    ]);
  });

  test("a timeout event before the deadline does nothing; at it the block is sent again", () => {
    const { log } = run(config(), [[START, 0], [TIMEOUT, 999], [TIMEOUT, 1000]]);
    expect(log).toEqual([[{ type: "send-data", first: 1, count: 1, resent: 0 }], [], [{ type: "send-data", first: 1, count: 1, resent: 1 }]]);
  });

  test("after maxRetries timeouts without progress the transfer fails with an error packet; progress resets the count", () => {
    const { state, log } = run(config(), [
      [START, 0],
      [TIMEOUT, 1000],
      [ack(1), 1500],
      [TIMEOUT, 2500],
      [TIMEOUT, 3500],
      [TIMEOUT, 4500],
      [ack(2), 4600],
    ]);
    expect(log.slice(3)).toEqual([
      [{ type: "send-data", first: 2, count: 1, resent: 1 }],
      [{ type: "send-data", first: 2, count: 1, resent: 1 }],
      [
        { type: "send-error", code: 0, message: "timed out waiting for acknowledgement" },
        { type: "fail", reason: "timeout", detail: "no acknowledgement after 3 tries" },
      ],
      { ignored: "after-end" },
    ]);
    expect(state.phase).toBe("failed");
  });

  test("an ACK for a block not yet sent is stray and ignored", () => {
    const { log } = run(config(), [[START, 0], [ack(3), 1]]);
    expect(log[1]).toEqual({ ignored: "unexpected-ack" });
  });

  test("a peer ERROR ends the transfer", () => {
    const { state, log } = run(config(), [[START, 0], [{ type: "error", code: 3, message: "disk full" }, 5]]);
    expect(log[1]).toEqual([{ type: "fail", reason: "peer-error", detail: "peer sent error 3: disk full" }]);
    expect(state.phase).toBe("failed");
  });
});

describe("options (RFC 2347)", () => {
  test("the OACK is acknowledged with ACK 0, then DATA 1 follows; a lost OACK is sent again", () => {
    const { log } = run(config({ sendsOack: true }), [[START, 0], [ack(1), 1], [TIMEOUT, 1000], [ack(0), 1100]]);
    expect(log).toEqual([
      [{ type: "send-oack", retransmit: false }],
      { ignored: "unexpected-ack" },
      [{ type: "send-oack", retransmit: true }],
      [{ type: "send-data", first: 1, count: 1, resent: 0 }],
    ]);
  });

  test("a client that never acknowledges the OACK is given up after maxRetries", () => {
    const { state } = run(config({ sendsOack: true }), [[START, 0], [TIMEOUT, 1000], [TIMEOUT, 2000], [TIMEOUT, 3000]]);
    expect(state.phase).toBe("failed");
  });
});

describe("windows (RFC 7440)", () => {
  const windowed = config({ sizeBytes: 512 * 10 + 100, windowsize: 4, sendsOack: true });

  test("windows of 4; an ACK inside a window restarts after it", () => {
    const { log } = run(windowed, [[START, 0], [ack(0), 1], [ack(4), 2], [ack(6), 3], [ack(10), 4], [ack(11), 5]]);
    expect(log).toEqual([
      [{ type: "send-oack", retransmit: false }],
      [{ type: "send-data", first: 1, count: 4, resent: 0 }],
      [{ type: "send-data", first: 5, count: 4, resent: 0 }],
      [{ type: "send-data", first: 7, count: 4, resent: 2 }],
      [{ type: "send-data", first: 11, count: 1, resent: 0 }],
      [{ type: "complete" }],
    ]);
  });

  test("a repeated ACK after a window sent once reports its first block lost: answered once, the next repeat ignored", () => {
    const { log } = run(windowed, [[START, 0], [ack(0), 1], [ack(4), 2], [ack(4), 3], [ack(4), 4]]);
    expect(log.slice(3)).toEqual([[{ type: "send-data", first: 5, count: 4, resent: 4 }], { ignored: "duplicate-ack" }]);
  });

  test("a repeated ACK 0 after an OACK sent once reports DATA 1 lost", () => {
    const { log } = run(windowed, [[START, 0], [ack(0), 1], [ack(0), 2]]);
    expect(log[2]).toEqual([{ type: "send-data", first: 1, count: 4, resent: 4 }]);
  });

  test("no echo chain: after a window went out twice, the client's repeated ACK for it is ignored", () => {
    const { log } = run(windowed, [
      [START, 0],
      [ack(0), 1],
      [TIMEOUT, 1001], // window 1-4 again
      [ack(4), 1010], // from the first copy
      [ack(4), 1011], // echo of the second copy: must not resend 5-8
      [ack(8), 1020],
      [ack(8), 1021], // window 5-8 went out once: this repeat is a loss report
    ]);
    expect(log.slice(3)).toEqual([
      [{ type: "send-data", first: 5, count: 4, resent: 0 }],
      { ignored: "duplicate-ack" },
      [{ type: "send-data", first: 9, count: 3, resent: 0 }],
      [{ type: "send-data", first: 9, count: 3, resent: 3 }],
    ]);
  });

  test("lock-step never answers a repeated ACK, even after a clean block", () => {
    const { log } = run(config({ sendsOack: true }), [[START, 0], [ack(0), 1], [ack(0), 2]]);
    expect(log[2]).toEqual({ ignored: "duplicate-ack" });
  });
});

describe("block numbers roll over from 65535 to 0", () => {
  test.each([
    ["64 MiB at blksize 512 (131073 blocks), lock-step", 64 << 20, 512, 1],
    ["70000 blocks of 8 bytes, windowsize 64", 8 * 70_000 - 3, 8, 64],
  ])("%s completes acknowledging only 16-bit numbers", (_name, sizeBytes, blksize, windowsize) => {
    let state = createTransfer(config({ sizeBytes, blksize, windowsize }));
    let result = step(state, START, 0);
    let firsts = 0;
    while (state.phase !== "completed") {
      state = result.state;
      const action = result.actions[0];
      if (action?.type !== "send-data") break;
      if (action.first > 65536 && firsts === 0) firsts = action.first;
      result = step(state, ack((action.first + action.count - 1) & 0xffff), 0);
    }
    expect(result.actions).toEqual([{ type: "complete" }]);
    expect(result.state.acked).toBe(Math.floor(sizeBytes / blksize) + 1);
    expect(firsts).toBeGreaterThan(65536);
  });

  test("ACK 0 after block 65535 means block 65536", () => {
    const { log } = run(config({ sizeBytes: 512 * 70_000 }), [
      [START, 0],
      ...Array.from({ length: 65_535 }, (_, i): [TransferEvent, number] => [ack(i + 1), 0]),
      [ack(0), 0],
    ]);
    expect(log.at(-2)).toEqual([{ type: "send-data", first: 65_536, count: 1, resent: 0 }]);
    expect(log.at(-1)).toEqual([{ type: "send-data", first: 65_537, count: 1, resent: 0 }]);
  });
});
