// The DHCP server's decisions over its real codec, with the socket replaced by a list of sent datagrams: full-mode
// DORA for BIOS, UEFI, HTTP boot and iPXE clients, relays, NAKs, INFORM, ProxyDHCP on 67 and 4011, and bad input.
import { describe, expect, test } from "bun:test";
import { chooseBootFile } from "../../src/dhcp/boot-file.ts";
import { decodeDhcp, type DhcpMessage, type DhcpOptions, encodeDhcp } from "../../src/dhcp/codec.ts";
import { BOOTREQUEST, MessageType } from "../../src/dhcp/constants.ts";
import { type Lease, LeasePool, type Reservation } from "../../src/dhcp/lease-pool.ts";
import { DhcpServer, type LeaseChange } from "../../src/dhcp/server.ts";
import type { DhcpSettings, ServedSubnet } from "../../src/dhcp/settings.ts";
import { ipv4ToNumber, networkOf } from "../../src/lib/ipv4.ts";
import { createLogger } from "../../src/lib/logger.ts";

const NOW = 1_800_000_000_000;
const SERVER_IP = "10.9.0.1";
const MAC = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
const MAC_TEXT = "52:54:00:12:34:56";

const local: ServedSubnet = {
  network: networkOf(SERVER_IP, 24),
  rangeStart: ipv4ToNumber("10.9.0.100"),
  rangeEnd: ipv4ToNumber("10.9.0.109"),
  leaseSeconds: 600,
  options: { router: "10.9.0.254", dns: ["10.9.0.53"], domain: "lab.example", ntp: [] },
  local: true,
};
const relayed: ServedSubnet = {
  network: networkOf("10.9.7.0", 24),
  rangeStart: ipv4ToNumber("10.9.7.10"),
  rangeEnd: ipv4ToNumber("10.9.7.20"),
  leaseSeconds: 600,
  options: { router: "10.9.7.1", dns: [], domain: null, ntp: [] },
  local: false,
};

interface Sent {
  message: DhcpMessage;
  to: { address: string; port: number };
  via: string;
}

function harness(mode: "full" | "proxy", options: { failSaves?: boolean; known?: Record<string, Reservation> } = {}) {
  const settings: DhcpSettings = { mode, device: "test0", serverIp: SERVER_IP, network: local.network, subnets: mode === "full" ? [local, relayed] : [] };
  const sent: Sent[] = [];
  const saved: Array<{ lease: Lease; change: LeaseChange }> = [];
  const known = options.known ?? {};
  const lookup = { byMac: (mac: string) => known[mac] ?? null, ownerOf: (ip: string) => Object.keys(known).find((mac) => known[mac]!.ip === ip) ?? null };
  const pool = mode === "full" ? new LeasePool(settings.subnets, lookup, []) : null;
  const bootSettings = {
    scriptUrl: "http://10.9.0.1:8080/boot/boot.ipxe?mac=${mac}&arch=${buildarch}",
    loaderBaseUrl: "http://10.9.0.1:8080/boot/loaders",
    uefiLoader: "ipxe.efi" as const,
    available: new Set(["undionly.kpxe", "ipxe.efi", "snponly.efi"]),
  };
  const server = new DhcpServer({
    settings,
    pool,
    leases: {
      save: async (lease, change) => {
        if (options.failSaves) throw new Error("disk full");
        saved.push({ lease, change });
      },
    },
    boot: (o) => chooseBootFile(o, bootSettings),
    log: createLogger({ level: "error", format: "json", write: () => {} }),
    send: (bytes, to, via) => {
      const decoded = decodeDhcp(bytes);
      if (!decoded.ok) throw new Error(`server sent an undecodable reply: ${decoded.reason}`);
      sent.push({ message: decoded.value, to, via });
      return true;
    },
    now: () => NOW,
  });
  return { server, sent, saved };
}

