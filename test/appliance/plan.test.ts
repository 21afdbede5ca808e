// The appliance's boot-time configuration without I/O: boot words, precedence, interface choice, addressing, golden files.
import { describe, expect, test } from "bun:test";
import {
  ApplianceConfigError,
  type BootWord,
  chooseInterface,
  defaultRange,
  formatRange,
  type LinkInfo,
  mergeBootWords,
  parseBootWords,
  type PlanInput,
  planAppliance,
  renderConfigYaml,
  renderNetworkFile,
  requestedInterface,
} from "../../src/appliance/index.ts";
import { parseCidr } from "../../src/lib/ipv4.ts";

/** A plan from kernel words and cmdline.txt words as text, with the rest of the input defaulted. */
function plan(kernel: string, stick = "", extra: Partial<PlanInput> = {}) {
  const { values } = mergeBootWords(parseBootWords(kernel, "kernel command line"), parseBootWords(stick, "cmdline.txt"));
  return planAppliance({ words: values, fileConfig: {}, filePath: "/run/goosed/config/goosed.yaml", iface: "eth0", dataMounted: true, trustKeys: [], ...extra });
}

function planError(kernel: string, stick = "", extra: Partial<PlanInput> = {}): string {
  try {
    plan(kernel, stick, extra);
  } catch (err) {
    expect(err).toBeInstanceOf(ApplianceConfigError);
    return (err as Error).message;
  }
  throw new Error("expected an ApplianceConfigError");
}

describe("boot words", () => {
  test("only goosed.* words count; comments and newlines in cmdline.txt are fine", () => {
    const text = "# lab 3\ngoosed.dhcp=full   goosed.subnet=10.74.0.0/24 # the isolated VLAN\nquiet\tgoosed.port=8080\n#goosed.iface=eth9\n";
    expect(parseBootWords(text, "cmdline.txt")).toEqual([
      { key: "dhcp", value: "full", source: "cmdline.txt" },
      { key: "subnet", value: "10.74.0.0/24", source: "cmdline.txt" },
      { key: "port", value: "8080", source: "cmdline.txt" },
    ]);
    expect(parseBootWords("BOOT_IMAGE=/live/vmlinuz boot=live goosed.autoimport=1 console=ttyS0", "kernel command line")).toEqual([
      { key: "autoimport", value: "1", source: "kernel command line" },
    ]);
  });

  test("the kernel command line beats cmdline.txt; unknown keys warn and name themselves", () => {
    const merged = mergeBootWords(parseBootWords("goosed.dhcp=off goosed.colour=blue", "kernel command line"), parseBootWords("goosed.dhcp=full goosed.port=81", "cmdline.txt"));
    expect(merged.values).toEqual({
      dhcp: { key: "dhcp", value: "off", source: "kernel command line" },
      port: { key: "port", value: "81", source: "cmdline.txt" },
    });
    expect(merged.warnings).toHaveLength(1);
    expect(merged.warnings[0]).toStartWith("ignoring unknown setting goosed.colour (kernel command line); known: goosed.iface,");
  });

  test("the last of two equal words wins", () => {
    expect(mergeBootWords(parseBootWords("goosed.port=81 goosed.port=82", "kernel command line"), []).values.port?.value).toBe("82");
  });
});

