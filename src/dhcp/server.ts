// The DHCP server loop: decode, decide (full server or ProxyDHCP), save the lease durably, answer. Any packet that
// cannot be answered is counted by reason and logged at debug with its hex; nothing a client sends stops the loop.
import type { Logger } from "../lib/logger.ts";
import type { BootFile, NoBootFile } from "./boot-file.ts";
import { decodeDhcp, type DhcpMessage, type DhcpOptions, encodeDhcp, macOf } from "./codec.ts";
import { BOOTREQUEST, MessageType, type MessageTypeValue } from "./constants.ts";
import type { ClientRef, Lease, LeasePool } from "./lease-pool.ts";
import { type Destination, destinationOf, replyTo, withBootFile, withNetworkOptions } from "./reply.ts";
import type { DhcpSettings, ServedSubnet } from "./settings.ts";

export type LeaseChange = "granted" | "renewed" | "released" | "declined";

/** Durable lease storage: `save` resolves only once the lease is on disk, so an ACK never outlives a crash. */
export interface LeaseStore {
  save(lease: Lease, change: LeaseChange): Promise<void>;
}

export type BootDecider = (options: DhcpOptions) => BootFile | NoBootFile;

export const MESSAGE_NAMES: Record<number, string> = {
  [MessageType.Discover]: "discover",
  [MessageType.Offer]: "offer",
  [MessageType.Request]: "request",
  [MessageType.Decline]: "decline",
  [MessageType.Ack]: "ack",
  [MessageType.Nak]: "nak",
  [MessageType.Release]: "release",
  [MessageType.Inform]: "inform",
};

export interface DhcpStats {
  /** Requests by message type name. */
  received: Map<string, number>;
  /** Replies by message type name. */
  sent: Map<string, number>;
  /** Packets not answered, by reason. */
  dropped: Map<string, number>;
  poolExhausted: number;
}

/** Which socket a reply leaves from: the one its request came in on (67, or 4011 for PXE boot server requests). */
export type Via = "dhcp" | "pxe";
/** False when the datagram could not be handed to the kernel. */
export type Send = (bytes: Uint8Array, to: Destination, via: Via) => boolean;

export interface DhcpServerDeps {
  settings: DhcpSettings;
  /** Full mode only. */
  pool: LeasePool | null;
  leases: LeaseStore;
  boot: BootDecider;
  log: Logger;
  send: Send;
  now?: () => number;
}

const ZERO = "0.0.0.0";
/** One warning per subnet this often while its pool stays exhausted; the metric counts every refusal. */
const EXHAUSTED_LOG_INTERVAL_MS = 10_000;

/**
 * RFC 2132 9.10: option 57 is the largest IP datagram the client takes (at least 576; the codec takes off the IP and
 * UDP headers). Capped at an Ethernet frame: OVMF asks for 65280, which no reply on a LAN should try.
 */
const ETHERNET_MTU = 1500;
const maxReplyBytes = (request: DhcpMessage) => Math.min(request.options.maxMessageSize ?? 576, ETHERNET_MTU);

/** A client's option 12 as goosed keeps it: printable ASCII only, so no client can forge lines in a listing or a log. */
const printable = (hostname: string | undefined) => hostname?.replace(/[^\x21-\x7e]/g, "") || null;

const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
const hexOf = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

