// One read transfer as a pure step function: events (start, ACK, peer ERROR, timeout) in, packets to send out.
import { TftpErrorCode } from "./codec.ts";

export interface TransferConfig {
  sizeBytes: number;
  blksize: number;
  windowsize: number;
  timeoutMs: number;
  /** Timeouts in a row without progress before the transfer is given up. */
  maxRetries: number;
  /** Whether an OACK opens the transfer (RFC 2347); its content is the server's business. */
  sendsOack: boolean;
}

export type TransferPhase = "idle" | "negotiating" | "sending" | "completed" | "failed";

export interface TransferState {
  readonly config: TransferConfig;
  readonly phase: TransferPhase;
  /** Blocks in the file: every full block plus the final short one, which is empty when size is a multiple (RFC 1350). */
  readonly totalBlocks: number;
  /** Highest block (absolute, from 1) the client has acknowledged; 0 before any. */
  readonly acked: number;
  /** Highest block (absolute) sent in the current window. */
  readonly sent: number;
  /** Timeouts since the last progress. */
  readonly retries: number;
  /** Blocks of the current window that had been sent before. */
  readonly windowResent: number;
  /**
   * Whether a duplicate ACK may be read as the client's report that the window's first block was lost (see step).
   * True only when nothing the client could still be receiving was ever sent twice.
   */
  readonly trustDuplicate: boolean;
  /** When the current wait times out; the server delivers a timeout event at or after it. */
  readonly deadlineMs: number;
}

export type TransferEvent =
  | { type: "start" }
  | { type: "ack"; block: number }
  | { type: "error"; code: number; message: string }
  | { type: "timeout" };

export type TransferAction =
  | { type: "send-oack"; retransmit: boolean }
  /** Blocks first..first+count-1 (absolute numbers; the wire carries the low 16 bits); `resent` of them went out before. */
  | { type: "send-data"; first: number; count: number; resent: number }
  | { type: "send-error"; code: number; message: string }
  | { type: "complete" }
  | { type: "fail"; reason: TransferFailure; detail: string };

export type TransferFailure = "timeout" | "peer-error";

/** Why an event changed nothing, for counting: a duplicate ACK must never trigger a resend (Sorcerer's Apprentice, RFC 1350 §4 note). */
export type TransferIgnored = "duplicate-ack" | "unexpected-ack" | "after-end";

export interface StepResult {
  state: TransferState;
  actions: TransferAction[];
  ignored?: TransferIgnored;
}

export function createTransfer(config: TransferConfig): TransferState {
  return {
    config,
    phase: "idle",
    totalBlocks: Math.floor(config.sizeBytes / config.blksize) + 1,
    acked: 0,
    sent: 0,
    retries: 0,
    windowResent: 0,
    trustDuplicate: false,
    deadlineMs: Number.POSITIVE_INFINITY,
  };
}

/** Bytes of an absolute block: full blocks, then the remainder (possibly 0) in the last. */
export function blockRange(state: TransferState, block: number): { start: number; end: number } {
  const start = (block - 1) * state.config.blksize;
  return { start, end: Math.min(start + state.config.blksize, state.config.sizeBytes) };
}

const NO_ACTIONS: TransferAction[] = [];

/** The next window after `acked`: RFC 7440 section 4, lock-step windows of up to windowsize blocks. */
function sendWindow(state: TransferState, nowMs: number, retries: number, trustDuplicate: boolean): StepResult {
  const first = state.acked + 1;
  const count = Math.min(state.config.windowsize, state.totalBlocks - state.acked);
  const last = first + count - 1;
  const resent = Math.max(0, Math.min(last, state.sent) - first + 1);
  return {
    state: {
      ...state,
      phase: "sending",
      sent: last,
      retries,
      windowResent: resent,
      trustDuplicate: trustDuplicate && state.config.windowsize > 1,
      deadlineMs: nowMs + state.config.timeoutMs,
    },
    actions: [{ type: "send-data", first, count, resent }],
  };
}

