// The files configure writes: the systemd-networkd unit for the provisioning interface and goosed.yaml.
import { stringify } from "yaml";
import type { NetworkPlan } from "./plan.ts";

const HEADER = "Written by `goosed appliance configure` at every boot; change the GOOSED stick's goosed.yaml or cmdline.txt instead.";

/** A systemd.network(5) file: a static address or a DHCPv4 client, and no IPv6 chatter on the provisioning LAN. */
export function renderNetworkFile(plan: NetworkPlan): string {
  const lines = [`# ${HEADER}`, "[Match]", `Name=${plan.iface}`, "", "[Network]"];
  lines.push(plan.address ? `Address=${plan.address}` : "DHCP=ipv4");
  if (plan.gateway) lines.push(`Gateway=${plan.gateway}`);
  // A link-local address or SLAAC one would be a second address goosed might advertise to machines.
  lines.push("LinkLocalAddressing=no", "IPv6AcceptRA=no");
  return `${lines.join("\n")}\n`;
}

export function renderConfigYaml(config: Record<string, unknown>): string {
  return `# ${HEADER}\n${stringify(config, { lineWidth: 0 })}`;
}