export class DhcpServer {
  readonly stats: DhcpStats = { received: new Map(), sent: new Map(), dropped: new Map(), poolExhausted: 0 };
  private readonly exhaustedLoggedAt = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly deps: DhcpServerDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** A datagram from `source`; `proxyPort` is true for port 4011 (PXE boot server discovery / ProxyDHCP requests). */
  handle(bytes: Uint8Array, source: Destination, proxyPort = false): void {
    const decoded = decodeDhcp(bytes);
    if (!decoded.ok) return this.drop(decoded.reason, { from: source.address, offset: decoded.offset, hex: hexOf(bytes) });
    const request = decoded.value;
    if (request.op !== BOOTREQUEST) return this.drop("not-a-request", { from: source.address });
    const mac = macOf(request);
    if (!mac) return this.drop("not-ethernet", { from: source.address, htype: request.htype, hlen: request.hlen });
    const type = request.options.messageType;
    if (type === undefined) return this.drop("bootp-without-dhcp", { mac });
    bump(this.stats.received, MESSAGE_NAMES[type] ?? "unknown");
    try {
      if (this.deps.settings.mode === "proxy" || proxyPort) this.proxy(request, mac, type, source, proxyPort);
      else this.full(request, mac, type);
    } catch (error) {
      // A bug in deciding must not stop the loop; the packet is logged for the report.
      this.deps.log.error("dhcp request failed", { mac, xid: request.xid, error, hex: hexOf(bytes) });
      bump(this.stats.dropped, "internal-error");
    }
  }

  private full(request: DhcpMessage, mac: string, type: MessageTypeValue): void {
    const pool = this.deps.pool!;
    const subnet = this.subnetFor(request);
    if (!subnet) return this.drop("no-subnet", { mac, giaddr: request.giaddr, ciaddr: request.ciaddr });
    const client: ClientRef = {
      mac,
      clientId: request.options.clientId ? hexOf(request.options.clientId) : null,
      hostname: printable(request.options.hostname),
    };
    const nowMs = this.now();
    switch (type) {
      case MessageType.Discover: {
        const ip = pool.offer(subnet, client, request.options.requestedIp ?? null, nowMs);
        if (ip === null) return this.exhausted(subnet, mac, nowMs);
        return this.answer(request, this.addressReply(request, MessageType.Offer, subnet, ip, pool.hostnameOf(mac)));
      }
      case MessageType.Request: {
        const serverId = request.options.serverId;
        if (serverId !== undefined && serverId !== this.deps.settings.serverIp) {
          pool.forgetOffer(mac);
          return this.drop("chose-another-server", { mac, serverId });
        }
        const ip = request.options.requestedIp ?? (request.ciaddr !== ZERO ? request.ciaddr : null);
        if (!ip) return this.drop("request-without-address", { mac });
        const before = pool.leaseOf(mac);
        const granted = pool.request(subnet, client, ip, nowMs);
        if (!granted.ok) {
          this.deps.log.info("dhcp request refused", { component: "dhcp", mac, ip, reason: granted.reason });
          return this.answer(request, replyTo(request, MessageType.Nak, this.deps.settings.serverIp));
        }
        const fresh = !(before && before.ip === ip && before.state === "bound" && before.expiresAt > nowMs);
        const lease = granted.lease;
        void this.deps.leases.save(lease, fresh ? "granted" : "renewed").then(
          () => this.answer(request, this.addressReply(request, MessageType.Ack, subnet, ip, granted.hostname)),
          (error) => this.deps.log.error("lease not saved; no ack sent", { component: "dhcp", mac, ip, error }),
        );
        return;
      }
      case MessageType.Decline: {
        if (request.options.serverId !== this.deps.settings.serverIp || !request.options.requestedIp) return this.drop("decline-not-ours", { mac });
        const lease = pool.decline(mac, request.options.requestedIp, nowMs);
        if (!lease) return this.drop("decline-unknown", { mac });
        this.deps.log.warn("address declined by client; quarantined", { component: "dhcp", mac, ip: lease.ip });
        return this.persist(lease, "declined");
      }
      case MessageType.Release: {
        const lease = pool.release(mac, request.ciaddr, nowMs);
        if (!lease) return this.drop("release-unknown", { mac, ip: request.ciaddr });
        return this.persist(lease, "released");
      }
      case MessageType.Inform: {
        const reply = withNetworkOptions(replyTo(request, MessageType.Ack, this.deps.settings.serverIp), subnet.network, subnet.options, null, null);
        const boot = this.deps.boot(request.options);
        return this.answer(request, boot.kind === "none" ? reply : withBootFile(reply, request, boot, this.deps.settings.serverIp));
      }
      default:
        return this.drop("unexpected-type", { mac, type });
    }
  }

