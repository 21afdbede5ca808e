// Turns the dhcp section of the configuration and the served interface's address into the subnets goosed answers
// for, checking everything an operator can get wrong up front, each error naming its setting and what to do.
import { networkInterfaces } from "node:os";
import { type Config, ConfigError } from "../config/index.ts";
import type { FieldError } from "../lib/errors.ts";
import { inNetwork, type Ipv4Network, ipv4ToNumber, networkOf, parseCidr, parseIpv4, prefixOfMask } from "../lib/ipv4.ts";
import type { Subnet } from "./lease-pool.ts";

export interface SubnetOptions {
  router: string | null;
  dns: string[];
  domain: string | null;
  ntp: string[];
}

export interface ServedSubnet extends Subnet {
  options: SubnetOptions;
  /** True for the interface's own subnet; relayed ones are reached through a giaddr. */
  local: boolean;
}

export interface DhcpSettings {
  mode: "full" | "proxy";
  device: string;
  /** The interface's address: server identifier, next-server and TFTP server. */
  serverIp: string;
  /** The interface's own network, also in proxy mode (where no addresses are handed out). */
  network: Ipv4Network;
  subnets: ServedSubnet[];
}

/** The first IPv4 address of `device` with its prefix, or null when it has none (or does not exist). */
export function interfaceAddress(device: string): { ip: string; prefix: number } | null {
  const entry = networkInterfaces()[device]?.find((a) => a.family === "IPv4");
  if (!entry) return null;
  return { ip: entry.address, prefix: prefixOfMask(entry.netmask) ?? Number(entry.cidr?.split("/")[1] ?? 32) };
}

function parseRange(raw: string, network: Ipv4Network, path: string, errors: FieldError[]): [number, number] | null {
  const [from, to] = raw.split("-").map((part) => parseIpv4(part));
  if (!from || !to) {
    errors.push({ path, message: `expected FIRST-LAST addresses, e.g. 10.0.0.100-10.0.0.199, got ${JSON.stringify(raw)}` });
    return null;
  }
  const [start, end] = [ipv4ToNumber(from), ipv4ToNumber(to)];
  if (!inNetwork(network, start) || !inNetwork(network, end)) {
    errors.push({ path, message: `${raw} is not inside ${network.cidr}` });
    return null;
  }
  if (start > end) {
    errors.push({ path, message: `${raw} runs backwards; write the lower address first` });
    return null;
  }
  return [start, end];
}

function addresses(values: readonly string[], path: string, errors: FieldError[]): string[] {
  const bad = values.filter((v) => !parseIpv4(v));
  if (bad.length > 0) errors.push({ path, message: `expected IPv4 addresses, got ${bad.join(", ")}` });
  return values.filter((v) => parseIpv4(v));
}

function optionalAddress(value: string | undefined, path: string, errors: FieldError[]): string | null {
  if (!value) return null;
  return addresses([value], path, errors)[0] ?? null;
}

/** null when DHCP is off; throws ConfigError naming every problem otherwise. */
export function resolveDhcpSettings(dhcp: Readonly<Config["dhcp"]>): DhcpSettings | null {
  if (dhcp.mode === "off") return null;
  const errors: FieldError[] = [];
  if (!dhcp.interface) {
    throw new ConfigError([{ path: "dhcp.interface", message: `is required when dhcp.mode is ${dhcp.mode}; name the provisioning VLAN's interface, e.g. --dhcp-interface eth1` }]);
  }
  const address = interfaceAddress(dhcp.interface);
  if (!address) {
    const known = Object.keys(networkInterfaces()).join(", ");
    throw new ConfigError([
      {
        path: "dhcp.interface",
        message: `${dhcp.interface} has no IPv4 address (interfaces with one: ${known}); give it a static address on the provisioning VLAN, e.g. ip addr add 10.0.0.1/24 dev ${dhcp.interface}`,
      },
    ]);
  }
  const network = networkOf(address.ip, address.prefix);
  const subnets: ServedSubnet[] = [];
  if (dhcp.mode === "full") {
    if (!dhcp.range) errors.push({ path: "dhcp.range", message: `is required in full mode: the pool to hand out on ${network.cidr}, e.g. --dhcp-range FIRST-LAST` });
    const range = dhcp.range ? parseRange(dhcp.range, network, "dhcp.range", errors) : null;
    const options: SubnetOptions = {
      router: optionalAddress(dhcp.router, "dhcp.router", errors),
      dns: addresses(dhcp.dns, "dhcp.dns", errors),
      domain: dhcp.domain || null,
      ntp: addresses(dhcp.ntp, "dhcp.ntp", errors),
    };
    if (range) subnets.push({ network, rangeStart: range[0], rangeEnd: range[1], leaseSeconds: dhcp.leaseSeconds, options, local: true });
    dhcp.relays.forEach((relay, i) => {
      const path = `dhcp.relays.${i}`;
      const relayed = parseCidr(relay.network);
      if (!relayed) {
        errors.push({ path: `${path}.network`, message: `expected a network like 10.0.1.0/24, got ${JSON.stringify(relay.network)}` });
        return;
      }
      if (subnets.some((s) => inNetwork(s.network, relayed.base) || inNetwork(relayed, s.network.base))) {
        errors.push({ path: `${path}.network`, message: `${relayed.cidr} overlaps another served subnet` });
        return;
      }
      const relayRange = parseRange(relay.range, relayed, `${path}.range`, errors);
      if (!relayRange) return;
      subnets.push({
        network: relayed,
        rangeStart: relayRange[0],
        rangeEnd: relayRange[1],
        leaseSeconds: relay.leaseSeconds ?? dhcp.leaseSeconds,
        options: {
          router: optionalAddress(relay.router, `${path}.router`, errors),
          dns: addresses(relay.dns ?? dhcp.dns, `${path}.dns`, errors),
          domain: relay.domain ?? (dhcp.domain || null),
          ntp: addresses(relay.ntp ?? dhcp.ntp, `${path}.ntp`, errors),
        },
        local: false,
      });
    });
    const own = ipv4ToNumber(address.ip);
    if (range && own >= range[0] && own <= range[1]) errors.push({ path: "dhcp.range", message: `${dhcp.range} contains this interface's own address ${address.ip}` });
  }
  if (errors.length > 0) throw new ConfigError(errors);
  return { mode: dhcp.mode, device: dhcp.interface, serverIp: address.ip, network, subnets };
}
