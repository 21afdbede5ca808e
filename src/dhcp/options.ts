// The DHCP options goosed reads and writes: each known code's value type, its wire form and its one-line description.
import { ClientArch, DhcpOption, type MessageTypeValue, MessageType, RelayAgentSubOption } from "./constants.ts";
import { decodePxeVendorOptions, decodeIpxeOptions, describeSubOptions } from "./pxe.ts";

export interface DhcpOptions {
  messageType?: MessageTypeValue;
  subnetMask?: string;
  routers?: string[];
  dnsServers?: string[];
  hostname?: string;
  domainName?: string;
  broadcastAddress?: string;
  ntpServers?: string[];
  vendorSpecific?: Uint8Array;
  requestedIp?: string;
  leaseSeconds?: number;
  serverId?: string;
  parameterRequestList?: number[];
  maxMessageSize?: number;
  renewalSeconds?: number;
  rebindingSeconds?: number;
  vendorClass?: string;
  clientId?: Uint8Array;
  tftpServerName?: string;
  bootfileName?: string;
  /** RFC 3004 user classes; iPXE's plain "iPXE" (not RFC 3004) is the one-element list ["iPXE"]. */
  userClass?: string[];
  /** Raw option 82 payload, echoed back verbatim per RFC 3046 §2.2. */
  relayAgent?: Uint8Array;
  clientArch?: number[];
  clientNdi?: Uint8Array;
  /** As sent, incl. the type byte (RFC 4578 §2.3: type 0 + 16 bytes). */
  clientUuid?: Uint8Array;
  ipxe?: Uint8Array;
  /** Every other option as raw bytes, by code, in arrival order. */
  other?: Map<number, Uint8Array>;
}

/** Why a known option's value was refused. */
export type OptionValueReason =
  | "bad-option-length"
  | "bad-message-type"
  | "bad-relay-agent"
  | "bad-client-uuid";

type Decoded<T> = { ok: true; value: T } | { ok: false; reason: OptionValueReason };

interface ValueCodec<T> {
  decode(bytes: Uint8Array): Decoded<T>;
  /** Throws RangeError when the value cannot be put on the wire. */
  encode(value: T): Uint8Array;
  describe(value: T): string;
}

export type KnownOptionKey = Exclude<keyof DhcpOptions, "other">;

const badLength = { ok: false, reason: "bad-option-length" } as const;

export const hex = (bytes: Uint8Array): string =>
  bytes.length === 0 ? "(empty)" : Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");

/** Wire strings are bytes, one character each (latin1): hostnames and vendor classes are ASCII, and nothing is lost. */
export const latin1 = (bytes: Uint8Array): string => String.fromCharCode(...bytes);

export function latin1Bytes(text: string, what: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0xff) throw new RangeError(`${what}: character ${JSON.stringify(text[i])} is not one byte (latin1)`);
    bytes[i] = code;
  }
  return bytes;
}

/** A dotted quad (no leading zeros, as lib/ipv4.ts spells them) as 4 bytes; a hand-rolled scan, as every reply has ~10. */
export function ipv4Bytes(address: string, what: string): Uint8Array {
  const bytes = new Uint8Array(4);
  let part = 0;
  let digits = 0;
  let value = 0;
  for (let i = 0; i <= address.length; i++) {
    const c = i < address.length ? address.charCodeAt(i) : 46;
    if (c >= 48 && c <= 57 && digits < 3 && !(digits === 1 && value === 0)) {
      value = value * 10 + (c - 48);
      digits++;
      continue;
    }
    if (c !== 46 || digits === 0 || value > 255 || part > 3) throw new RangeError(`${what}: ${JSON.stringify(address)} is not an IPv4 address`);
    bytes[part++] = value;
    digits = 0;
    value = 0;
  }
  if (part !== 4) throw new RangeError(`${what}: ${JSON.stringify(address)} is not an IPv4 address`);
  return bytes;
}

export const ipv4Text = (bytes: Uint8Array, at = 0): string => `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`;

function uint(value: number, size: 1 | 2 | 4, what: string): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** (8 * size)) throw new RangeError(`${what}: ${value} is not a ${8 * size}-bit unsigned integer`);
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (value >>> (8 * (size - 1 - i))) & 0xff;
  return bytes;
}

