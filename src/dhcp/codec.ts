// DHCP messages (RFC 2131/2132) as bytes and back: the fixed BOOTP header, the options area, overload and long options.
import { DHCP_MAGIC_COOKIE, DhcpOption, BROADCAST_FLAG, BOOTREPLY, BOOTREQUEST, HTYPE_ETHERNET, Overload } from "./constants.ts";
import {
  concat,
  decodeField,
  describeField,
  encodeField,
  FIELDS,
  hex,
  ipv4Bytes,
  ipv4Text,
  KEY_BY_CODE,
  KNOWN_KEYS,
  latin1Bytes,
  type DhcpOptions,
  type KnownOptionKey,
  type OptionValueReason,
} from "./options.ts";

export type { DhcpOptions } from "./options.ts";

export interface DhcpMessage {
  op: number;
  htype: number;
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  /** 16 bytes as on the wire. */
  chaddr: Uint8Array;
  /** NUL-terminated text fields (empty when overloaded with options). */
  sname: string;
  file: string;
  options: DhcpOptions;
}

export type DhcpDecodeReason =
  | "too-short"
  | "bad-op"
  | "bad-hlen"
  | "bad-magic-cookie"
  | "option-truncated"
  | "missing-end"
  | "bad-overload"
  | OptionValueReason;

export type DecodeResult = { ok: true; value: DhcpMessage } | { ok: false; reason: DhcpDecodeReason; offset: number };

/*
 * RFC 2131 §2, figure 1 (byte offsets on the left):
 *
 *     0 | op (1) | htype (1) | hlen (1) | hops (1) |
 *     4 |                 xid (4)                  |
 *     8 |     secs (2)       |      flags (2)      |
 *    12 |                ciaddr (4)                |
 *    16 |                yiaddr (4)                |
 *    20 |                siaddr (4)                |
 *    24 |                giaddr (4)                |
 *    28 |                chaddr (16)               |
 *    44 |                sname (64)                |
 *   108 |                file (128)                |
 *   236 |   magic cookie 99.130.83.99 (4)          |
 *   240 |   options: [code][len][value]... 255     |
 */
const SNAME_AT = 44;
const SNAME_BYTES = 64;
const FILE_AT = 108;
const FILE_BYTES = 128;
const COOKIE_AT = 236;
const OPTIONS_AT = 240;
const CHADDR_AT = 28;
const CHADDR_BYTES = 16;
/** RFC 951: a BOOTP message is at least 300 bytes (64-byte vendor area); some relays and PXE ROMs drop shorter ones. */
const BOOTP_MIN_BYTES = 300;
/** RFC 2131 §2: every client accepts a 576-byte IP datagram, i.e. 548 bytes of DHCP after IPv4 (20) and UDP (8) headers. */
const MIN_MAX_MESSAGE_BYTES = 576;
const IP_UDP_HEADER_BYTES = 28;
/** RFC 3396 §7: an option longer than this is split into several instances of the same code. */
const MAX_OPTION_CHUNK = 255;

type Failure = { ok: false; reason: DhcpDecodeReason; offset: number };

interface Instance {
  code: number;
  offset: number;
  /** Where the value lies in the packet: offsets, not a subarray, as JSC's subarray is the decoder's largest cost. */
  start: number;
  end: number;
}

/**
 * Walks one options area. The options field must end with end (255); an overloaded file or sname
 * field may be filled to its last byte instead (RFC 2131 §4.1 only asks that they "end" with it).
 */
function readArea(bytes: Uint8Array, start: number, end: number, requireEnd: boolean, into: Instance[]): Failure | null {
  for (let at = start; at < end; ) {
    const code = bytes[at]!;
    if (code === DhcpOption.Pad) {
      at += 1;
      continue;
    }
    if (code === DhcpOption.End) return null;
    if (at + 2 > end || at + 2 + bytes[at + 1]! > end) return { ok: false, reason: "option-truncated", offset: at };
    into.push({ code, offset: at, start: at + 2, end: at + 2 + bytes[at + 1]! });
    at += 2 + bytes[at + 1]!;
  }
  return requireEnd ? { ok: false, reason: "missing-end", offset: end } : null;
}

