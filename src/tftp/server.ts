// The TFTP listener: takes requests on its port and runs each read transfer from its own socket; moves bytes and timers only.
import type { udp } from "bun";
import type { Logger } from "../lib/logger.ts";
import { decodeTftp, encodeTftp, type TftpDecodeReason, TftpErrorCode, TftpOpcode, type TftpOption, writeDataHeader } from "./codec.ts";
import type { TftpFiles } from "./files.ts";
import { toNetascii } from "./netascii.ts";
import { negotiateOptions } from "./options.ts";
import { blockRange, createTransfer, type StepResult, step, type TransferEvent, type TransferState } from "./transfer.ts";

export interface TftpTransferEvent {
  kind: "completed" | "failed";
  path: string;
  peer: string;
  bytes: number;
  blksize: number;
  windowsize: number;
  reason?: string;
  durationMs: number;
}

export interface TftpServerOptions {
  host: string;
  port: number;
  files: TftpFiles;
  log: Logger;
  onTransfer?(event: TftpTransferEvent): void;
  /** Timeouts in a row without progress before a transfer is abandoned. */
  maxRetries?: number;
}

/** Why a packet or request went wrong: a fixed set, safe as a metric label. */
export type TftpErrorReason =
  | TftpDecodeReason
  | "write-request"
  | "unsupported-mode"
  | "file-not-found"
  | "access-violation"
  | "open-failed"
  | "socket-failed"
  | "unexpected-packet"
  | "stray-ack"
  | "timeout"
  | "peer-error";

export interface TftpStats {
  /** Read and write requests received (duplicates of a running transfer included). */
  requests: number;
  transfersActive: number;
  transfersCompleted: number;
  transfersFailed: number;
  /** DATA payload bytes sent, retransmissions included. */
  bytesSent: number;
  packetsSent: number;
  /** DATA and OACK packets sent again after a timeout or a client's report of loss. */
  retransmits: number;
  /** ACKs for a block already acknowledged: counted, never answered (no Sorcerer's Apprentice). */
  duplicateAcks: number;
  errors: Record<TftpErrorReason, number>;
}

export interface TftpServer {
  readonly port: number;
  readonly stats: TftpStats;
  stop(): Promise<void>;
}

/** No timeout option: retransmit after a second, as tftp-hpa's client and most firmware do. */
const DEFAULT_TIMEOUT_MS = 1000;
const DEFAULT_MAX_RETRIES = 5;
/** Per-transfer packet buffers (window × block); 1 MiB allows windowsize 64 at blksize 1468 with room to spare. */
const WINDOW_BUDGET_BYTES = 1 << 20;
/** Enough of a bad packet to see what it was without letting a flood fill the log. */
const HEX_LOG_BYTES = 128;

const ERROR_REASONS: readonly TftpErrorReason[] = [
  "too-short",
  "unknown-opcode",
  "missing-filename-terminator",
  "missing-mode-terminator",
  "empty-filename",
  "missing-option-value",
  "missing-option-terminator",
  "empty-option-name",
  "duplicate-option",
  "missing-block-number",
  "missing-error-code",
  "write-request",
  "unsupported-mode",
  "file-not-found",
  "access-violation",
  "open-failed",
  "socket-failed",
  "unexpected-packet",
  "stray-ack",
  "timeout",
  "peer-error",
];

const refusalReason = (code: number): TftpErrorReason =>
  code === TftpErrorCode.FileNotFound ? "file-not-found" : code === TftpErrorCode.AccessViolation ? "access-violation" : "open-failed";

