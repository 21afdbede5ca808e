// TFTP packets (RFC 1350, options RFC 2347): pure decode and encode, never throwing on input.

/** Opcodes, RFC 1350 section 5; OACK from RFC 2347. */
export const TftpOpcode = {
  ReadRequest: 1,
  WriteRequest: 2,
  Data: 3,
  Ack: 4,
  Error: 5,
  OptionAck: 6,
} as const;

/** Error codes, RFC 1350 appendix; 8 from RFC 2347 (option negotiation refused). */
export const TftpErrorCode = {
  NotDefined: 0,
  FileNotFound: 1,
  AccessViolation: 2,
  DiskFull: 3,
  IllegalOperation: 4,
  UnknownTransferId: 5,
  FileExists: 6,
  NoSuchUser: 7,
  OptionRefused: 8,
} as const;

export type TftpOption = { name: string; value: string };

export type TftpPacket =
  | { opcode: "rrq" | "wrq"; filename: string; mode: string; options: TftpOption[] }
  | { opcode: "data"; block: number; data: Uint8Array }
  | { opcode: "ack"; block: number }
  | { opcode: "error"; code: number; message: string }
  | { opcode: "oack"; options: TftpOption[] };

/** Every reason a decode can fail: a fixed set, so it is safe as a metric label. */
export type TftpDecodeReason =
  | "too-short"
  | "unknown-opcode"
  | "missing-filename-terminator"
  | "missing-mode-terminator"
  | "empty-filename"
  | "missing-option-value"
  | "missing-option-terminator"
  | "empty-option-name"
  | "duplicate-option"
  | "missing-block-number"
  | "missing-error-code";

export type TftpDecodeResult = { ok: true; value: TftpPacket } | { ok: false; reason: TftpDecodeReason; offset: number };

/**
 * Names and values are netascii on the wire; bytes above 0x7f are kept one char per byte (latin1) so any
 * filename survives a decode/encode round trip unchanged.
 */
function latin1(bytes: Uint8Array, start: number, end: number): string {
  let text = "";
  for (let i = start; i < end; i++) text += String.fromCharCode(bytes[i]!);
  return text;
}

function writeLatin1(target: Uint8Array, offset: number, text: string): number {
  for (let i = 0; i < text.length; i++) target[offset + i] = text.charCodeAt(i) & 0xff;
  target[offset + text.length] = 0;
  return offset + text.length + 1;
}

const readU16 = (bytes: Uint8Array, offset: number) => (bytes[offset]! << 8) | bytes[offset + 1]!;

/**
 * The option list of RRQ/WRQ and OACK (RFC 2347 section "Packet Formats"):
 *
 *   +-------+---~~---+---+---~~---+---+---~~---+---+---~~---+---+
 *   |  opc  |  opt1  | 0 | value1 | 0 |  optN  | 0 | valueN | 0 |
 *   +-------+---~~---+---+---~~---+---+---~~---+---+---~~---+---+
 *
 * Names compare case-insensitively (RFC 2347), so a repeated name in any case is a duplicate.
 */
function decodeOptions(
  bytes: Uint8Array,
  start: number,
): { ok: true; options: TftpOption[] } | { ok: false; reason: TftpDecodeReason; offset: number } {
  const options: TftpOption[] = [];
  const seen = new Set<string>();
  let offset = start;
  while (offset < bytes.length) {
    const nameEnd = bytes.indexOf(0, offset);
    if (nameEnd < 0) return { ok: false, reason: "missing-option-value", offset };
    if (nameEnd === offset) return { ok: false, reason: "empty-option-name", offset };
    const valueEnd = bytes.indexOf(0, nameEnd + 1);
    if (valueEnd < 0) return { ok: false, reason: "missing-option-terminator", offset: nameEnd + 1 };
    const name = latin1(bytes, offset, nameEnd);
    const key = name.toLowerCase();
    if (seen.has(key)) return { ok: false, reason: "duplicate-option", offset };
    seen.add(key);
    options.push({ name, value: latin1(bytes, nameEnd + 1, valueEnd) });
    offset = valueEnd + 1;
  }
  return { ok: true, options };
}

/**
 * Decodes one datagram. RRQ/WRQ (RFC 1350 section 5, figure 5-1, options appended per RFC 2347):
 *
 *    2 bytes     string    1 byte     string   1 byte
 *   ------------------------------------------------
 *   | Opcode |  Filename  |   0  |    Mode    |   0  |  [options]
 *   ------------------------------------------------
 *
 * DATA (figure 5-2):          ACK (figure 5-3):       ERROR (figure 5-4):
 *    2 bytes  2 bytes  n bytes    2 bytes  2 bytes       2 bytes  2 bytes    string   1 byte
 *   ---------------------------  -----------------     -------------------------------------
 *   | 03 |  Block #  |  Data  |  | 04 |  Block #  |     | 05 | ErrorCode |  ErrMsg  |   0  |
 *   ---------------------------  -----------------     -------------------------------------
 *
 * Leniency where real peers differ from the diagrams: bytes after an ACK's block number are ignored, and an
 * ERROR whose message lacks its terminating 0 keeps the text up to the end of the datagram.
 */
