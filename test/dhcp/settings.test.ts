// The dhcp settings an operator writes, checked against a real interface (loopback) before anything listens.
import { describe, expect, test } from "bun:test";
import { type Config, ConfigError, loadConfig } from "../../src/config/index.ts";
import { resolveDhcpSettings } from "../../src/dhcp/settings.ts";

const dhcpOf = (flags: Record<string, unknown>): Config["dhcp"] => loadConfig({ env: {}, flags, cwd: "/tmp", configPath: "/dev/null" }).config.dhcp;

function problems(flags: Record<string, unknown>): string[] {
  try {
    resolveDhcpSettings(dhcpOf(flags));
  } catch (error) {
    if (error instanceof ConfigError) return error.errors.map((e) => `${e.path}: ${e.message}`);
    throw error;
  }
  return [];
}

describe("resolveDhcpSettings", () => {
  test("off is the default and needs nothing", () => {
    expect(resolveDhcpSettings(dhcpOf({}))).toBeNull();
  });

  test("full mode on loopback: the interface's subnet with the pool, options and relays", () => {
    const settings = resolveDhcpSettings(
      dhcpOf({
        dhcpMode: "full",
        dhcpInterface: "lo",
        dhcpRange: "127.0.0.100-127.0.0.199",
        dhcpRouter: "127.0.0.1",
        dhcpDns: "127.0.0.53, 127.0.0.54",
        dhcpLeaseSeconds: "600",
        dhcpRelays: '[{"network":"10.77.1.0/24","range":"10.77.1.10-10.77.1.20","router":"10.77.1.1"}]',
      }),
    )!;
    expect(settings.serverIp).toBe("127.0.0.1");
    expect(settings.network.cidr).toBe("127.0.0.0/8");
    expect(settings.subnets.map((s) => [s.network.cidr, s.local, s.leaseSeconds, s.options])).toEqual([
      ["127.0.0.0/8", true, 600, { router: "127.0.0.1", dns: ["127.0.0.53", "127.0.0.54"], domain: null, ntp: [] }],
      ["10.77.1.0/24", false, 600, { router: "10.77.1.1", dns: ["127.0.0.53", "127.0.0.54"], domain: null, ntp: [] }],
    ]);
  });

  test("proxy mode needs only the interface", () => {
    const settings = resolveDhcpSettings(dhcpOf({ dhcpMode: "proxy", dhcpInterface: "lo" }))!;
    expect([settings.mode, settings.serverIp, settings.subnets]).toEqual(["proxy", "127.0.0.1", []]);
  });

  test.each([
    ["no interface", { dhcpMode: "full" }, ["dhcp.interface: is required when dhcp.mode is full; name the provisioning VLAN's interface, e.g. --dhcp-interface eth1"]],
    ["no range in full mode", { dhcpMode: "full", dhcpInterface: "lo" }, ["dhcp.range: is required in full mode: the pool to hand out on 127.0.0.0/8, e.g. --dhcp-range FIRST-LAST"]],
    ["a range outside the subnet", { dhcpMode: "full", dhcpInterface: "lo", dhcpRange: "10.0.0.1-10.0.0.9" }, ["dhcp.range: 10.0.0.1-10.0.0.9 is not inside 127.0.0.0/8"]],
    ["a backwards range", { dhcpMode: "full", dhcpInterface: "lo", dhcpRange: "127.0.0.9-127.0.0.2" }, ["dhcp.range: 127.0.0.9-127.0.0.2 runs backwards; write the lower address first"]],
    ["a range holding goosed's own address", { dhcpMode: "full", dhcpInterface: "lo", dhcpRange: "127.0.0.1-127.0.0.9" }, ["dhcp.range: 127.0.0.1-127.0.0.9 contains this interface's own address 127.0.0.1"]],
    [
      "a bad router and DNS server",
      { dhcpMode: "full", dhcpInterface: "lo", dhcpRange: "127.0.0.2-127.0.0.9", dhcpRouter: "gateway", dhcpDns: "1.2.3.4,dns" },
      ["dhcp.router: expected IPv4 addresses, got gateway", "dhcp.dns: expected IPv4 addresses, got dns"],
    ],
    [
      "an overlapping relay",
      { dhcpMode: "full", dhcpInterface: "lo", dhcpRange: "127.0.0.2-127.0.0.9", dhcpRelays: '[{"network":"127.1.0.0/16","range":"127.1.0.1-127.1.0.9"}]' },
      ["dhcp.relays.0.network: 127.1.0.0/16 overlaps another served subnet"],
    ],
  ])("%s is refused with what to do", (_name, flags, expected) => {
    expect(problems(flags)).toEqual(expected);
  });

  test("an interface without an IPv4 address names the ones that have one", () => {
    const [message] = problems({ dhcpMode: "proxy", dhcpInterface: "nosuch0" });
    expect(message).toStartWith("dhcp.interface: nosuch0 has no IPv4 address (interfaces with one: lo");
    expect(message).toEndWith("e.g. ip addr add 10.0.0.1/24 dev nosuch0");
  });
});