const readUint = (bytes: Uint8Array, at: number, size: number): number => {
  let value = 0;
  for (let i = 0; i < size; i++) value = value * 256 + bytes[at + i]!;
  return value;
};

const ip: ValueCodec<string> = {
  decode: (bytes) => (bytes.length === 4 ? { ok: true, value: ipv4Text(bytes) } : badLength),
  encode: (value) => ipv4Bytes(value, "address"),
  describe: (value) => value,
};

const ipList: ValueCodec<string[]> = {
  decode(bytes) {
    if (bytes.length === 0 || bytes.length % 4 !== 0) return badLength;
    return { ok: true, value: Array.from({ length: bytes.length / 4 }, (_, i) => ipv4Text(bytes, 4 * i)) };
  },
  encode: (value) => concat(value.map((address) => ipv4Bytes(address, "address list"))),
  describe: (value) => value.join(", "),
};

/** RFC 2132 text options have a minimum length of 1. */
const text: ValueCodec<string> = {
  decode: (bytes) => (bytes.length > 0 ? { ok: true, value: latin1(bytes) } : badLength),
  encode: (value) => latin1Bytes(value, "text option"),
  describe: (value) => JSON.stringify(value),
};

const uint32Seconds: ValueCodec<number> = {
  decode: (bytes) => (bytes.length === 4 ? { ok: true, value: readUint(bytes, 0, 4) } : badLength),
  encode: (value) => uint(value, 4, "seconds"),
  describe: (value) => `${value} s`,
};

const uint16: ValueCodec<number> = {
  decode: (bytes) => (bytes.length === 2 ? { ok: true, value: readUint(bytes, 0, 2) } : badLength),
  encode: (value) => uint(value, 2, "16-bit option"),
  describe: (value) => String(value),
};

const MESSAGE_TYPE_NAMES = new Map<number, string>(Object.entries(MessageType).map(([name, value]) => [value, name]));

const messageType: ValueCodec<MessageTypeValue> = {
  decode(bytes) {
    if (bytes.length !== 1) return badLength;
    return MESSAGE_TYPE_NAMES.has(bytes[0]!) ? { ok: true, value: bytes[0] as MessageTypeValue } : { ok: false, reason: "bad-message-type" };
  },
  encode: (value) => uint(value, 1, "message type"),
  describe: (value) => `${value} (${MESSAGE_TYPE_NAMES.get(value) ?? "unknown"})`,
};

const codeList: ValueCodec<number[]> = {
  decode: (bytes) => (bytes.length > 0 ? { ok: true, value: Array.from(bytes) } : badLength),
  encode: (value) => concat(value.map((code) => uint(code, 1, "option code"))),
  describe: (value) => value.join(" "),
};

/** Opaque bytes of at least `min` (and exactly `exact`, when given) octets. */
function raw(min: number, describe: (value: Uint8Array) => string = hex): ValueCodec<Uint8Array> {
  return {
    decode: (bytes) => (bytes.length >= min ? { ok: true, value: bytes.slice() } : badLength),
    encode: (value) => value,
    describe,
  };
}

/**
 * RFC 3004 §2: a list of [length][class] items. iPXE sends its plain "iPXE" instead, which does not
 * parse as such a list (the 'i' would be a length of 105): anything that is not an exact RFC 3004
 * list is one class, the whole payload.
 */
const userClass: ValueCodec<string[]> = {
  decode(bytes) {
    if (bytes.length === 0) return badLength;
    return { ok: true, value: parseUserClassList(bytes) ?? [latin1(bytes)] };
  },
  encode(value) {
    if (value.length === 0) throw new RangeError("user class: empty list");
    const [only] = value;
    // One class goes out plain, as iPXE sends it, unless the plain bytes would read back as an RFC 3004 list.
    if (value.length === 1 && only !== undefined && only.length > 0 && parseUserClassList(latin1Bytes(only, "user class")) === null) {
      return latin1Bytes(only, "user class");
    }
    return concat(
      value.map((item) => {
        if (item.length === 0 || item.length > 255) throw new RangeError(`user class: ${JSON.stringify(item)} must be 1-255 bytes`);
        return concat([Uint8Array.of(item.length), latin1Bytes(item, "user class")]);
      }),
    );
  },
  describe: (value) => value.map((item) => JSON.stringify(item)).join(", "),
};

