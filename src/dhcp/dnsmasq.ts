// A dnsmasq configuration that sends machines to goosed, for labs that must keep dnsmasq as their DHCP server and run
// goosed with DHCP off. Full mode hands out addresses too; proxy mode answers only PXE clients beside the lab's DHCP.
// Firmware gets a loader from goosed's TFTP server; iPXE (user class "iPXE" or option 175) gets the boot script URL.

export interface DnsmasqExport {
  mode: "full" | "proxy";
  interface: string;
  /** Full mode: "FIRST-LAST". */
  range?: string;
  /** Proxy mode: the lab network's address, e.g. 10.0.0.0 (dnsmasq's dhcp-range=<network>,proxy). */
  network?: string;
  netmask?: string;
  router?: string;
  dns?: string[];
  domain?: string;
  leaseSeconds: number;
  /** goosed's address: its TFTP server for firmware. */
  tftpServer: string;
  /** goosed's boot script URL with iPXE's ${mac} and ${buildarch}. */
  scriptUrl: string;
  uefiLoader: string;
  reservations: Array<{ mac: string; ip: string; hostname: string | null }>;
  generatedAt: string;
}

// dnsmasq's names for option 93 values (RFC 4578 / IANA processor architecture types).
const FIRMWARE: Array<{ tag: string; arch: number; csa: string; loader: (uefi: string) => string }> = [
  { tag: "bios", arch: 0, csa: "x86PC", loader: () => "undionly.kpxe" },
  { tag: "efi64", arch: 7, csa: "x86-64_EFI", loader: (uefi) => uefi },
  { tag: "efibc", arch: 9, csa: "BC_EFI", loader: (uefi) => uefi },
];

export function renderDnsmasqConfig(input: DnsmasqExport): string {
  const lines = [
    `# goosed: dnsmasq configuration for ${input.mode} mode, exported ${input.generatedAt}.`,
    "# Run goosed with dhcp.mode off (and tftp.mode on) beside it: dnsmasq --keep-in-foreground --conf-file=<this file>",
    "# DHCP only: dnsmasq answers no DNS (port=0) and serves no TFTP; goosed does.",
    "port=0",
    `interface=${input.interface}`,
    "bind-interfaces",
    "log-dhcp",
  ];
  if (input.mode === "full") {
    const [first, last] = (input.range ?? "").split("-");
    lines.push(`dhcp-range=${first},${last}${input.netmask ? `,${input.netmask}` : ""},${input.leaseSeconds}s`, "dhcp-authoritative");
    if (input.router) lines.push(`dhcp-option=option:router,${input.router}`);
    if (input.dns?.length) lines.push(`dhcp-option=option:dns-server,${input.dns.join(",")}`);
    if (input.domain) lines.push(`dhcp-option=option:domain-name,${input.domain}`);
  } else {
    lines.push(`dhcp-range=${input.network},proxy${input.netmask ? `,${input.netmask}` : ""}`);
  }
  lines.push("", "# iPXE says so in its user class (and option 175): it gets the boot script, breaking the chainload loop.");
  lines.push("dhcp-userclass=set:ipxe,iPXE", "dhcp-match=set:ipxe,175");
  for (const f of FIRMWARE) lines.push(`dhcp-match=set:${f.tag},option:client-arch,${f.arch}`);
  if (input.mode === "full") {
    lines.push(`dhcp-boot=tag:ipxe,${input.scriptUrl}`);
    for (const f of FIRMWARE) lines.push(`dhcp-boot=tag:!ipxe,tag:${f.tag},${f.loader(input.uefiLoader)},,${input.tftpServer}`);
  } else {
    // A basename with its suffix stops dnsmasq from adding the PXE layer suffix (.0).
    for (const f of FIRMWARE) {
      lines.push(`pxe-service=tag:ipxe,${f.csa},"goosed boot script",${input.scriptUrl}`);
      lines.push(`pxe-service=tag:!ipxe,${f.csa},"goosed iPXE loader",${f.loader(input.uefiLoader)},${input.tftpServer}`);
    }
  }
  if (input.reservations.length > 0) {
    lines.push("", "# Reserved addresses of goosed's machines (goosed machine set <name> --ip ...).");
    for (const r of input.reservations) lines.push(`dhcp-host=${r.mac},${r.ip}${r.hostname ? `,${r.hostname}` : ""}`);
  }
  return `${lines.join("\n")}\n`;
}
