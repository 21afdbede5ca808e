// The dnsmasq export, read back by dnsmasq itself (--test), in both modes, with reservations.
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type DnsmasqExport, renderDnsmasqConfig } from "../../src/dhcp/dnsmasq.ts";
import { tempDir } from "../support/goosed.ts";
import { requireTool } from "../support/tools.ts";

const BASE: DnsmasqExport = {
  mode: "full",
  interface: "eth1",
  range: "10.0.0.100-10.0.0.199",
  netmask: "255.255.255.0",
  router: "10.0.0.254",
  dns: ["10.0.0.53"],
  domain: "lab.example",
  leaseSeconds: 3600,
  tftpServer: "10.0.0.1",
  scriptUrl: "http://10.0.0.1/boot/boot.ipxe?mac=${mac}&arch=${buildarch}",
  uefiLoader: "snponly.efi",
  reservations: [
    { mac: "52:54:00:00:00:01", ip: "10.0.0.20", hostname: "web-01" },
    { mac: "52:54:00:00:00:02", ip: "10.0.0.21", hostname: null },
  ],
  generatedAt: "2026-11-25T12:00:00.000Z",
};

async function dnsmasqAccepts(config: string): Promise<string> {
  const dnsmasq = requireTool("dnsmasq", "dnsmasq-base");
  await using dir = tempDir();
  const path = join(dir.path, "goosed.conf");
  writeFileSync(path, config);
  const proc = Bun.spawn([dnsmasq, "--test", `--conf-file=${path}`], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`dnsmasq refused the export (${code}): ${stderr}\n${config}`);
  return `${stdout}${stderr}`.trim();
}

describe("renderDnsmasqConfig", () => {
  test("full mode: pool, options, iPXE to the boot script, firmware to goosed's TFTP, reservations", async () => {
    const config = renderDnsmasqConfig(BASE);
    const lines = config.split("\n").filter((l) => l && !l.startsWith("#"));
    expect(lines).toEqual([
      "port=0",
      "interface=eth1",
      "bind-interfaces",
      "log-dhcp",
      "dhcp-range=10.0.0.100,10.0.0.199,255.255.255.0,3600s",
      "dhcp-authoritative",
      "dhcp-option=option:router,10.0.0.254",
      "dhcp-option=option:dns-server,10.0.0.53",
      "dhcp-option=option:domain-name,lab.example",
      "dhcp-userclass=set:ipxe,iPXE",
      "dhcp-match=set:ipxe,175",
      "dhcp-match=set:bios,option:client-arch,0",
      "dhcp-match=set:efi64,option:client-arch,7",
      "dhcp-match=set:efibc,option:client-arch,9",
      "dhcp-boot=tag:ipxe,http://10.0.0.1/boot/boot.ipxe?mac=${mac}&arch=${buildarch}",
      "dhcp-boot=tag:!ipxe,tag:bios,undionly.kpxe,,10.0.0.1",
      "dhcp-boot=tag:!ipxe,tag:efi64,snponly.efi,,10.0.0.1",
      "dhcp-boot=tag:!ipxe,tag:efibc,snponly.efi,,10.0.0.1",
      "dhcp-host=52:54:00:00:00:01,10.0.0.20,web-01",
      "dhcp-host=52:54:00:00:00:02,10.0.0.21",
    ]);
    expect(await dnsmasqAccepts(config)).toContain("syntax check OK");
  });

  test("proxy mode: no pool, PXE services for iPXE and for firmware", async () => {
    const config = renderDnsmasqConfig({ ...BASE, mode: "proxy", range: undefined, network: "10.0.0.0", reservations: [] });
    expect(config).toContain("dhcp-range=10.0.0.0,proxy,255.255.255.0\n");
    expect(config).toContain('pxe-service=tag:ipxe,x86PC,"goosed boot script",http://10.0.0.1/boot/boot.ipxe?mac=${mac}&arch=${buildarch}\n');
    expect(config).toContain('pxe-service=tag:!ipxe,x86-64_EFI,"goosed iPXE loader",snponly.efi,10.0.0.1\n');
    expect(config).not.toContain("dhcp-host=");
    expect(await dnsmasqAccepts(config)).toContain("syntax check OK");
  });
});