describe("interface choice", () => {
  const link = (name: string, carrier: boolean, type: number | null = 1): LinkInfo => ({ name, carrier, type });

  test.each([
    { name: "the first by name with carrier", links: [link("eth1", true), link("eth0", false), link("enp3s0", true)], final: false, want: { kind: "carrier", name: "enp3s0" } },
    { name: "loopback and non-Ethernet links never count", links: [link("lo", true, 1), link("wwan0", true, 519), link("eth0", true)], final: false, want: { kind: "carrier", name: "eth0" } },
    { name: "no carrier yet: keep waiting", links: [link("eth0", false), link("eth1", false)], final: false, want: null },
    { name: "no carrier at the deadline: the first Ethernet", links: [link("eth1", false), link("eth0", false)], final: true, want: { kind: "no-carrier", name: "eth0" } },
    { name: "no Ethernet at all", links: [link("lo", true, 772), link("tun0", true, 65534)], final: true, want: { kind: "none" } },
    { name: "unreadable type is not Ethernet", links: [link("eth0", true, null)], final: true, want: { kind: "none" } },
  ])("$name", ({ links, final, want }) => {
    expect(chooseInterface(links, final)).toEqual(want as ReturnType<typeof chooseInterface>);
  });

  test("goosed.iface beats dhcp.interface in goosed.yaml, which beats auto", () => {
    const word: BootWord = { key: "iface", value: "eth2", source: "cmdline.txt" };
    expect(requestedInterface({ iface: word }, { dhcp: { interface: "eth1" } })).toBe("eth2");
    expect(requestedInterface({}, { dhcp: { interface: "eth1" } })).toBe("eth1");
    expect(requestedInterface({}, {})).toBe("auto");
  });
});

describe("default pool", () => {
  test.each([
    { name: "/24: .100-.199", cidr: "10.74.0.0/24", want: "10.74.0.100-10.74.0.199" },
    { name: "/16: .0.100-.0.199 from the network address", cidr: "172.16.0.0/16", want: "172.16.0.100-172.16.0.199" },
    { name: "/25 in the upper half of a /24: clipped", cidr: "10.0.0.128/25", want: "10.0.0.228-10.0.0.254" },
    { name: "/25: clipped below the broadcast", cidr: "10.0.0.0/25", want: "10.0.0.100-10.0.0.126" },
    { name: "/26: too small for .100, the upper half", cidr: "10.0.0.64/26", want: "10.0.0.96-10.0.0.126" },
    { name: "/29: the upper half", cidr: "192.168.1.8/29", want: "192.168.1.12-192.168.1.14" },
    { name: "/30: the one address beside the appliance", cidr: "192.168.1.0/30", want: "192.168.1.2-192.168.1.2" },
  ])("$name", ({ cidr, want }) => {
    expect(formatRange(defaultRange(parseCidr(cidr)!)!)).toBe(want);
  });

  test("/31 and /32 have no pool", () => {
    expect(defaultRange(parseCidr("10.0.0.0/31")!)).toBeNull();
    expect(defaultRange(parseCidr("10.0.0.1/32")!)).toBeNull();
  });
});