function request(type: number, options: DhcpOptions = {}, fields: Partial<DhcpMessage> = {}): Uint8Array {
  const chaddr = new Uint8Array(16);
  chaddr.set(MAC);
  return encodeDhcp({
    op: BOOTREQUEST,
    htype: 1,
    hlen: 6,
    hops: 0,
    xid: 0x1234abcd,
    secs: 0,
    flags: 0,
    ciaddr: "0.0.0.0",
    yiaddr: "0.0.0.0",
    siaddr: "0.0.0.0",
    giaddr: "0.0.0.0",
    chaddr,
    sname: "",
    file: "",
    ...fields,
    options: { messageType: type as DhcpOptions["messageType"], ...options },
  });
}

const FROM_CLIENT = { address: "0.0.0.0", port: 68 };
const settle = () => new Promise((resolve) => setImmediate(resolve));
const BIOS_PXE: DhcpOptions = { vendorClass: "PXEClient:Arch:00000:UNDI:002001", clientArch: [0], parameterRequestList: [1, 3, 43, 60, 66, 67] };

describe("full mode", () => {
  test("a BIOS PXE ROM is offered an address and undionly.kpxe from our TFTP server, and acked after the lease is saved", async () => {
    const { server, sent, saved } = harness("full");
    server.handle(request(MessageType.Discover, BIOS_PXE), FROM_CLIENT);
    expect(sent).toHaveLength(1);
    const offer = sent[0]!;
    expect(offer.to).toEqual({ address: "255.255.255.255", port: 68 });
    expect(offer.message.yiaddr).toBe("10.9.0.100");
    expect(offer.message.siaddr).toBe(SERVER_IP);
    expect(offer.message.file).toBe("undionly.kpxe");
    expect(offer.message.options).toMatchObject({
      messageType: MessageType.Offer,
      serverId: SERVER_IP,
      subnetMask: "255.255.255.0",
      routers: ["10.9.0.254"],
      dnsServers: ["10.9.0.53"],
      domainName: "lab.example",
      leaseSeconds: 600,
      renewalSeconds: 300,
      rebindingSeconds: 525,
      vendorClass: "PXEClient",
      bootfileName: "undionly.kpxe",
      tftpServerName: SERVER_IP,
    });
    expect(offer.message.options.vendorSpecific).toBeDefined();

    server.handle(request(MessageType.Request, { ...BIOS_PXE, serverId: SERVER_IP, requestedIp: "10.9.0.100" }), FROM_CLIENT);
    expect(sent).toHaveLength(1);
    await settle();
    expect(saved.map((s) => [s.lease.ip, s.lease.mac, s.change])).toEqual([["10.9.0.100", MAC_TEXT, "granted"]]);
    expect(sent[1]!.message.options.messageType).toBe(MessageType.Ack);
    expect(sent[1]!.message.yiaddr).toBe("10.9.0.100");
  });

  test("iPXE (user class iPXE) gets the boot script URL, and the same address its PXE ROM had", async () => {
    const { server, sent } = harness("full");
    server.handle(request(MessageType.Discover, BIOS_PXE), FROM_CLIENT);
    server.handle(request(MessageType.Request, { ...BIOS_PXE, serverId: SERVER_IP, requestedIp: "10.9.0.100" }), FROM_CLIENT);
    await settle();
    const ipxe: DhcpOptions = { ...BIOS_PXE, userClass: ["iPXE"], clientId: new Uint8Array([1, ...MAC]) };
    server.handle(request(MessageType.Discover, ipxe), FROM_CLIENT);
    const offer = sent.at(-1)!.message;
    expect(offer.yiaddr).toBe("10.9.0.100");
    expect(offer.file).toBe("http://10.9.0.1:8080/boot/boot.ipxe?mac=${mac}&arch=${buildarch}");
  });

  test("UEFI x64 gets ipxe.efi; UEFI HTTP boot gets an http URL and the HTTPClient class", () => {
    const { server, sent } = harness("full");
    server.handle(request(MessageType.Discover, { vendorClass: "PXEClient:Arch:00007:UNDI:003016", clientArch: [7] }), FROM_CLIENT);
    expect(sent[0]!.message.file).toBe("ipxe.efi");
    server.handle(request(MessageType.Discover, { vendorClass: "HTTPClient:Arch:00016:UNDI:003001", clientArch: [16] }), FROM_CLIENT);
    expect(sent[1]!.message.file).toBe("http://10.9.0.1:8080/boot/loaders/ipxe.efi");
    expect(sent[1]!.message.options.vendorClass).toBe("HTTPClient");
  });

  test("a machine goosed knows gets its reserved address and its name (option 12) in the offer and the ack", async () => {
    const { server, sent } = harness("full", { known: { [MAC_TEXT]: { ip: "10.9.0.20", hostname: "web-01" } } });
    server.handle(request(MessageType.Discover), FROM_CLIENT);
    expect([sent[0]!.message.yiaddr, sent[0]!.message.options.hostname]).toEqual(["10.9.0.20", "web-01"]);
    server.handle(request(MessageType.Request, { serverId: SERVER_IP, requestedIp: "10.9.0.20" }), FROM_CLIENT);
    await settle();
    expect([sent[1]!.message.options.messageType, sent[1]!.message.yiaddr, sent[1]!.message.options.hostname]).toEqual([MessageType.Ack, "10.9.0.20", "web-01"]);
  });

  test("a plain client gets an address and no boot information", () => {
    const { server, sent } = harness("full");
    server.handle(request(MessageType.Discover, { hostname: "plain" }), FROM_CLIENT);
    expect(sent[0]!.message.file).toBe("");
    expect(sent[0]!.message.siaddr).toBe("0.0.0.0");
    expect(sent[0]!.message.options.vendorClass).toBeUndefined();
  });

  test("a relayed DISCOVER is answered from the relay's subnet, through the relay, with option 82 echoed", () => {
    const { server, sent } = harness("full");
    const agent = new Uint8Array([1, 4, 0x65, 0x74, 0x68, 0x31]);
    server.handle(request(MessageType.Discover, { relayAgent: agent }, { giaddr: "10.9.7.1", hops: 1 }), { address: "10.9.7.1", port: 67 });
    expect(sent[0]!.to).toEqual({ address: "10.9.7.1", port: 67 });
    expect(sent[0]!.message.yiaddr).toBe("10.9.7.10");
    expect(sent[0]!.message.giaddr).toBe("10.9.7.1");
    expect(sent[0]!.message.options.relayAgent).toEqual(agent);
    expect(sent[0]!.message.options.routers).toEqual(["10.9.7.1"]);
  });

  test("a REQUEST for an address of another network is NAKed by broadcast; one for another server is left alone", async () => {
    const { server, sent } = harness("full");
    server.handle(request(MessageType.Request, { requestedIp: "192.168.1.50" }), FROM_CLIENT);
    expect(sent[0]!.message.options.messageType).toBe(MessageType.Nak);
    expect(sent[0]!.to).toEqual({ address: "255.255.255.255", port: 68 });
    server.handle(request(MessageType.Request, { requestedIp: "10.9.0.100", serverId: "10.9.0.2" }), FROM_CLIENT);
    await settle();
    expect(sent).toHaveLength(1);
    expect(server.stats.dropped.get("chose-another-server")).toBe(1);
  });

  test("a renewal is unicast to the client and saved as renewed; a release is saved", async () => {
    const { server, sent, saved } = harness("full");
    server.handle(request(MessageType.Discover), FROM_CLIENT);
    server.handle(request(MessageType.Request, { serverId: SERVER_IP, requestedIp: "10.9.0.100" }), FROM_CLIENT);
    await settle();
    server.handle(request(MessageType.Request, {}, { ciaddr: "10.9.0.100" }), { address: "10.9.0.100", port: 68 });
    await settle();
    expect(sent.at(-1)!.to).toEqual({ address: "10.9.0.100", port: 68 });
    expect(sent.at(-1)!.message.ciaddr).toBe("10.9.0.100");
    server.handle(request(MessageType.Release, { serverId: SERVER_IP }, { ciaddr: "10.9.0.100" }), { address: "10.9.0.100", port: 68 });
    await settle();
    expect(saved.map((s) => s.change)).toEqual(["granted", "renewed", "released"]);
  });

  test("DHCPINFORM gets the network's options and no address or lease time", () => {
    const { server, sent } = harness("full");
    server.handle(request(MessageType.Inform, {}, { ciaddr: "10.9.0.5" }), { address: "10.9.0.5", port: 68 });
    const ack = sent[0]!.message;
    expect(ack.options.messageType).toBe(MessageType.Ack);
    expect(ack.yiaddr).toBe("0.0.0.0");
    expect(ack.options.leaseSeconds).toBeUndefined();
    expect(ack.options.routers).toEqual(["10.9.0.254"]);
    expect(sent[0]!.to).toEqual({ address: "10.9.0.5", port: 68 });
  });

  test("no ACK goes out when the lease cannot be saved", async () => {
    const { server, sent } = harness("full", { failSaves: true });
    server.handle(request(MessageType.Discover), FROM_CLIENT);
    server.handle(request(MessageType.Request, { serverId: SERVER_IP, requestedIp: "10.9.0.100" }), FROM_CLIENT);
    await settle();
    expect(sent.map((s) => s.message.options.messageType)).toEqual([MessageType.Offer]);
  });
});