  /**
   * ProxyDHCP (PXE 2.1 2.2.4): the lab's server hands out addresses; we answer only network-boot clients, with boot
   * information and no address, on 67 (DISCOVER → proxy OFFER) and on 4011 (REQUEST → ACK, unicast back).
   */
  private proxy(request: DhcpMessage, mac: string, type: MessageTypeValue, source: Destination, proxyPort: boolean): void {
    const boot = this.deps.boot(request.options);
    if (boot.kind === "none") return this.drop(boot.reason, { mac, arch: boot.arch });
    const serverIp = this.deps.settings.serverIp;
    if (!proxyPort && type === MessageType.Discover) {
      return this.answer(request, withBootFile(replyTo(request, MessageType.Offer, serverIp), request, boot, serverIp));
    }
    if (proxyPort && (type === MessageType.Request || type === MessageType.Inform)) {
      const reply = withBootFile(replyTo(request, MessageType.Ack, serverIp), request, boot, serverIp);
      return this.send(reply, { address: source.address, port: source.port }, request, "pxe");
    }
    this.drop("proxy-ignores", { mac, type });
  }

  private subnetFor(request: DhcpMessage): ServedSubnet | null {
    const subnets = this.deps.settings.subnets;
    if (request.giaddr !== ZERO) return (this.deps.pool!.subnetOf(request.giaddr) as ServedSubnet | null) ?? null;
    if (request.ciaddr !== ZERO) {
      const own = this.deps.pool!.subnetOf(request.ciaddr) as ServedSubnet | null;
      if (own) return own;
    }
    return subnets.find((s) => s.local) ?? null;
  }

  private addressReply(request: DhcpMessage, type: MessageTypeValue, subnet: ServedSubnet, ip: string, hostname: string | null): DhcpMessage {
    const serverIp = this.deps.settings.serverIp;
    const reply = withNetworkOptions(replyTo(request, type, serverIp), subnet.network, subnet.options, subnet.leaseSeconds, hostname);
    reply.yiaddr = ip;
    const boot = this.deps.boot(request.options);
    return boot.kind === "none" ? reply : withBootFile(reply, request, boot, serverIp);
  }

  private answer(request: DhcpMessage, reply: DhcpMessage): void {
    this.send(reply, destinationOf(request, reply.options.messageType!), request);
  }

  private send(reply: DhcpMessage, to: Destination, request: DhcpMessage, via: Via = "dhcp"): void {
    let bytes: Uint8Array;
    try {
      bytes = encodeDhcp(reply, maxReplyBytes(request));
    } catch (error) {
      this.deps.log.error("dhcp reply too large; not sent", { component: "dhcp", xid: reply.xid, error });
      bump(this.stats.dropped, "reply-too-large");
      return;
    }
    if (this.deps.send(bytes, to, via)) bump(this.stats.sent, MESSAGE_NAMES[reply.options.messageType!] ?? "unknown");
    else bump(this.stats.dropped, "send-failed");
  }

  private persist(lease: Lease, change: LeaseChange): void {
    void this.deps.leases.save(lease, change).catch((error) => this.deps.log.error("lease not saved", { component: "dhcp", ip: lease.ip, change, error }));
  }

  private exhausted(subnet: ServedSubnet, mac: string, nowMs: number): void {
    this.stats.poolExhausted++;
    const last = this.exhaustedLoggedAt.get(subnet.network.cidr) ?? 0;
    if (nowMs - last >= EXHAUSTED_LOG_INTERVAL_MS) {
      this.exhaustedLoggedAt.set(subnet.network.cidr, nowMs);
      this.deps.log.warn("address pool exhausted; no offer made", {
        component: "dhcp",
        subnet: subnet.network.cidr,
        mac,
        hint: "widen dhcp.range, shorten dhcp.leaseSeconds, or release leases of retired machines",
      });
    }
  }

  private drop(reason: string, fields: Record<string, unknown>): void {
    bump(this.stats.dropped, reason);
    this.deps.log.debug("dhcp packet not answered", { component: "dhcp", reason, ...fields });
  }
}
