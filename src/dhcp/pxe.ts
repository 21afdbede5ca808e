// Encapsulated option spaces: option 43's PXE sub-options (PXE 2.1) and option 175's iPXE sub-options.

/** Option 43 sub-options for a PXEClient (Intel PXE Specification 2.1, §2.4 table 2-1). */
export const PxeSubOption = { DiscoveryControl: 6, BootServers: 8, BootMenu: 9, MenuPrompt: 10, BootItem: 71 } as const;

/** PXE 2.1 §2.4 PXE_DISCOVERY_CONTROL bit 3: boot the file named in this offer; no boot server discovery, no menu. */
export const DISCOVERY_BOOT_FILE_IN_OFFER = 8;

/**
 * Option 175 sub-options iPXE sends and reads (iPXE include/ipxe/dhcp.h and features.h). Codes
 * 0x10-0x4f mark features this build has, each with a one-byte version.
 */
export const IpxeSubOption = {
  Priority: 0x01,
  KeepSan: 0x08,
  SkipSanBoot: 0x09,
  FeaturePxeExt: 0x10,
  FeatureIscsi: 0x11,
  FeatureAoe: 0x12,
  FeatureHttp: 0x13,
  FeatureHttps: 0x14,
  FeatureTftp: 0x15,
  FeatureFtp: 0x16,
  FeatureDns: 0x17,
  FeatureBzimage: 0x18,
  FeatureMultiboot: 0x19,
  FeatureSlam: 0x1a,
  FeatureSrp: 0x1b,
  FeatureNbi: 0x20,
  FeaturePxe: 0x21,
  FeatureElf: 0x22,
  FeatureComboot: 0x23,
  FeatureEfi: 0x24,
  FeatureFcoe: 0x25,
  FeatureVlan: 0x26,
  FeatureMenu: 0x27,
  FeatureSdi: 0x28,
  FeatureNfs: 0x29,
  NoPxeDhcp: 0xb0,
  BusId: 0xb1,
  BiosDrive: 0xbd,
  Username: 0xbe,
  Password: 0xbf,
  Version: 0xeb,
} as const;

const PAD = 0;
const END = 255;

export type SubOptionReason = "sub-option-truncated" | "bad-sub-option-length";
export type SubOptionsResult = { ok: true; value: Map<number, Uint8Array> } | { ok: false; reason: SubOptionReason; offset: number };

/**
 * Both spaces share DHCP's own layout (RFC 2132 §8.4): [code][length][value]..., pad 0 and end 255.
 * A missing end is accepted: the option's own length already bounds the list, and iPXE omits it.
 * A code given twice keeps its first value, as iPXE's own lookup does.
 */
function decodeSubOptions(bytes: Uint8Array, offsets = new Map<number, number>()): SubOptionsResult {
  const value = new Map<number, Uint8Array>();
  for (let at = 0; at < bytes.length; ) {
    const code = bytes[at]!;
    if (code === PAD) {
      at += 1;
      continue;
    }
    if (code === END) break;
    if (at + 2 > bytes.length) return { ok: false, reason: "sub-option-truncated", offset: at };
    const length = bytes[at + 1]!;
    if (at + 2 + length > bytes.length) return { ok: false, reason: "sub-option-truncated", offset: at };
    if (!value.has(code)) {
      value.set(code, bytes.slice(at + 2, at + 2 + length));
      offsets.set(code, at);
    }
    at += 2 + length;
  }
  return { ok: true, value };
}

const FIXED_LENGTHS: ReadonlyArray<[code: number, length: number]> = [
  [PxeSubOption.DiscoveryControl, 1],
  [PxeSubOption.BootItem, 4],
];

/**
 * Option 43 as a PXE client reads it. Fixed-size sub-options are checked: discovery control is one
 * byte, a boot item is type and layer (two 16-bit numbers).
 */
export function decodePxeVendorOptions(bytes: Uint8Array): SubOptionsResult {
  const offsets = new Map<number, number>();
  const result = decodeSubOptions(bytes, offsets);
  if (!result.ok) return result;
  for (const [code, length] of FIXED_LENGTHS) {
    const value = result.value.get(code);
    if (value && value.length !== length) return { ok: false, reason: "bad-sub-option-length", offset: offsets.get(code)! };
  }
  return result;
}

/** Option 175's sub-options, as iPXE sends them (its features, bus id, version). */
export function decodeIpxeOptions(bytes: Uint8Array): SubOptionsResult {
  return decodeSubOptions(bytes);
}

/**
 * Option 43 payload for a PXE client: discovery control (8 = boot the file in this offer, no boot
 * server discovery or menu) and, in a boot server's reply on port 4011, the boot item it answers
 * (PXE 2.1 §2.2.5). Ends with end (255), as PXE ROMs expect.
 */
export function encodePxeVendorOptions(input: { discoveryControl?: number; bootItem?: { type: number; layer: number } }): Uint8Array {
  const bytes: number[] = [];
  if (input.discoveryControl !== undefined) bytes.push(PxeSubOption.DiscoveryControl, 1, byte(input.discoveryControl, "discovery control"));
  if (input.bootItem) {
    const { type, layer } = input.bootItem;
    bytes.push(PxeSubOption.BootItem, 4, ...word(type, "boot item type"), ...word(layer, "boot item layer"));
  }
  bytes.push(END);
  return Uint8Array.from(bytes);
}

function byte(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xff) throw new RangeError(`${what}: ${value} is not a byte`);
  return value;
}

function word(value: number, what: string): [number, number] {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) throw new RangeError(`${what}: ${value} is not a 16-bit number`);
  return [value >> 8, value & 0xff];
}

/** "6=08, 71=80 00 00 00" for describeDhcp. */
export function describeSubOptions(subOptions: Map<number, Uint8Array>): string {
  return [...subOptions]
    .map(([code, value]) => `${code}=${Array.from(value, (b) => b.toString(16).padStart(2, "0")).join(" ")}`)
    .join(", ");
}