export function decodeTftp(bytes: Uint8Array): TftpDecodeResult {
  if (bytes.length < 2) return { ok: false, reason: "too-short", offset: 0 };
  const opcode = readU16(bytes, 0);
  switch (opcode) {
    case TftpOpcode.ReadRequest:
    case TftpOpcode.WriteRequest: {
      const filenameEnd = bytes.indexOf(0, 2);
      if (filenameEnd < 0) return { ok: false, reason: "missing-filename-terminator", offset: 2 };
      if (filenameEnd === 2) return { ok: false, reason: "empty-filename", offset: 2 };
      const modeEnd = bytes.indexOf(0, filenameEnd + 1);
      if (modeEnd < 0) return { ok: false, reason: "missing-mode-terminator", offset: filenameEnd + 1 };
      const options = decodeOptions(bytes, modeEnd + 1);
      if (!options.ok) return options;
      return {
        ok: true,
        value: {
          opcode: opcode === TftpOpcode.ReadRequest ? "rrq" : "wrq",
          filename: latin1(bytes, 2, filenameEnd),
          mode: latin1(bytes, filenameEnd + 1, modeEnd),
          options: options.options,
        },
      };
    }
    case TftpOpcode.Data:
      if (bytes.length < 4) return { ok: false, reason: "missing-block-number", offset: 2 };
      return { ok: true, value: { opcode: "data", block: readU16(bytes, 2), data: bytes.subarray(4) } };
    case TftpOpcode.Ack:
      if (bytes.length < 4) return { ok: false, reason: "missing-block-number", offset: 2 };
      return { ok: true, value: { opcode: "ack", block: readU16(bytes, 2) } };
    case TftpOpcode.Error: {
      if (bytes.length < 4) return { ok: false, reason: "missing-error-code", offset: 2 };
      const end = bytes.indexOf(0, 4);
      return { ok: true, value: { opcode: "error", code: readU16(bytes, 2), message: latin1(bytes, 4, end < 0 ? bytes.length : end) } };
    }
    case TftpOpcode.OptionAck: {
      const options = decodeOptions(bytes, 2);
      if (!options.ok) return options;
      return { ok: true, value: { opcode: "oack", options: options.options } };
    }
    default:
      return { ok: false, reason: "unknown-opcode", offset: 0 };
  }
}

const optionsLength = (options: readonly TftpOption[]) => options.reduce((sum, o) => sum + o.name.length + o.value.length + 2, 0);

function writeOptions(target: Uint8Array, offset: number, options: readonly TftpOption[]): number {
  for (const { name, value } of options) offset = writeLatin1(target, writeLatin1(target, offset, name), value);
  return offset;
}

/** Encodes a packet; options keep the order given. The inverse of decodeTftp for every packet it returns. */
export function encodeTftp(packet: TftpPacket): Uint8Array {
  switch (packet.opcode) {
    case "rrq":
    case "wrq": {
      const out = new Uint8Array(2 + packet.filename.length + 1 + packet.mode.length + 1 + optionsLength(packet.options));
      out[1] = packet.opcode === "rrq" ? TftpOpcode.ReadRequest : TftpOpcode.WriteRequest;
      writeOptions(out, writeLatin1(out, writeLatin1(out, 2, packet.filename), packet.mode), packet.options);
      return out;
    }
    case "data": {
      const out = new Uint8Array(4 + packet.data.length);
      writeDataHeader(out, packet.block);
      out.set(packet.data, 4);
      return out;
    }
    case "ack":
      return new Uint8Array([0, TftpOpcode.Ack, (packet.block >> 8) & 0xff, packet.block & 0xff]);
    case "error": {
      const out = new Uint8Array(4 + packet.message.length + 1);
      out[1] = TftpOpcode.Error;
      out[2] = (packet.code >> 8) & 0xff;
      out[3] = packet.code & 0xff;
      writeLatin1(out, 4, packet.message);
      return out;
    }
    case "oack": {
      const out = new Uint8Array(2 + optionsLength(packet.options));
      out[1] = TftpOpcode.OptionAck;
      writeOptions(out, 2, packet.options);
      return out;
    }
  }
}

/**
 * Writes a DATA header (opcode and the block number's low 16 bits) into a reused packet buffer: the server's hot
 * path fills the payload in place instead of encoding a fresh packet per block.
 */
export function writeDataHeader(packet: Uint8Array, block: number): void {
  packet[0] = 0;
  packet[1] = TftpOpcode.Data;
  packet[2] = (block >> 8) & 0xff;
  packet[3] = block & 0xff;
}
