// The appliance's own address and the full-mode pool, derived from goosed.subnet the way an operator would pick them.
import { inNetwork, type Ipv4Network, ipv4ToNumber, networkOf, numberToIpv4, parseIpv4 } from "../lib/ipv4.ts";

export interface HostAddress {
  ip: string;
  prefix: number;
  network: Ipv4Network;
}

/** `10.74.0.1/24` → the address with its network, or null. A prefix is required: an address alone says nothing of its LAN. */
export function parseHostAddress(raw: string): HostAddress | null {
  const match = /^([^/]+)\/(\d{1,2})$/.exec(raw.trim());
  const ip = match ? parseIpv4(match[1]!) : null;
  const prefix = Number(match?.[2]);
  if (!ip || prefix < 1 || prefix > 32) return null;
  return { ip, prefix, network: networkOf(ip, prefix) };
}

const broadcastOf = (network: Ipv4Network) => (network.base | (~network.mask >>> 0)) >>> 0;

/** Usable host addresses of a network (no network or broadcast address), or null for /31 and /32, which have too few. */
export function hostsOf(network: Ipv4Network): { first: number; last: number } | null {
  if (network.prefix > 30) return null;
  return { first: network.base + 1, last: broadcastOf(network) - 1 };
}

/** The appliance's default address: the subnet's first host, as routers are conventionally numbered. */
export function defaultAddress(network: Ipv4Network): HostAddress | null {
  const hosts = hostsOf(network);
  return hosts ? { ip: numberToIpv4(hosts.first), prefix: network.prefix, network } : null;
}

/**
 * The default pool: hosts .100 to .199 (offsets from the network address) clipped to the subnet, which leaves
 * .2–.99 for static machines on a /24; a subnet too small to reach .100 gets its upper half instead.
 */
export function defaultRange(network: Ipv4Network): { first: number; last: number } | null {
  const hosts = hostsOf(network);
  if (!hosts) return null;
  if (network.base + 100 <= hosts.last) return { first: network.base + 100, last: Math.min(network.base + 199, hosts.last) };
  const half = (broadcastOf(network) - network.base + 1) / 2;
  return { first: Math.max(network.base + half, hosts.first + 1), last: hosts.last };
}

export type RangeProblem = "malformed" | "outside" | "backwards";

/** `FIRST-LAST` inside the network's hosts, or the reason it is not. */
export function parseRangeIn(raw: string, network: Ipv4Network): { first: number; last: number } | { problem: RangeProblem } {
  const parts = raw.trim().split("-");
  const [from, to] = parts.length === 2 ? parts.map((p) => parseIpv4(p)) : [null, null];
  if (!from || !to) return { problem: "malformed" };
  const [first, last] = [ipv4ToNumber(from), ipv4ToNumber(to)];
  const hosts = hostsOf(network);
  if (!hosts || !inNetwork(network, first) || !inNetwork(network, last) || first < hosts.first || last > hosts.last) return { problem: "outside" };
  if (first > last) return { problem: "backwards" };
  return { first, last };
}

export const formatRange = (range: { first: number; last: number }) => `${numberToIpv4(range.first)}-${numberToIpv4(range.last)}`;