/**
 * Maps a 16-bit ACK to an absolute block within what is outstanding. Block numbers roll over from 65535 to 0
 * (what tftp-hpa and atftp expect for files over 65535 blocks); since a window never exceeds 65535 blocks, the
 * distance from the last acknowledged block identifies the ACK without ambiguity. Null when it is not in
 * (acked, sent]: a duplicate or a stray.
 */
function absoluteAck(state: TransferState, block: number): number | null {
  const distance = (block - (state.acked & 0xffff)) & 0xffff;
  if (distance === 0 || distance > state.sent - state.acked) return null;
  return state.acked + distance;
}

export function step(state: TransferState, event: TransferEvent, nowMs: number): StepResult {
  if (state.phase === "completed" || state.phase === "failed") return { state, actions: NO_ACTIONS, ignored: "after-end" };
  switch (event.type) {
    case "start":
      if (state.phase !== "idle") return { state, actions: NO_ACTIONS };
      if (!state.config.sendsOack) return sendWindow(state, nowMs, 0, false);
      return {
        state: { ...state, phase: "negotiating", deadlineMs: nowMs + state.config.timeoutMs },
        actions: [{ type: "send-oack", retransmit: false }],
      };
    case "ack": {
      // RFC 2347: the client acknowledges an OACK with ACK 0; anything else while negotiating is stray.
      // An OACK sent once cannot be echoed, so a repeated ACK 0 then reports a lost DATA 1.
      if (state.phase === "negotiating") {
        return event.block === 0 ? sendWindow(state, nowMs, 0, state.retries === 0) : { state, actions: NO_ACTIONS, ignored: "unexpected-ack" };
      }
      if (state.phase !== "sending") return { state, actions: NO_ACTIONS, ignored: "unexpected-ack" };
      const block = absoluteAck(state, event.block);
      if (block === null) {
        if (event.block !== (state.acked & 0xffff)) return { state, actions: NO_ACTIONS, ignored: "unexpected-ack" };
        // A windowed receiver that misses the first block of a window re-acknowledges the previous one (RFC 7440 §4;
        // atftp does so at once). Answered once, and only when no block was ever sent twice: a duplicate caused by
        // our own retransmission (the client echoing a block it got twice) is ignored, so no duplicate can feed
        // another and the Sorcerer's Apprentice cannot start. In lock-step (windowsize 1) duplicates are always ignored.
        if (!state.trustDuplicate) return { state, actions: NO_ACTIONS, ignored: "duplicate-ack" };
        return sendWindow(state, nowMs, state.retries, false);
      }
      if (block === state.totalBlocks) {
        return { state: { ...state, phase: "completed", acked: block, deadlineMs: Number.POSITIVE_INFINITY }, actions: [{ type: "complete" }] };
      }
      // An ACK inside the window means the client lost what follows it: the next window starts after it (RFC 7440 §4).
      // A whole window acknowledged that was sent once leaves nothing to echo.
      const wholeWindow = block === state.sent && state.windowResent === 0;
      return sendWindow({ ...state, acked: block }, nowMs, 0, wholeWindow);
    }
    case "error":
      return {
        state: { ...state, phase: "failed", deadlineMs: Number.POSITIVE_INFINITY },
        actions: [{ type: "fail", reason: "peer-error", detail: `peer sent error ${event.code}: ${event.message}` }],
      };
    case "timeout": {
      if (state.phase === "idle" || nowMs < state.deadlineMs) return { state, actions: NO_ACTIONS };
      if (state.retries >= state.config.maxRetries) {
        return {
          state: { ...state, phase: "failed", deadlineMs: Number.POSITIVE_INFINITY },
          actions: [
            { type: "send-error", code: TftpErrorCode.NotDefined, message: "timed out waiting for acknowledgement" },
            { type: "fail", reason: "timeout", detail: `no acknowledgement after ${state.retries + 1} tries` },
          ],
        };
      }
      if (state.phase === "negotiating") {
        return {
          state: { ...state, retries: state.retries + 1, deadlineMs: nowMs + state.config.timeoutMs },
          actions: [{ type: "send-oack", retransmit: true }],
        };
      }
      return sendWindow(state, nowMs, state.retries + 1, false);
    }
  }
}
