// `goosed lease list` and `goosed dhcp export-dnsmasq`: the addresses goosed handed out, and goosed's DHCP service as
// a dnsmasq configuration for labs that keep dnsmasq.
import type { CAC } from "cac";
import type { ApiClient } from "./client.ts";
import { oneOf, positiveInteger, rawValue } from "./options.ts";
import { age, printJson, printTable } from "./output.ts";

type Options = Record<string, unknown>;

interface LeaseView {
  ip: string;
  mac: string;
  hostname: string | null;
  subnet: string;
  state: string;
  active: boolean;
  startsAt: string;
  expiresAt: string;
}

const EXPORT_FLAGS = ["interface", "range", "network", "netmask", "router", "dns", "domain", "server"] as const;

export function registerDhcp(cli: CAC, client: (options: Options) => ApiClient): void {
  cli
    .command("lease list", "List DHCP leases by address")
    .option("--active", "only leases bound right now")
    .option("--mac <mac>", "only this MAC's leases")
    .option("--limit <n>", "at most this many", { default: 100 })
    .action(async (options: Options) => {
      const command = "lease list";
      const query = new URLSearchParams({ limit: String(positiveInteger(options.limit, "limit", command)) });
      if (options.active) query.set("active", "true");
      const mac = rawValue(cli, "mac", command);
      if (mac) query.set("mac", mac);
      const { items, next } = await client(options).request<{ items: LeaseView[]; next: string | null }>("GET", `/v1/leases?${query}`);
      if (options.json) return printJson(items);
      printTable(
        ["ip", "mac", "hostname", "state", "since", "expires"],
        items.map((l) => [l.ip, l.mac, l.hostname, l.state === "bound" && !l.active ? "expired" : l.state, age(l.startsAt), l.expiresAt]),
      );
      if (next !== null) process.stderr.write(`showing the first ${items.length}; pass --limit to see more\n`);
    });

  cli
    .command("dhcp export-dnsmasq", "Print a dnsmasq configuration that sends machines to goosed (run goosed with DHCP off)")
    .option("--mode <mode>", "full (addresses too) or proxy (beside the lab's DHCP server)")
    .option("--interface <name>", "interface dnsmasq serves (default: goosed's dhcp.interface)")
    .option("--range <first-last>", "full mode: the address pool")
    .option("--network <address>", "proxy mode: the lab network's address, e.g. 10.0.0.0")
    .option("--netmask <mask>", "the network's netmask")
    .option("--router <ip>", "default gateway to hand out")
    .option("--dns <ips>", "DNS servers to hand out, comma-separated")
    .option("--domain <name>", "domain name to hand out")
    .option("--server <ip>", "goosed's address on the provisioning network (default: the API address)")
    .action(async (options: Options) => {
      const command = "dhcp export-dnsmasq";
      const query = new URLSearchParams();
      const mode = oneOf(rawValue(cli, "mode", command), ["full", "proxy"] as const, "mode", command);
      if (mode) query.set("mode", mode);
      for (const flag of EXPORT_FLAGS) {
        const value = rawValue(cli, flag, command);
        if (value) query.set(flag, value);
      }
      process.stdout.write(await client(options).requestText("GET", `/v1/dhcp/dnsmasq.conf?${query}`));
    });
}