describe("ProxyDHCP", () => {
  test("a PXE DISCOVER on 67 gets boot information and no address; a plain client gets nothing", () => {
    const { server, sent } = harness("proxy");
    server.handle(request(MessageType.Discover, { hostname: "plain" }), FROM_CLIENT);
    expect(sent).toHaveLength(0);
    const uuid = new Uint8Array([0, ...new Uint8Array(16).fill(7)]);
    server.handle(request(MessageType.Discover, { ...BIOS_PXE, clientUuid: uuid }), FROM_CLIENT);
    const offer = sent[0]!.message;
    expect(offer.yiaddr).toBe("0.0.0.0");
    expect(offer.file).toBe("undionly.kpxe");
    expect(offer.options).toMatchObject({ messageType: MessageType.Offer, serverId: SERVER_IP, vendorClass: "PXEClient", clientUuid: uuid });
    expect(offer.options.leaseSeconds).toBeUndefined();
    expect(sent[0]!.via).toBe("dhcp");
  });

  test("a ProxyDHCP REQUEST on 4011 is acked back to where it came from, on the 4011 socket", () => {
    const { server, sent } = harness("proxy");
    const from = { address: "10.9.0.77", port: 68 };
    server.handle(request(MessageType.Request, { ...BIOS_PXE, userClass: ["iPXE"] }, { ciaddr: "10.9.0.77" }), from, true);
    expect(sent[0]!.to).toEqual(from);
    expect(sent[0]!.via).toBe("pxe");
    expect(sent[0]!.message.options.messageType).toBe(MessageType.Ack);
    expect(sent[0]!.message.file).toContain("/boot/boot.ipxe");
  });
});

describe("bad input", () => {
  test.each([
    ["empty", new Uint8Array(0)],
    ["a truncated header", new Uint8Array(100)],
    ["random bytes", new Uint8Array(400).map((_, i) => (i * 7919) & 255)],
  ])("%s is counted and dropped, and the server keeps answering", (_name, bytes) => {
    const { server, sent } = harness("full");
    server.handle(bytes, FROM_CLIENT);
    expect(sent).toHaveLength(0);
    expect([...server.stats.dropped.values()].reduce((a, b) => a + b, 0)).toBe(1);
    server.handle(request(MessageType.Discover), FROM_CLIENT);
    expect(sent).toHaveLength(1);
  });

  test("a reply (op 2) and a non-Ethernet request are dropped with their reasons", () => {
    const { server, sent } = harness("full");
    server.handle(request(MessageType.Discover, {}, { op: 2 }), FROM_CLIENT);
    server.handle(request(MessageType.Discover, {}, { htype: 6, hlen: 6 }), FROM_CLIENT);
    expect(sent).toHaveLength(0);
    expect(Object.fromEntries(server.stats.dropped)).toEqual({ "not-a-request": 1, "not-ethernet": 1 });
  });
});
