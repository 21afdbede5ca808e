// The status screen on the appliance's tty1 and serial console: where to point a browser, where the admin token is,
// whether state survives power-off, and what goosed's services say. Rendering is pure; the CLI gathers the facts.

export interface ConsoleFacts {
  version: string;
  /** Non-loopback interfaces with their IPv4 addresses in CIDR form, in the order the system lists them. */
  interfaces: Array<{ name: string; addresses: string[] }>;
  /** The HTTP host goosed listens on; 0.0.0.0 means every address. */
  httpHost: string;
  httpPort: number;
  dataDir: string;
  /** Whether the data directory is on tmpfs or ramfs. */
  inMemory: boolean;
  /** Where readiness was asked. */
  readyUrl: string;
  /** /readyz's services, or the reason it did not answer. */
  ready: { services: Record<string, { ok: boolean; detail: string }> } | { error: string };
  /** Machines by state from /v1/status (asked with the admin token), or null when it could not be asked. */
  machines?: Record<string, number> | null;
}

export const IN_MEMORY_WARNING = "!!! STATE IS IN MEMORY: everything is lost at power-off. Add a partition labelled GOOSED-DATA. !!!";

/** The status page URLs machines' operators can open: one per address goosed listens on. */
export function statusUrls(facts: Pick<ConsoleFacts, "interfaces" | "httpHost" | "httpPort">): string[] {
  const suffix = facts.httpPort === 80 ? "" : `:${facts.httpPort}`;
  const ips = facts.httpHost === "0.0.0.0" ? facts.interfaces.flatMap((i) => i.addresses.map((a) => a.split("/")[0]!)) : [facts.httpHost];
  return ips.map((ip) => `http://${ip}${suffix}/`);
}

export function renderConsoleScreen(facts: ConsoleFacts): string {
  const lines = [`goosed ${facts.version} provisioning appliance`, ""];
  const width = Math.max(10, ...facts.interfaces.map((i) => i.name.length + 2));
  for (const iface of facts.interfaces) lines.push(`${iface.name.padEnd(width)}${iface.addresses.length > 0 ? iface.addresses.join(", ") : "no IPv4 address"}`);
  if (facts.interfaces.length === 0) lines.push("no network interfaces besides loopback");
  lines.push("");
  const urls = statusUrls(facts);
  // One URL a line: an 80-column console fits a few addresses that way.
  if (urls.length === 0) lines.push("status page   no address yet (waiting for the network)");
  urls.forEach((url, i) => lines.push(`${i === 0 ? "status page" : ""}`.padEnd(14) + url));
  lines.push(`admin token   ${facts.dataDir}/admin-token (cat it here, or log in on the status page with it)`);
  if (facts.machines) {
    const counts = Object.entries(facts.machines).filter(([, count]) => count > 0);
    lines.push(`machines      ${counts.length === 0 ? "none yet: PXE-boot one on this network" : counts.map(([state, count]) => `${count} ${state}`).join(", ")}`);
  }
  if (facts.inMemory) lines.push("", IN_MEMORY_WARNING);
  lines.push("");
  if ("error" in facts.ready) lines.push(`goosed is not answering yet at ${facts.readyUrl} (${facts.ready.error})`);
  else {
    const services = Object.entries(facts.ready.services);
    const nameWidth = Math.max(0, ...services.map(([name]) => name.length)) + 2;
    for (const [name, service] of services) lines.push(`${name.padEnd(nameWidth)}${(service.ok ? "up" : "DOWN").padEnd(6)}${service.detail}`);
  }
  return `${lines.join("\n")}\n`;
}