// Big-endian fields by hand: a DataView needs the array's .buffer, which JSC materialises at a cost on every packet.
const readUint32 = (bytes: Uint8Array, at: number) => ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;

function writeUint32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 24;
  bytes[at + 1] = (value >>> 16) & 0xff;
  bytes[at + 2] = (value >>> 8) & 0xff;
  bytes[at + 3] = value & 0xff;
}

function writeUint16(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 8;
  bytes[at + 1] = value & 0xff;
}

/** Text up to the first NUL, one character per byte. */
function fieldText(bytes: Uint8Array, at: number, size: number): string {
  let text = "";
  for (let i = at; i < at + size && bytes[i] !== 0; i++) text += String.fromCharCode(bytes[i]!);
  return text;
}

/** Never throws: any byte string is a message or a reason and the offset where it went wrong. */
export function decodeDhcp(bytes: Uint8Array): DecodeResult {
  if (bytes.length < OPTIONS_AT) return { ok: false, reason: "too-short", offset: bytes.length };
  if (bytes[0] !== BOOTREQUEST && bytes[0] !== BOOTREPLY) return { ok: false, reason: "bad-op", offset: 0 };
  if (bytes[2]! > CHADDR_BYTES) return { ok: false, reason: "bad-hlen", offset: 2 };
  if (readUint32(bytes, COOKIE_AT) !== DHCP_MAGIC_COOKIE) return { ok: false, reason: "bad-magic-cookie", offset: COOKIE_AT };

  const instances: Instance[] = [];
  const main = readArea(bytes, OPTIONS_AT, bytes.length, true, instances);
  if (main) return main;

  // RFC 2132 §9.3 option 52; RFC 3396 §5: options, then file, then sname, concatenated in that order.
  const overloads = instances.filter((instance) => instance.code === DhcpOption.Overload);
  let overload = 0;
  if (overloads.length > 0) {
    const first = overloads[0]!;
    if (overloads.length > 1 || first.end - first.start !== 1) return { ok: false, reason: "bad-option-length", offset: first.offset };
    overload = bytes[first.start]!;
    if (overload < Overload.File || overload > Overload.Both) return { ok: false, reason: "bad-overload", offset: first.offset };
    const overloaded = instances.length;
    const file = overload & Overload.File ? readArea(bytes, FILE_AT, FILE_AT + FILE_BYTES, false, instances) : null;
    if (file) return file;
    const sname = overload & Overload.Sname ? readArea(bytes, SNAME_AT, SNAME_AT + SNAME_BYTES, false, instances) : null;
    if (sname) return sname;
    const nested = instances.slice(overloaded).find((instance) => instance.code === DhcpOption.Overload);
    if (nested) return { ok: false, reason: "bad-overload", offset: nested.offset };
  }

  // RFC 3396 §6: every instance of a code, in order, is one value. Values are copies: a server keeps some (client id,
  // relay agent) after the packet's buffer is gone.
  const grouped = new Map<number, Instance[]>();
  for (const instance of instances) {
    if (instance.code === DhcpOption.Overload) continue;
    const group = grouped.get(instance.code);
    if (group) group.push(instance);
    else grouped.set(instance.code, [instance]);
  }
  const options: DhcpOptions = {};
  for (const [code, parts] of grouped) {
    const offset = parts[0]!.offset;
    const value = parts.length === 1 ? bytes.slice(parts[0]!.start, parts[0]!.end) : concat(parts.map((p) => bytes.subarray(p.start, p.end)));
    const key = KEY_BY_CODE.get(code);
    if (key) {
      const reason = decodeField(options, key, value);
      if (reason) return { ok: false, reason, offset };
    } else {
      options.other ??= new Map();
      options.other.set(code, value);
    }
  }

  return {
    ok: true,
    value: {
      op: bytes[0]!,
      htype: bytes[1]!,
      hlen: bytes[2]!,
      hops: bytes[3]!,
      xid: readUint32(bytes, 4),
      secs: (bytes[8]! << 8) | bytes[9]!,
      flags: (bytes[10]! << 8) | bytes[11]!,
      ciaddr: ipv4Text(bytes, 12),
      yiaddr: ipv4Text(bytes, 16),
      siaddr: ipv4Text(bytes, 20),
      giaddr: ipv4Text(bytes, 24),
      chaddr: bytes.slice(CHADDR_AT, CHADDR_AT + CHADDR_BYTES),
      sname: overload & Overload.Sname ? "" : fieldText(bytes, SNAME_AT, SNAME_BYTES),
      file: overload & Overload.File ? "" : fieldText(bytes, FILE_AT, FILE_BYTES),
      options,
    },
  };
}

