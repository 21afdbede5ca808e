// Merges boot words, the stick's goosed.yaml and the appliance defaults into goosed's configuration and the
// interface's network settings. Pure: configure reads the inputs and writes the outputs.
import { inNetwork, ipv4ToNumber, numberToIpv4, parseCidr, parseIpv4, type Ipv4Network } from "../lib/ipv4.ts";
import { defaultAddress, defaultRange, formatRange, type HostAddress, parseHostAddress, parseRangeIn } from "./addressing.ts";
import type { ApplianceKey, BootWord } from "./boot-words.ts";

/** What goosed gets on the appliance unless the stick or the boot prompt says otherwise. */
export const APPLIANCE_DEFAULTS = {
  // The GOOSED-DATA partition when there is one, else a tmpfs the boot script mounts.
  dataDir: "/var/lib/goosed",
  http: { host: "0.0.0.0", port: 80 },
  log: { format: "json" },
  // Where the live system's automounter puts USB sticks.
  bundles: { watchDir: "/media" },
  // proxy: safe on any LAN, ProxyDHCP only adds boot information and never hands out an address.
  dhcp: { mode: "proxy" },
} as const;

export type DhcpMode = "full" | "proxy" | "off";

/** A wrong boot word or setting: the one line says which and how to fix it. configure exits 2. */
export class ApplianceConfigError extends Error {
  override readonly name = "ApplianceConfigError";
}

export interface PlanInput {
  words: Partial<Record<ApplianceKey, BootWord>>;
  /** The stick's goosed.yaml as written (already accepted by the config loader); {} without one. */
  fileConfig: Record<string, unknown>;
  /** Path of that file, for messages. */
  filePath: string;
  /** The interface chosen for provisioning. */
  iface: string;
  /** Whether a GOOSED-DATA partition holds the data directory (else it is in memory). */
  dataMounted: boolean;
  /** Key files copied from the stick, for bundles.trustKeys (goosed trusts them at start). */
  trustKeys: string[];
}

export interface NetworkPlan {
  iface: string;
  /** `10.74.0.1/24`; null: the interface is a DHCP client. */
  address: string | null;
  gateway: string | null;
}