describe("planAppliance", () => {
  test("no words: ProxyDHCP on the chosen interface, which is a DHCP client; no publicUrl", () => {
    const p = plan("", "", { dataMounted: false });
    expect(p.config).toEqual({
      dataDir: "/var/lib/goosed",
      http: { host: "0.0.0.0", port: 80 },
      log: { format: "json" },
      bundles: { watchDir: "/media" },
      dhcp: { mode: "proxy", interface: "eth0" },
    });
    expect(p.network).toEqual({ iface: "eth0", address: null, gateway: null });
    expect(p.summary).toBe("goosed appliance: eth0 address by DHCP, DHCP proxy, data IN MEMORY");
    expect(p.warnings).toEqual([]);
  });

  test("full mode: the first host, the default pool, the publicUrl, the gateway handed out as router", () => {
    const p = plan("goosed.dhcp=full goosed.subnet=10.74.0.0/24 goosed.gateway=10.74.0.254");
    expect(p.config.dhcp).toEqual({ mode: "full", interface: "eth0", range: "10.74.0.100-10.74.0.199", router: "10.74.0.254" });
    expect(p.config.boot).toEqual({ publicUrl: "http://10.74.0.1" });
    expect(p.network).toEqual({ iface: "eth0", address: "10.74.0.1/24", gateway: "10.74.0.254" });
    expect(p.summary).toBe("goosed appliance: eth0 10.74.0.1/24, DHCP full 10.74.0.100-10.74.0.199, data on GOOSED-DATA");
  });

  test("full mode with an address and a range of its own, a port and autoimport", () => {
    const p = plan("goosed.dhcp=full goosed.subnet=10.9.0.0/16 goosed.address=10.9.255.1/16 goosed.range=10.9.1.0-10.9.1.255 goosed.port=8080 goosed.autoimport=1");
    expect(p.config.dhcp).toEqual({ mode: "full", interface: "eth0", range: "10.9.1.0-10.9.1.255" });
    expect(p.config.http).toEqual({ host: "0.0.0.0", port: 8080 });
    expect(p.config.bundles).toEqual({ watchDir: "/media", autoImport: true });
    expect(p.config.boot).toEqual({ publicUrl: "http://10.9.255.1:8080" });
    expect(p.summary).toBe("goosed appliance: eth0 10.9.255.1/16, DHCP full 10.9.1.0-10.9.1.255, HTTP port 8080, data on GOOSED-DATA");
  });

  test("full mode takes the subnet from goosed.address alone", () => {
    expect(plan("goosed.dhcp=full goosed.address=192.168.50.1/24").config.dhcp).toEqual({ mode: "full", interface: "eth0", range: "192.168.50.100-192.168.50.199" });
  });

  test("proxy mode with a static address: publicUrl set, subnet and range ignored with a warning", () => {
    const p = plan("goosed.address=192.168.1.10/24 goosed.gateway=192.168.1.1 goosed.subnet=10.0.0.0/24 goosed.autoimport=0");
    expect(p.config.boot).toEqual({ publicUrl: "http://192.168.1.10" });
    expect(p.config.bundles).toEqual({ watchDir: "/media", autoImport: false });
    expect(p.network).toEqual({ iface: "eth0", address: "192.168.1.10/24", gateway: "192.168.1.1" });
    expect(p.warnings).toEqual(["ignoring goosed.subnet=10.0.0.0/24 (kernel command line): it is used only with goosed.dhcp=full"]);
  });

  test("off: no DHCP, the interface still configured", () => {
    const p = plan("goosed.dhcp=off");
    expect(p.config.dhcp).toEqual({ mode: "off", interface: "eth0" });
    expect(p.summary).toBe("goosed appliance: eth0 address by DHCP, DHCP off, data on GOOSED-DATA");
  });

  test("precedence: boot words over goosed.yaml over appliance defaults; goosed.yaml's other settings kept", () => {
    const fileConfig = {
      dataDir: "/srv/goosed",
      http: { port: 8081 },
      dhcp: { mode: "full", range: "10.1.0.50-10.1.0.60", router: "10.1.0.1", dns: ["10.1.0.53"] },
      boot: { publicUrl: "http://goosed.lab", discoveryPolicy: "menu" },
      bundles: { trustKeys: ["/etc/keys/old.pub"] },
    };
    const p = plan("goosed.port=8082", "goosed.subnet=10.1.0.0/24 goosed.port=9000 goosed.gateway=10.1.0.254", { fileConfig, trustKeys: ["/etc/goosed/trusted/release.pub"] });
    expect(p.config).toEqual({
      dataDir: "/srv/goosed",
      http: { host: "0.0.0.0", port: 8082 },
      log: { format: "json" },
      bundles: { watchDir: "/media", trustKeys: ["/etc/keys/old.pub", "/etc/goosed/trusted/release.pub"] },
      dhcp: { mode: "full", interface: "eth0", range: "10.1.0.50-10.1.0.60", router: "10.1.0.1", dns: ["10.1.0.53"] },
      boot: { publicUrl: "http://goosed.lab", discoveryPolicy: "menu" },
    });
    expect(p.network).toEqual({ iface: "eth0", address: "10.1.0.1/24", gateway: "10.1.0.254" });
  });

  test("goosed.dhcp beats dhcp.mode in goosed.yaml", () => {
    expect(plan("goosed.dhcp=proxy", "", { fileConfig: { dhcp: { mode: "full" } } }).config.dhcp).toEqual({ mode: "proxy", interface: "eth0" });
  });

  test.each([
    { name: "full without a subnet", kernel: "goosed.dhcp=full", want: "goosed.dhcp=full needs the provisioning subnet: add goosed.subnet=CIDR (e.g. goosed.subnet=10.74.0.0/24) to the kernel command line or cmdline.txt" },
    { name: "unknown mode", kernel: "goosed.dhcp=yes", want: "goosed.dhcp=yes (kernel command line): expected full, proxy or off" },
    { name: "malformed subnet", kernel: "goosed.dhcp=full goosed.subnet=10.74.0/24", want: "goosed.subnet=10.74.0/24 (kernel command line): expected a network like goosed.subnet=10.74.0.0/24" },
    { name: "subnet too small", kernel: "goosed.dhcp=full goosed.subnet=10.74.0.0/31", want: "goosed.subnet=10.74.0.0/31: too small to hold the appliance and a pool; use /30 or larger, e.g. /24" },
    { name: "address without prefix", kernel: "goosed.address=10.74.0.1", want: "goosed.address=10.74.0.1 (kernel command line): expected an address with its prefix length, e.g. goosed.address=10.74.0.1/24" },
    { name: "address is the network's", kernel: "goosed.address=10.74.0.0/24", want: "goosed.address=10.74.0.0/24 (kernel command line): that is the network's own or broadcast address; pick a host address such as 10.74.0.1/24" },
    { name: "address is the broadcast", kernel: "goosed.address=10.74.0.255/24", want: "goosed.address=10.74.0.255/24 (kernel command line): that is the network's own or broadcast address; pick a host address such as 10.74.0.1/24" },
    { name: "address outside the subnet", kernel: "goosed.dhcp=full goosed.subnet=10.74.0.0/24 goosed.address=10.75.0.1/24", want: "goosed.address=10.75.0.1/24 (kernel command line): not inside goosed.subnet=10.74.0.0/24; use an address of that subnet with /24, or drop goosed.address to use 10.74.0.1/24" },
    { name: "address inside the default pool", kernel: "goosed.dhcp=full goosed.address=10.74.0.150/24", want: "goosed.address=10.74.0.150/24 is inside the default pool of 10.74.0.0/24; set the pool with goosed.range=FIRST-LAST, leaving the address out" },
    { name: "range outside the subnet", kernel: "goosed.dhcp=full goosed.subnet=10.74.0.0/24 goosed.range=10.74.1.10-10.74.1.20", want: "goosed.range=10.74.1.10-10.74.1.20 (kernel command line): the pool must lie inside 10.74.0.0/24 (its host addresses); fix goosed.range or goosed.subnet" },
    { name: "range reaching the broadcast", kernel: "goosed.dhcp=full goosed.subnet=10.74.0.0/24 goosed.range=10.74.0.100-10.74.0.255", want: "goosed.range=10.74.0.100-10.74.0.255 (kernel command line): the pool must lie inside 10.74.0.0/24 (its host addresses); fix goosed.range or goosed.subnet" },
    { name: "range malformed", kernel: "goosed.dhcp=full goosed.subnet=10.74.0.0/24 goosed.range=10.74.0.100", want: "goosed.range=10.74.0.100 (kernel command line): expected FIRST-LAST addresses, e.g. goosed.range=10.74.0.100-10.74.0.199" },
    { name: "range backwards", kernel: "goosed.dhcp=full goosed.subnet=10.74.0.0/24 goosed.range=10.74.0.199-10.74.0.100", want: "goosed.range=10.74.0.199-10.74.0.100 (kernel command line): the range runs backwards; write the lower address first" },
    { name: "range holding the appliance", kernel: "goosed.dhcp=full goosed.subnet=10.74.0.0/24 goosed.range=10.74.0.1-10.74.0.50", want: "goosed.range=10.74.0.1-10.74.0.50 (kernel command line): contains the appliance's own address 10.74.0.1; move goosed.range or goosed.address" },
    { name: "gateway malformed", kernel: "goosed.gateway=router", want: "goosed.gateway=router (kernel command line): expected an IPv4 address, e.g. goosed.gateway=10.74.0.254" },
    { name: "gateway off the network", kernel: "goosed.address=10.74.0.1/24 goosed.gateway=10.0.0.1", want: "goosed.gateway=10.0.0.1 (kernel command line): not on the appliance's network 10.74.0.0/24; give a router on that network or drop goosed.gateway" },
    { name: "autoimport not 0 or 1", kernel: "goosed.autoimport=yes", want: "goosed.autoimport=yes (kernel command line): expected 0 or 1" },
    { name: "port zero", kernel: "goosed.port=0", want: "goosed.port=0 (kernel command line): expected a port from 1 to 65535, e.g. goosed.port=8080" },
    { name: "port not a number", kernel: "goosed.port=http", want: "goosed.port=http (kernel command line): expected a port from 1 to 65535, e.g. goosed.port=8080" },
  ])("error: $name", ({ kernel, want }) => {
    expect(planError(kernel)).toBe(want);
  });

  test("error: a bad word from cmdline.txt names cmdline.txt", () => {
    expect(planError("", "goosed.dhcp=full goosed.subnet=nope")).toBe("goosed.subnet=nope (cmdline.txt): expected a network like goosed.subnet=10.74.0.0/24");
  });

  test("error: a range from goosed.yaml names the file", () => {
    const fileConfig = { dhcp: { range: "10.9.0.10-10.9.0.20" } };
    expect(planError("goosed.dhcp=full goosed.subnet=10.74.0.0/24", "", { fileConfig })).toBe(
      "dhcp.range: 10.9.0.10-10.9.0.20 (in /run/goosed/config/goosed.yaml): the pool must lie inside 10.74.0.0/24 (its host addresses); fix goosed.range or goosed.subnet",
    );
  });
});