function parseUserClassList(bytes: Uint8Array): string[] | null {
  const items: string[] = [];
  for (let at = 0; at < bytes.length; ) {
    const length = bytes[at]!;
    if (length === 0 || at + 1 + length > bytes.length) return null;
    items.push(latin1(bytes.subarray(at + 1, at + 1 + length)));
    at += 1 + length;
  }
  return items;
}

/** Option 82's sub-options (RFC 3046 §2.0): [code][length][value]... with no pad or end. */
export function decodeRelayAgentSubOptions(bytes: Uint8Array): Map<number, Uint8Array> | null {
  const subOptions = new Map<number, Uint8Array>();
  for (let at = 0; at < bytes.length; ) {
    if (at + 2 > bytes.length || at + 2 + bytes[at + 1]! > bytes.length) return null;
    subOptions.set(bytes[at]!, bytes.slice(at + 2, at + 2 + bytes[at + 1]!));
    at += 2 + bytes[at + 1]!;
  }
  return subOptions;
}

const RELAY_SUB_OPTION_NAMES = new Map<number, string>([
  [RelayAgentSubOption.CircuitId, "circuit-id"],
  [RelayAgentSubOption.RemoteId, "remote-id"],
]);

const relayAgent: ValueCodec<Uint8Array> = {
  decode(bytes) {
    if (bytes.length === 0) return badLength;
    return decodeRelayAgentSubOptions(bytes) ? { ok: true, value: bytes.slice() } : { ok: false, reason: "bad-relay-agent" };
  },
  encode: (value) => value,
  describe: (value) =>
    [...(decodeRelayAgentSubOptions(value) ?? [])].map(([code, sub]) => `${RELAY_SUB_OPTION_NAMES.get(code) ?? code}=${hex(sub)}`).join(", "),
};

const ARCH_NAMES = new Map<number, string>(Object.entries(ClientArch).map(([name, value]) => [value, name]));

/** RFC 4578 §2.1: a list of 16-bit architecture types. */
const clientArch: ValueCodec<number[]> = {
  decode(bytes) {
    if (bytes.length === 0 || bytes.length % 2 !== 0) return badLength;
    return { ok: true, value: Array.from({ length: bytes.length / 2 }, (_, i) => readUint(bytes, 2 * i, 2)) };
  },
  encode: (value) => concat(value.map((arch) => uint(arch, 2, "client arch"))),
  describe: (value) => value.map((arch) => `${arch} (${ARCH_NAMES.get(arch) ?? "unassigned"})`).join(", "),
};

/** RFC 4578 §2.2: type 1 (UNDI), major, minor. */
const clientNdi: ValueCodec<Uint8Array> = {
  decode: (bytes) => (bytes.length === 3 ? { ok: true, value: bytes.slice() } : badLength),
  encode: (value) => value,
  describe: (value) => `type ${value[0]}, UNDI ${value[1]}.${value[2]}`,
};

/** RFC 4578 §2.3: type 0 then the 16-byte machine identifier. */
const clientUuid: ValueCodec<Uint8Array> = {
  decode(bytes) {
    if (bytes.length !== 17) return badLength;
    return bytes[0] === 0 ? { ok: true, value: bytes.slice() } : { ok: false, reason: "bad-client-uuid" };
  },
  encode: (value) => value,
  describe: (value) => {
    const digits = Array.from(value.subarray(1), (b) => b.toString(16).padStart(2, "0")).join("");
    return `type ${value[0]}, ${digits.slice(0, 8)}-${digits.slice(8, 12)}-${digits.slice(12, 16)}-${digits.slice(16, 20)}-${digits.slice(20)} (wire order)`;
  },
};

const describeVendorSpecific = (value: Uint8Array): string => {
  const pxe = decodePxeVendorOptions(value);
  return pxe.ok ? `${hex(value)} (PXE ${describeSubOptions(pxe.value)})` : hex(value);
};

const describeIpxe = (value: Uint8Array): string => {
  const ipxe = decodeIpxeOptions(value);
  return ipxe.ok ? describeSubOptions(ipxe.value) : hex(value);
};

interface Field<T> {
  code: number;
  /** Name in descriptions: RFC 2132's, lowercased. */
  name: string;
  codec: ValueCodec<T>;
}