const peerName = (address: string, port: number) => (address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`);

const hexOf = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, HEX_LOG_BYTES)).toString("hex");

interface Transfer {
  readonly peer: string;
  readonly path: string;
  readonly startedMs: number;
  readonly socket: udp.ConnectedSocket<"buffer">;
  readonly file: Buffer;
  readonly oack: Uint8Array | null;
  /** One reusable DATA packet per block of a window: header rewritten, payload copied in, per send. */
  readonly slots: Uint8Array[];
  /** The packets handed to sendMany, reused between windows. */
  readonly outgoing: Uint8Array[];
  /** Index in `outgoing` from which the kernel refused the rest (send buffer full); sent on drain. */
  unsentFrom: number;
  state: TransferState;
  timer: ReturnType<typeof setTimeout> | null;
  done: boolean;
}

export async function startTftpServer(options: TftpServerOptions): Promise<TftpServer> {
  const log = options.log;
  const maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
  const errors = Object.fromEntries(ERROR_REASONS.map((r) => [r, 0])) as Record<TftpErrorReason, number>;
  const stats: TftpStats = {
    requests: 0,
    transfersActive: 0,
    transfersCompleted: 0,
    transfersFailed: 0,
    bytesSent: 0,
    packetsSent: 0,
    retransmits: 0,
    duplicateAcks: 0,
    errors,
  };
  /** Running and starting transfers by peer: a repeated RRQ from the same port is the same request (RFC 1350 §4). */
  const transfers = new Map<string, Transfer | "opening">();
  let stopped = false;

  const malformed = (peer: string, bytes: Uint8Array, reason: TftpDecodeReason, offset: number) => {
    errors[reason]++;
    log.debug("malformed tftp packet", { peer, reason, offset, hex: hexOf(bytes) });
  };

  async function sendRefusal(address: string, port: number, code: number, message: string): Promise<void> {
    // RFC 1350 §4: even a refusal comes from a fresh transfer ID, not from port 69.
    try {
      const socket = await Bun.udpSocket({ hostname: options.host, port: 0, connect: { hostname: address, port } });
      socket.send(encodeTftp({ opcode: "error", code, message }));
      socket.close();
    } catch (error) {
      errors["socket-failed"]++;
      log.debug("tftp refusal not sent", { peer: peerName(address, port), error });
    }
  }

  const main = await Bun.udpSocket({
    hostname: options.host,
    port: options.port,
    socket: {
      data(_socket, bytes, port, address) {
        const peer = peerName(address, port);
        const decoded = decodeTftp(bytes);
        if (!decoded.ok) return malformed(peer, bytes, decoded.reason, decoded.offset);
        const packet = decoded.value;
        if (packet.opcode === "wrq") {
          stats.requests++;
          errors["write-request"]++;
          log.debug("tftp write request refused", { peer, path: packet.filename });
          void sendRefusal(address, port, TftpErrorCode.AccessViolation, "write requests are not accepted");
          return;
        }
        if (packet.opcode !== "rrq") {
          errors["unexpected-packet"]++;
          log.debug("tftp packet without a transfer", { peer, opcode: packet.opcode });
          return;
        }
        stats.requests++;
        if (transfers.has(peer)) return;
        transfers.set(peer, "opening");
        void begin(address, port, peer, packet.filename, packet.mode, packet.options).catch((error) => {
          transfers.delete(peer);
          log.error("tftp transfer did not start", { peer, error });
        });
      },
    },
  });

  async function begin(address: string, port: number, peer: string, path: string, mode: string, requested: TftpOption[]): Promise<void> {
    const modeName = mode.toLowerCase();
    if (modeName !== "octet" && modeName !== "netascii") {
      transfers.delete(peer);
      errors["unsupported-mode"]++;
      return sendRefusal(address, port, TftpErrorCode.IllegalOperation, `mode ${mode} is not supported; use octet`);
    }
    const opened = await options.files.open(path);
    if (stopped) return;
    if (!opened.ok) {
      transfers.delete(peer);
      errors[refusalReason(opened.code)]++;
      log.debug("tftp request refused", { peer, path, code: opened.code, message: opened.message });
      return sendRefusal(address, port, opened.code, opened.message);
    }
    const bytes = modeName === "netascii" ? toNetascii(opened.file.bytes) : opened.file.bytes;
    const agreed = negotiateOptions(requested, bytes.length, { defaultTimeoutMs: DEFAULT_TIMEOUT_MS, windowBudgetBytes: WINDOW_BUDGET_BYTES });
    let transfer: Transfer | undefined;
    let socket: udp.ConnectedSocket<"buffer">;
    try {
      socket = await Bun.udpSocket({
        hostname: options.host,
        port: 0,
        connect: { hostname: address, port },
        socket: {
          data: (_socket, packet) => transfer && onPacket(transfer, packet),
          drain: () => transfer && flush(transfer),
        },
      });
    } catch (error) {
      transfers.delete(peer);
      errors["socket-failed"]++;
      log.warn("tftp transfer socket failed", { peer, error });
      return;
    }
    if (stopped) {
      socket.close();
      return;
    }
    const slots = Array.from({ length: agreed.windowsize }, () => new Uint8Array(agreed.blksize + 4));
    transfer = {
      peer,
      path,
      startedMs: performance.now(),
      socket,
      file: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      oack: agreed.oack ? encodeTftp({ opcode: "oack", options: agreed.oack }) : null,
      slots,
      outgoing: [],
      unsentFrom: 0,
      state: createTransfer({
        sizeBytes: bytes.length,
        blksize: agreed.blksize,
        windowsize: agreed.windowsize,
        timeoutMs: agreed.timeoutMs,
        maxRetries,
        sendsOack: agreed.oack !== null,
      }),
      timer: null,
      done: false,
    };
    transfers.set(peer, transfer);
    stats.transfersActive++;
    log.debug("tftp transfer started", { peer, path, size: bytes.length, blksize: agreed.blksize, windowsize: agreed.windowsize });
    advance(transfer, { type: "start" });
  }

  function onPacket(transfer: Transfer, bytes: Uint8Array): void {
    // The hot path of every transfer: an ACK is read in place, without building a packet object.
    if (bytes.length >= 4 && bytes[0] === 0 && bytes[1] === TftpOpcode.Ack) {
      return advance(transfer, { type: "ack", block: (bytes[2]! << 8) | bytes[3]! });
    }
    const decoded = decodeTftp(bytes);
    if (!decoded.ok) return malformed(transfer.peer, bytes, decoded.reason, decoded.offset);
    const packet = decoded.value;
    if (packet.opcode === "ack") return advance(transfer, { type: "ack", block: packet.block });
    if (packet.opcode === "error") return advance(transfer, { type: "error", code: packet.code, message: packet.message });
    errors["unexpected-packet"]++;
    log.debug("unexpected tftp packet in a transfer", { peer: transfer.peer, opcode: packet.opcode });
  }

  function advance(transfer: Transfer, event: TransferEvent): void {
    apply(transfer, step(transfer.state, event, performance.now()));
  }

  function apply(transfer: Transfer, result: StepResult): void {
    transfer.state = result.state;
    if (result.ignored === "duplicate-ack") stats.duplicateAcks++;
    else if (result.ignored === "unexpected-ack") errors["stray-ack"]++;
    for (const action of result.actions) {
      switch (action.type) {
        case "send-oack":
          transfer.socket.send(transfer.oack!);
          stats.packetsSent++;
          if (action.retransmit) stats.retransmits++;
          break;
        case "send-data":
          sendBlocks(transfer, action.first, action.count);
          stats.retransmits += action.resent;
          break;
        case "send-error":
          transfer.socket.send(encodeTftp({ opcode: "error", code: action.code, message: action.message }));
          break;
        case "complete":
          return finish(transfer, "completed");
        case "fail":
          errors[action.reason]++;
          return finish(transfer, "failed", action.detail, action.reason === "peer-error" && result.state.acked === 0);
      }
    }
    arm(transfer);
  }

  /** Fills the window's packet buffers from the file and hands them to the kernel in one sendMany. */
  function sendBlocks(transfer: Transfer, first: number, count: number): void {
    const { slots, outgoing, file, state } = transfer;
    outgoing.length = count;
    for (let i = 0; i < count; i++) {
      const slot = slots[i]!;
      const block = first + i;
      const { start, end } = blockRange(state, block);
      writeDataHeader(slot, block);
      file.copy(slot, 4, start, end);
      outgoing[i] = end - start === state.config.blksize ? slot : slot.subarray(0, 4 + end - start);
      stats.bytesSent += end - start;
    }
    transfer.unsentFrom = 0;
    flush(transfer);
  }

  function flush(transfer: Transfer): void {
    if (transfer.done || transfer.unsentFrom >= transfer.outgoing.length) return;
    const { outgoing, socket } = transfer;
    // Lock-step sends one packet per ACK: send() skips sendMany's array walk on the path that bounds its speed.
    const sent =
      outgoing.length === 1
        ? Number(socket.send(outgoing[0]!))
        : socket.sendMany(transfer.unsentFrom === 0 ? outgoing : outgoing.slice(transfer.unsentFrom));
    stats.packetsSent += sent;
    transfer.unsentFrom += sent;
  }

  /** One timer per transfer, re-armed lazily: ACKs move the deadline without touching the timer. */
  function arm(transfer: Transfer): void {
    if (transfer.done || transfer.timer || !Number.isFinite(transfer.state.deadlineMs)) return;
    const delayMs = Math.max(0, Math.ceil(transfer.state.deadlineMs - performance.now()));
    transfer.timer = setTimeout(() => {
      transfer.timer = null;
      if (transfer.done) return;
      if (performance.now() >= transfer.state.deadlineMs) advance(transfer, { type: "timeout" });
      else arm(transfer);
    }, delayMs);
  }

  function finish(transfer: Transfer, kind: "completed" | "failed", reason?: string, quiet = false): void {
    transfer.done = true;
    if (transfer.timer) clearTimeout(transfer.timer);
    transfer.socket.close();
    transfers.delete(transfer.peer);
    stats.transfersActive--;
    const { config } = transfer.state;
    const event: TftpTransferEvent = {
      kind,
      path: transfer.path,
      peer: transfer.peer,
      bytes: config.sizeBytes,
      blksize: config.blksize,
      windowsize: config.windowsize,
      durationMs: Math.round(performance.now() - transfer.startedMs),
      ...(reason === undefined ? {} : { reason }),
    };
    if (kind === "completed") stats.transfersCompleted++;
    else stats.transfersFailed++;
    // Firmware commonly aborts the first RRQ once the OACK told it the size (then asks again): not worth a line above debug.
    if (quiet) log.debug("tftp transfer aborted by peer", { ...event });
    else log.info(kind === "completed" ? "tftp transfer completed" : "tftp transfer failed", { ...event });
    try {
      options.onTransfer?.(event);
    } catch (error) {
      log.error("tftp transfer listener failed", { error });
    }
  }

  return {
    port: main.port,
    stats,
    async stop() {
      if (stopped) return;
      stopped = true;
      main.close();
      for (const transfer of [...transfers.values()]) {
        if (transfer === "opening") continue;
        transfer.socket.send(encodeTftp({ opcode: "error", code: TftpErrorCode.NotDefined, message: "server is stopping" }));
        finish(transfer, "failed", "server stopped");
      }
      transfers.clear();
    },
  };
}