/** Known fields in the order they are written: 53, then 54 (as dnsmasq writes them), then by code. */
const ENCODE_ORDER: KnownOptionKey[] = [
  "messageType",
  "serverId",
  ...KNOWN_KEYS.filter((key) => key !== "messageType" && key !== "serverId").sort((a, b) => FIELDS[a].code - FIELDS[b].code),
];

function checkUint(value: number, bits: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** bits) throw new RangeError(`${what}: ${value} is not a ${bits}-bit unsigned integer`);
  return value;
}

/** Bytes the value takes as options: [code][len] before every 255-byte chunk (RFC 3396 §7), at least one instance. */
const optionBytes = (value: Uint8Array) => value.length + 2 * Math.max(1, Math.ceil(value.length / MAX_OPTION_CHUNK));

/** Writes [code][len][chunk] for every chunk of the value at `at` in `out`; returns the offset after it. */
function writeOption(out: Uint8Array, at: number, code: number, value: Uint8Array): number {
  if (value.length <= MAX_OPTION_CHUNK) {
    out[at] = code;
    out[at + 1] = value.length;
    out.set(value, at + 2);
    return at + 2 + value.length;
  }
  let from = 0;
  do {
    const chunk = Math.min(MAX_OPTION_CHUNK, value.length - from);
    out[at] = code;
    out[at + 1] = chunk;
    out.set(value.subarray(from, from + chunk), at + 2);
    at += 2 + chunk;
    from += MAX_OPTION_CHUNK;
  } while (from < value.length);
  return at;
}

/**
 * Deterministic: fixed option order (53 first, then 54, then ascending code, then `other` in its
 * order), ends with 255, zero-padded to the 300-byte BOOTP minimum; never uses overload. `maxBytes`
 * is the largest IP datagram the client takes: the client's option 57 (RFC 2132 §9.10), 576 when it
 * sent none or less. A message that does not fit throws a RangeError rather than going out cut short.
 * Field values that cannot go on the wire (a bad address, a 65-byte sname) throw a RangeError too.
 * Sized first, then written straight into one buffer: a server encodes one of these per reply.
 */
