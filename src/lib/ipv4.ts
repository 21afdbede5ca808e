// IPv4 addresses in dotted-quad form.

const QUAD = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** The address as written when it is a valid dotted quad without leading zeros, else null. */
export const parseIpv4 = (raw: string): string | null => (QUAD.test(raw.trim()) ? raw.trim() : null);

/** The address as an unsigned 32-bit number; the input must be a valid dotted quad. A scan: DHCP calls it per packet. */
export function ipv4ToNumber(ip: string): number {
  let n = 0;
  let octet = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c === 46) {
      n = (n << 8) | octet;
      octet = 0;
    } else {
      octet = octet * 10 + (c - 48);
    }
  }
  return ((n << 8) | octet) >>> 0;
}

export function numberToIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export interface Ipv4Network {
  /** The network address as a number. */
  base: number;
  prefix: number;
  /** The netmask as a number. */
  mask: number;
  /** 10.0.0.0/24 */
  cidr: string;
}

export function networkOf(ip: string, prefix: number): Ipv4Network {
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const base = (ipv4ToNumber(ip) & mask) >>> 0;
  return { base, prefix, mask, cidr: `${numberToIpv4(base)}/${prefix}` };
}

/** `10.0.0.0/24` → the network, or null when it is not one. */
export function parseCidr(raw: string): Ipv4Network | null {
  const match = /^([^/]+)\/(\d{1,2})$/.exec(raw.trim());
  if (!match || !parseIpv4(match[1]!) || Number(match[2]) > 32) return null;
  return networkOf(match[1]!, Number(match[2]));
}

export const inNetwork = (network: Ipv4Network, n: number) => ((n & network.mask) >>> 0) === network.base;

/** The netmask's prefix length, or null when it is not a contiguous mask. */
export function prefixOfMask(mask: string): number | null {
  const n = ipv4ToNumber(mask);
  const prefix = Math.clz32(~n >>> 0);
  return networkOf("255.255.255.255", prefix).mask === n ? prefix : null;
}