export interface AppliancePlan {
  config: Record<string, unknown>;
  network: NetworkPlan;
  summary: string;
  warnings: string[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Deep merge of settings mappings; lists and scalars of `over` replace those of `base`. */
export function mergeSettings(base: Obj, over: Obj): Obj {
  const out: Obj = { ...base };
  for (const [key, value] of Object.entries(over)) out[key] = isObj(value) && isObj(out[key]) ? mergeSettings(out[key] as Obj, value) : value;
  return out;
}

const fileValue = (file: Obj, section: string, key: string): unknown => (isObj(file[section]) ? (file[section] as Obj)[key] : undefined);

const said = (word: BootWord) => `goosed.${word.key}=${word.value} (${word.source})`;

/** The interface asked for: the boot word, else dhcp.interface in goosed.yaml, else auto. */
export function requestedInterface(words: PlanInput["words"], fileConfig: Obj): string {
  const fromFile = fileValue(fileConfig, "dhcp", "interface");
  return words.iface?.value || (typeof fromFile === "string" && fromFile) || "auto";
}

function dhcpModeOf(input: PlanInput): DhcpMode {
  const word = input.words.dhcp;
  if (word) {
    if (word.value === "full" || word.value === "proxy" || word.value === "off") return word.value;
    throw new ApplianceConfigError(`${said(word)}: expected full, proxy or off`);
  }
  return (fileValue(input.fileConfig, "dhcp", "mode") as DhcpMode | undefined) ?? APPLIANCE_DEFAULTS.dhcp.mode;
}

function portOf(input: PlanInput): number {
  const word = input.words.port;
  if (word) {
    const port = /^\d{1,5}$/.test(word.value) ? Number(word.value) : 0;
    if (port < 1 || port > 65535) throw new ApplianceConfigError(`${said(word)}: expected a port from 1 to 65535, e.g. goosed.port=8080`);
    return port;
  }
  return (fileValue(input.fileConfig, "http", "port") as number | undefined) ?? APPLIANCE_DEFAULTS.http.port;
}

function autoImportOf(input: PlanInput): boolean | undefined {
  const word = input.words.autoimport;
  if (!word) return undefined;
  if (word.value !== "0" && word.value !== "1") throw new ApplianceConfigError(`${said(word)}: expected 0 or 1`);
  return word.value === "1";
}

function addressOf(input: PlanInput): HostAddress | null {
  const word = input.words.address;
  if (!word) return null;
  const address = parseHostAddress(word.value);
  if (!address) throw new ApplianceConfigError(`${said(word)}: expected an address with its prefix length, e.g. goosed.address=10.74.0.1/24`);
  if (address.prefix <= 30 && (ipv4ToNumber(address.ip) === address.network.base || !inNetwork(address.network, ipv4ToNumber(address.ip) + 1))) {
    throw new ApplianceConfigError(`${said(word)}: that is the network's own or broadcast address; pick a host address such as ${numberToIpv4(address.network.base + 1)}/${address.prefix}`);
  }
  return address;
}

function subnetOf(input: PlanInput): Ipv4Network | null {
  const word = input.words.subnet;
  if (!word) return null;
  const subnet = parseCidr(word.value);
  if (!subnet) throw new ApplianceConfigError(`${said(word)}: expected a network like goosed.subnet=10.74.0.0/24`);
  return subnet;
}

function gatewayOf(input: PlanInput, address: HostAddress | null): string | null {
  const word = input.words.gateway;
  if (!word) return null;
  const gateway = parseIpv4(word.value);
  if (!gateway) throw new ApplianceConfigError(`${said(word)}: expected an IPv4 address, e.g. goosed.gateway=10.74.0.254`);
  if (address && !inNetwork(address.network, ipv4ToNumber(gateway))) {
    throw new ApplianceConfigError(`${said(word)}: not on the appliance's network ${address.network.cidr}; give a router on that network or drop goosed.gateway`);
  }
  return gateway;
}

/** Full mode: the subnet, the appliance's address on it and the pool, each checked against the others. */
function fullModeAddressing(input: PlanInput, subnet: Ipv4Network | null, given: HostAddress | null): { address: HostAddress; range: string } {
  const network = subnet ?? given?.network;
  if (!network) {
    throw new ApplianceConfigError("goosed.dhcp=full needs the provisioning subnet: add goosed.subnet=CIDR (e.g. goosed.subnet=10.74.0.0/24) to the kernel command line or cmdline.txt");
  }
  if (given && subnet && (given.network.base !== subnet.base || given.prefix !== subnet.prefix)) {
    throw new ApplianceConfigError(`${said(input.words.address!)}: not inside goosed.subnet=${subnet.cidr}; use an address of that subnet with /${subnet.prefix}, or drop goosed.address to use ${numberToIpv4(subnet.base + 1)}/${subnet.prefix}`);
  }
  const address = given ?? defaultAddress(network);
  if (!address) throw new ApplianceConfigError(`goosed.subnet=${network.cidr}: too small to hold the appliance and a pool; use /30 or larger, e.g. /24`);
  const own = ipv4ToNumber(address.ip);

  const word = input.words.range;
  const fromFile = fileValue(input.fileConfig, "dhcp", "range");
  const raw = word?.value ?? (typeof fromFile === "string" && fromFile ? fromFile : null);
  const where = word ? said(word) : `dhcp.range: ${raw} (in ${input.filePath})`;
  if (raw === null) {
    const range = defaultRange(network);
    if (!range || (own >= range.first && own <= range.last)) {
      throw new ApplianceConfigError(`goosed.address=${address.ip}/${address.prefix} is inside the default pool of ${network.cidr}; set the pool with goosed.range=FIRST-LAST, leaving the address out`);
    }
    return { address, range: formatRange(range) };
  }
  const range = parseRangeIn(raw, network);
  if ("problem" in range) {
    const fix = {
      malformed: "expected FIRST-LAST addresses, e.g. goosed.range=10.74.0.100-10.74.0.199",
      outside: `the pool must lie inside ${network.cidr} (its host addresses); fix goosed.range or goosed.subnet`,
      backwards: "the range runs backwards; write the lower address first",
    }[range.problem];
    throw new ApplianceConfigError(`${where}: ${fix}`);
  }
  if (own >= range.first && own <= range.last) {
    throw new ApplianceConfigError(`${where}: contains the appliance's own address ${address.ip}; move goosed.range or goosed.address`);
  }
  return { address, range: formatRange(range) };
}

/** The configuration goosed serves with, the interface's network file settings and the one-line summary. */
export function planAppliance(input: PlanInput): AppliancePlan {
  const warnings: string[] = [];
  const mode = dhcpModeOf(input);
  const port = portOf(input);
  const autoImport = autoImportOf(input);
  const subnet = subnetOf(input);
  const given = addressOf(input);

  const derived: Obj = { http: { port }, dhcp: { mode, interface: input.iface } };
  let address = given;
  let rangeText = "";
  if (mode === "full") {
    const full = fullModeAddressing(input, subnet, given);
    address = full.address;
    rangeText = full.range;
    (derived.dhcp as Obj).range = full.range;
  } else {
    for (const key of ["subnet", "range"] as const) {
      const word = input.words[key];
      if (word) warnings.push(`ignoring ${said(word)}: it is used only with goosed.dhcp=full`);
    }
  }
  const gateway = gatewayOf(input, address);
  // Machines on an isolated provisioning subnet reach the world, if at all, through the appliance's own router.
  if (mode === "full" && gateway && !fileValue(input.fileConfig, "dhcp", "router")) (derived.dhcp as Obj).router = gateway;
  if (autoImport !== undefined) derived.bundles = { autoImport };
  // With a static address the URL is known now; as a DHCP client goosed derives it from its address when it starts.
  if (address && !fileValue(input.fileConfig, "boot", "publicUrl")) derived.boot = { publicUrl: `http://${address.ip}${port === 80 ? "" : `:${port}`}` };
  if (input.trustKeys.length > 0) {
    const listed = fileValue(input.fileConfig, "bundles", "trustKeys");
    const keys = [...(Array.isArray(listed) ? (listed as string[]) : []), ...input.trustKeys];
    derived.bundles = { ...(derived.bundles as Obj | undefined), trustKeys: [...new Set(keys)] };
  }

  const config = mergeSettings(mergeSettings(structuredClone(APPLIANCE_DEFAULTS) as Obj, input.fileConfig), derived);
  const addressText = address ? `${address.ip}/${address.prefix}` : null;
  const dhcpText = mode === "full" ? `DHCP full ${rangeText}` : `DHCP ${mode}`;
  const summary = [
    `goosed appliance: ${input.iface} ${addressText ?? "address by DHCP"}`,
    dhcpText,
    ...(port === 80 ? [] : [`HTTP port ${port}`]),
    input.dataMounted ? "data on GOOSED-DATA" : "data IN MEMORY",
  ].join(", ");
  return { config, network: { iface: input.iface, address: addressText, gateway }, summary, warnings };
}