/** Every known option, by field, in ascending code order (the order encodeDhcp writes them after 53 and 54). */
export const FIELDS: { readonly [K in KnownOptionKey]: Field<NonNullable<DhcpOptions[K]>> } = {
  subnetMask: { code: DhcpOption.SubnetMask, name: "subnet-mask", codec: ip },
  routers: { code: DhcpOption.Router, name: "router", codec: ipList },
  dnsServers: { code: DhcpOption.DomainServer, name: "domain-server", codec: ipList },
  hostname: { code: DhcpOption.Hostname, name: "hostname", codec: text },
  domainName: { code: DhcpOption.DomainName, name: "domain-name", codec: text },
  broadcastAddress: { code: DhcpOption.BroadcastAddress, name: "broadcast-address", codec: ip },
  ntpServers: { code: DhcpOption.NtpServers, name: "ntp-servers", codec: ipList },
  vendorSpecific: { code: DhcpOption.VendorSpecific, name: "vendor-specific", codec: raw(1, describeVendorSpecific) },
  requestedIp: { code: DhcpOption.RequestedIp, name: "requested-ip", codec: ip },
  leaseSeconds: { code: DhcpOption.LeaseTime, name: "lease-time", codec: uint32Seconds },
  messageType: { code: DhcpOption.MessageType, name: "message-type", codec: messageType },
  serverId: { code: DhcpOption.ServerId, name: "server-id", codec: ip },
  parameterRequestList: { code: DhcpOption.ParameterRequestList, name: "parameter-request-list", codec: codeList },
  maxMessageSize: { code: DhcpOption.MaxMessageSize, name: "max-message-size", codec: uint16 },
  renewalSeconds: { code: DhcpOption.RenewalTime, name: "renewal-time", codec: uint32Seconds },
  rebindingSeconds: { code: DhcpOption.RebindingTime, name: "rebinding-time", codec: uint32Seconds },
  vendorClass: { code: DhcpOption.VendorClass, name: "vendor-class", codec: text },
  // RFC 2132 §9.14: a type octet and at least one more.
  clientId: { code: DhcpOption.ClientId, name: "client-id", codec: raw(2) },
  tftpServerName: { code: DhcpOption.TftpServerName, name: "tftp-server-name", codec: text },
  bootfileName: { code: DhcpOption.BootfileName, name: "bootfile-name", codec: text },
  userClass: { code: DhcpOption.UserClass, name: "user-class", codec: userClass },
  relayAgent: { code: DhcpOption.RelayAgent, name: "relay-agent", codec: relayAgent },
  clientArch: { code: DhcpOption.ClientArch, name: "client-arch", codec: clientArch },
  clientNdi: { code: DhcpOption.ClientNdi, name: "client-ndi", codec: clientNdi },
  clientUuid: { code: DhcpOption.ClientUuid, name: "client-uuid", codec: clientUuid },
  ipxe: { code: DhcpOption.Ipxe, name: "ipxe", codec: raw(1, describeIpxe) },
};

export const KNOWN_KEYS = Object.keys(FIELDS) as KnownOptionKey[];
export const KEY_BY_CODE = new Map<number, KnownOptionKey>(KNOWN_KEYS.map((key) => [FIELDS[key].code, key]));

/** Decodes one known option's (concatenated) value into `options`; the reason when it is malformed. */
export function decodeField<K extends KnownOptionKey>(options: DhcpOptions, key: K, bytes: Uint8Array): OptionValueReason | null {
  const result = FIELDS[key].codec.decode(bytes);
  if (!result.ok) return result.reason;
  options[key] = result.value;
  return null;
}

/** The option's value bytes, or undefined when the field is unset. */
export function encodeField<K extends KnownOptionKey>(options: DhcpOptions, key: K): Uint8Array | undefined {
  const value = options[key];
  return value === undefined ? undefined : FIELDS[key].codec.encode(value as NonNullable<DhcpOptions[K]>);
}

export function describeField<K extends KnownOptionKey>(options: DhcpOptions, key: K): string | undefined {
  const value = options[key];
  if (value === undefined) return undefined;
  const field = FIELDS[key];
  return `option ${field.code} ${field.name}: ${field.codec.describe(value as NonNullable<DhcpOptions[K]>)}`;
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
