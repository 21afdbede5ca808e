// Option negotiation for a read request: blksize (RFC 2348), timeout and tsize (RFC 2349), windowsize (RFC 7440).
import type { TftpOption } from "./codec.ts";

/** Option names and their limits, from the RFC that defines each. */
export const TftpOptionName = { BlockSize: "blksize", Timeout: "timeout", TransferSize: "tsize", WindowSize: "windowsize" } as const;

export const TFTP_LIMITS = {
  /** RFC 1350: every block but the last is 512 bytes when no blksize is agreed. */
  defaultBlockSize: 512,
  /** RFC 2348 section "Blocksize Option Specification": valid values are 8 to 65464 octets. */
  minBlockSize: 8,
  maxBlockSize: 65464,
  /** RFC 2349 section "Timeout Interval Option Specification": 1 to 255 seconds. */
  minTimeoutSeconds: 1,
  maxTimeoutSeconds: 255,
  /** RFC 7440 section 3: 1 to 65535 blocks. */
  maxWindowSize: 65535,
} as const;

export interface NegotiationLimits {
  /** Retransmission interval when the client names no timeout option. */
  defaultTimeoutMs: number;
  /**
   * Bytes one transfer may keep in flight (window × block): the server holds one reusable buffer per block of a
   * window, so this bounds the memory of each concurrent transfer. RFC 7440 lets the server answer a smaller window.
   */
  windowBudgetBytes: number;
}

export interface Negotiated {
  blksize: number;
  windowsize: number;
  timeoutMs: number;
  /** Options for the OACK in the client's order; null when none was accepted (the transfer starts with DATA 1). */
  oack: TftpOption[] | null;
}

const DECIMAL = /^\d{1,10}$/;

/**
 * Accepts what the server can honour and leaves out the rest (RFC 2347: unknown or unacceptable options are simply
 * not acknowledged). blksize and windowsize may be answered smaller than asked (RFC 2348, RFC 7440); timeout must be
 * echoed exactly or dropped (RFC 2349); tsize in a read request is answered with the size sent (RFC 2349).
 */
export function negotiateOptions(requested: readonly TftpOption[], sizeBytes: number, limits: NegotiationLimits): Negotiated {
  let blksize: number = TFTP_LIMITS.defaultBlockSize;
  let windowsize = 1;
  let timeoutMs = limits.defaultTimeoutMs;
  const oack: TftpOption[] = [];
  let askedWindow = 0;
  let windowIndex = -1;
  for (const { name, value } of requested) {
    if (!DECIMAL.test(value)) continue;
    const number = Number(value);
    switch (name.toLowerCase()) {
      case TftpOptionName.BlockSize:
        if (number < TFTP_LIMITS.minBlockSize) break;
        blksize = Math.min(number, TFTP_LIMITS.maxBlockSize);
        oack.push({ name, value: String(blksize) });
        break;
      case TftpOptionName.Timeout:
        if (number < TFTP_LIMITS.minTimeoutSeconds || number > TFTP_LIMITS.maxTimeoutSeconds) break;
        timeoutMs = number * 1000;
        oack.push({ name, value });
        break;
      case TftpOptionName.TransferSize:
        oack.push({ name, value: String(sizeBytes) });
        break;
      case TftpOptionName.WindowSize:
        if (number < 1) break;
        askedWindow = Math.min(number, TFTP_LIMITS.maxWindowSize);
        windowIndex = oack.length;
        oack.push({ name, value: "" });
        break;
    }
  }
  // The window depends on the agreed block size, which may come after windowsize in the request.
  if (windowIndex >= 0) {
    windowsize = Math.max(1, Math.min(askedWindow, Math.floor(limits.windowBudgetBytes / (blksize + 4))));
    oack[windowIndex] = { name: oack[windowIndex]!.name, value: String(windowsize) };
  }
  return { blksize, windowsize, timeoutMs, oack: oack.length > 0 ? oack : null };
}