export function encodeDhcp(message: DhcpMessage, maxBytes = MIN_MAX_MESSAGE_BYTES): Uint8Array {
  const codes: number[] = [];
  const values: Uint8Array[] = [];
  for (const key of ENCODE_ORDER) {
    const value = encodeField(message.options, key);
    if (!value) continue;
    codes.push(FIELDS[key].code);
    values.push(value);
  }
  for (const [code, value] of message.options.other ?? []) {
    if (!Number.isInteger(code) || code <= DhcpOption.Pad || code >= DhcpOption.End || code === DhcpOption.Overload || KEY_BY_CODE.has(code)) {
      throw new RangeError(`option ${code} cannot travel in options.other`);
    }
    codes.push(code);
    values.push(value);
  }
  let optionsLength = 1;
  for (const value of values) optionsLength += optionBytes(value);

  const size = Math.max(OPTIONS_AT + optionsLength, BOOTP_MIN_BYTES);
  const limit = Math.max(maxBytes, MIN_MAX_MESSAGE_BYTES) - IP_UDP_HEADER_BYTES;
  if (size > limit) {
    throw new RangeError(`DHCP message of ${size} bytes exceeds the client's limit of ${limit} (max message size ${Math.max(maxBytes, MIN_MAX_MESSAGE_BYTES)})`);
  }
  const bytes = new Uint8Array(size);
  let at = OPTIONS_AT;
  for (let i = 0; i < values.length; i++) at = writeOption(bytes, at, codes[i]!, values[i]!);
  bytes[at] = DhcpOption.End;

  bytes[0] = checkUint(message.op, 8, "op");
  bytes[1] = checkUint(message.htype, 8, "htype");
  bytes[2] = checkUint(message.hlen, 8, "hlen");
  bytes[3] = checkUint(message.hops, 8, "hops");
  writeUint32(bytes, 4, checkUint(message.xid, 32, "xid"));
  writeUint16(bytes, 8, checkUint(message.secs, 16, "secs"));
  writeUint16(bytes, 10, checkUint(message.flags, 16, "flags"));
  bytes.set(ipv4Bytes(message.ciaddr, "ciaddr"), 12);
  bytes.set(ipv4Bytes(message.yiaddr, "yiaddr"), 16);
  bytes.set(ipv4Bytes(message.siaddr, "siaddr"), 20);
  bytes.set(ipv4Bytes(message.giaddr, "giaddr"), 24);
  if (message.chaddr.length > CHADDR_BYTES) throw new RangeError(`chaddr: ${message.chaddr.length} bytes is more than ${CHADDR_BYTES}`);
  bytes.set(message.chaddr, CHADDR_AT);
  bytes.set(fixedText(message.sname, SNAME_BYTES, "sname"), SNAME_AT);
  bytes.set(fixedText(message.file, FILE_BYTES, "file"), FILE_AT);
  writeUint32(bytes, COOKIE_AT, DHCP_MAGIC_COOKIE);
  return bytes;
}

/** A text field fills at most its size; the zero bytes after it are the NUL terminator. */
function fixedText(text: string, size: number, what: string): Uint8Array {
  const bytes = latin1Bytes(text, what);
  if (bytes.length > size) throw new RangeError(`${what}: ${bytes.length} bytes is more than ${size}`);
  return bytes;
}

const HEX_BYTE = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

/** The client's hardware address as aa:bb:cc:dd:ee:ff when htype=1/hlen=6, else null. */
export function macOf(message: DhcpMessage): string | null {
  if (message.htype !== HTYPE_ETHERNET || message.hlen !== 6 || message.chaddr.length < 6) return null;
  const c = message.chaddr;
  return `${HEX_BYTE[c[0]!]}:${HEX_BYTE[c[1]!]}:${HEX_BYTE[c[2]!]}:${HEX_BYTE[c[3]!]}:${HEX_BYTE[c[4]!]}:${HEX_BYTE[c[5]!]}`;
}

/** One readable line per field and option (for fixtures' .txt decodes and debug logs). */
export function describeDhcp(message: DhcpMessage): string {
  const mac = macOf(message);
  const chaddrRest = message.chaddr.subarray(6);
  const lines = [
    `op: ${message.op}${message.op === BOOTREQUEST ? " (BOOTREQUEST)" : message.op === BOOTREPLY ? " (BOOTREPLY)" : ""}`,
    `htype: ${message.htype}`,
    `hlen: ${message.hlen}`,
    `hops: ${message.hops}`,
    `xid: 0x${message.xid.toString(16).padStart(8, "0")}`,
    `secs: ${message.secs}`,
    `flags: 0x${message.flags.toString(16).padStart(4, "0")}${message.flags & BROADCAST_FLAG ? " (broadcast)" : ""}`,
    `ciaddr: ${message.ciaddr}`,
    `yiaddr: ${message.yiaddr}`,
    `siaddr: ${message.siaddr}`,
    `giaddr: ${message.giaddr}`,
    `chaddr: ${mac && chaddrRest.every((b) => b === 0) ? mac : hex(message.chaddr)}`,
    `sname: ${JSON.stringify(message.sname)}`,
    `file: ${JSON.stringify(message.file)}`,
  ];
  for (const key of ENCODE_ORDER) {
    const line = describeField(message.options, key);
    if (line) lines.push(line);
  }
  for (const [code, value] of message.options.other ?? []) lines.push(`option ${code}: ${hex(value)}`);
  return lines.join("\n");
}