describe("golden files", () => {
  test("networkd file with a static address and gateway", () => {
    expect(renderNetworkFile({ iface: "enp3s0", address: "10.74.0.1/24", gateway: "10.74.0.254" })).toBe(
      [
        "# Written by `goosed appliance configure` at every boot; change the GOOSED stick's goosed.yaml or cmdline.txt instead.",
        "[Match]",
        "Name=enp3s0",
        "",
        "[Network]",
        "Address=10.74.0.1/24",
        "Gateway=10.74.0.254",
        "LinkLocalAddressing=no",
        "IPv6AcceptRA=no",
        "",
      ].join("\n"),
    );
  });

  test("networkd file as a DHCP client", () => {
    expect(renderNetworkFile({ iface: "eth0", address: null, gateway: null })).toBe(
      [
        "# Written by `goosed appliance configure` at every boot; change the GOOSED stick's goosed.yaml or cmdline.txt instead.",
        "[Match]",
        "Name=eth0",
        "",
        "[Network]",
        "DHCP=ipv4",
        "LinkLocalAddressing=no",
        "IPv6AcceptRA=no",
        "",
      ].join("\n"),
    );
  });

  test("goosed.yaml for full mode with autoimport and a trusted key", () => {
    const p = plan("goosed.dhcp=full goosed.subnet=10.74.0.0/24 goosed.autoimport=1", "", { iface: "enp3s0", trustKeys: ["/etc/goosed/trusted/release.pub"] });
    expect(renderConfigYaml(p.config)).toBe(
      [
        "# Written by `goosed appliance configure` at every boot; change the GOOSED stick's goosed.yaml or cmdline.txt instead.",
        "dataDir: /var/lib/goosed",
        "http:",
        "  host: 0.0.0.0",
        "  port: 80",
        "log:",
        "  format: json",
        "bundles:",
        "  watchDir: /media",
        "  autoImport: true",
        "  trustKeys:",
        "    - /etc/goosed/trusted/release.pub",
        "dhcp:",
        "  mode: full",
        "  interface: enp3s0",
        "  range: 10.74.0.100-10.74.0.199",
        "boot:",
        "  publicUrl: http://10.74.0.1",
        "",
      ].join("\n"),
    );
  });
});
