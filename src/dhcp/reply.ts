// Builds goosed's replies (RFC 2131 table 3) and says where each goes (RFC 2131 4.1). Pure: no sockets, no clock.
import type { BootFile } from "./boot-file.ts";
import type { DhcpMessage, DhcpOptions } from "./codec.ts";
import { BOOTREPLY, MessageType, type MessageTypeValue } from "./constants.ts";
import { DISCOVERY_BOOT_FILE_IN_OFFER, encodePxeVendorOptions } from "./pxe.ts";
import type { SubnetOptions } from "./settings.ts";
import { type Ipv4Network, numberToIpv4 } from "../lib/ipv4.ts";

const ZERO = "0.0.0.0";
const BROADCAST = "255.255.255.255";
export const SERVER_PORT = 67;
export const CLIENT_PORT = 68;
/** The BOOTP header's file field holds 128 bytes with its NUL (RFC 2131 section 2). */
const FILE_FIELD_BYTES = 127;

export interface Destination {
  address: string;
  port: number;
}

/** The reply skeleton every answer shares: the client's xid, flags, chaddr and relay, our server identifier. */
export function replyTo(request: DhcpMessage, type: MessageTypeValue, serverIp: string): DhcpMessage {
  const options: DhcpOptions = { messageType: type, serverId: serverIp };
  // RFC 3046 2.2: a relay agent's option comes back to it verbatim.
  if (request.options.relayAgent) options.relayAgent = request.options.relayAgent;
  return {
    op: BOOTREPLY,
    htype: request.htype,
    hlen: request.hlen,
    hops: 0,
    xid: request.xid,
    secs: 0,
    flags: request.flags,
    ciaddr: type === MessageType.Ack && request.ciaddr !== ZERO ? request.ciaddr : ZERO,
    yiaddr: ZERO,
    siaddr: ZERO,
    giaddr: request.giaddr,
    chaddr: request.chaddr,
    sname: "",
    file: "",
    options,
  };
}

/** Address, mask and the subnet's options; a lease time unless `leaseSeconds` is null (DHCPINFORM, RFC 2131 3.4). */
export function withNetworkOptions(reply: DhcpMessage, network: Ipv4Network, options: SubnetOptions, leaseSeconds: number | null, hostname: string | null): DhcpMessage {
  const o = reply.options;
  o.subnetMask = numberToIpv4(network.mask);
  o.broadcastAddress = numberToIpv4((network.base | ~network.mask) >>> 0);
  if (options.router) o.routers = [options.router];
  if (options.dns.length > 0) o.dnsServers = options.dns;
  if (options.domain) o.domainName = options.domain;
  if (options.ntp.length > 0) o.ntpServers = options.ntp;
  if (hostname) o.hostname = hostname;
  if (leaseSeconds !== null) {
    o.leaseSeconds = leaseSeconds;
    // RFC 2131 4.4.5 defaults: T1 at half the lease, T2 at seven eighths.
    o.renewalSeconds = Math.floor(leaseSeconds / 2);
    o.rebindingSeconds = Math.floor((leaseSeconds * 7) / 8);
  }
  return reply;
}

/** Where the client finds its next program: siaddr/file for PXE ROMs, option 67 for those that ask, 60/43 per PXE. */
export function withBootFile(reply: DhcpMessage, request: DhcpMessage, boot: BootFile, serverIp: string): DhcpMessage {
  const o = reply.options;
  const name = boot.kind === "tftp" ? boot.loader : boot.url;
  reply.siaddr = serverIp;
  if (name.length <= FILE_FIELD_BYTES) reply.file = name;
  if (name.length > FILE_FIELD_BYTES || request.options.parameterRequestList?.includes(67)) o.bootfileName = name;
  if (boot.kind === "tftp") o.tftpServerName = serverIp;
  if (request.options.vendorClass?.startsWith(boot.class)) {
    // PXE 2.1 and UEFI 2.x: a PXE or HTTP boot client trusts an offer only when it names the same class.
    o.vendorClass = boot.class;
    if (boot.class === "PXEClient" && boot.kind !== "script") o.vendorSpecific = encodePxeVendorOptions({ discoveryControl: DISCOVERY_BOOT_FILE_IN_OFFER });
  }
  // PXE 2.1 2.2.5: echo the client machine identifier.
  if (request.options.clientUuid) o.clientUuid = request.options.clientUuid;
  return reply;
}

/** RFC 2131 4.1: through the relay; unicast to a client that has an address; else broadcast (no ARP entry needed). */
export function destinationOf(request: DhcpMessage, type: MessageTypeValue): Destination {
  if (request.giaddr !== ZERO) return { address: request.giaddr, port: SERVER_PORT };
  if (request.ciaddr !== ZERO && type !== MessageType.Nak) return { address: request.ciaddr, port: CLIENT_PORT };
  return { address: BROADCAST, port: CLIENT_PORT };
}
