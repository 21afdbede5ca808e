// DHCP for network boot: the full server or ProxyDHCP on one interface, on ports 67 and 4011.
import type { Logger } from "../lib/logger.ts";
import { type Lease, LeasePool, type ReservationLookup } from "./lease-pool.ts";
import { type BootDecider, DhcpServer, type LeaseStore } from "./server.ts";
import type { DhcpSettings } from "./settings.ts";
import { type DeviceSocket, openDeviceSocket } from "./socket.ts";

export { chooseBootFile, type BootFile, type BootFileSettings } from "./boot-file.ts";
export type { Lease, ReservationLookup } from "./lease-pool.ts";
export { MESSAGE_NAMES, type DhcpStats, type LeaseChange, type LeaseStore } from "./server.ts";
export { interfaceAddress, resolveDhcpSettings, type DhcpSettings, type ServedSubnet } from "./settings.ts";

export const DHCP_PORT = 67;
/** PXE 2.1: boot server discovery and ProxyDHCP requests. */
export const PXE_PORT = 4011;
const SWEEP_INTERVAL_MS = 30_000;

export interface DhcpDeps {
  settings: DhcpSettings;
  leases: LeaseStore & { all(): Lease[] };
  reservations: ReservationLookup;
  boot: BootDecider;
  log: Logger;
}

export interface RunningDhcp {
  readonly settings: DhcpSettings;
  readonly stats: DhcpServer["stats"];
  /** Addresses in use per served subnet, for the utilisation metric. */
  utilisation(): Array<{ subnet: string; used: number; size: number }>;
  stop(): void;
}

export async function startDhcp({ settings, leases, reservations, boot, log }: DhcpDeps): Promise<RunningDhcp> {
  const pool = settings.mode === "full" ? new LeasePool(settings.subnets, reservations, leases.all()) : null;
  const sockets: { dhcp?: DeviceSocket; pxe?: DeviceSocket } = {};
  let stopped = false;
  const server = new DhcpServer({
    settings,
    pool,
    leases,
    boot,
    log,
    // A lease that commits after stop() has nobody to tell: the client will ask again and get it from its record.
    send: (bytes, to, via) => !stopped && sockets[via]?.send(bytes, to.port, to.address) === true,
  });
  sockets.dhcp = await openDeviceSocket(settings.device, DHCP_PORT, (bytes, address, port) => server.handle(bytes, { address, port }));
  try {
    sockets.pxe = await openDeviceSocket(settings.device, PXE_PORT, (bytes, address, port) => server.handle(bytes, { address, port }, true));
  } catch (error) {
    sockets.dhcp.close();
    throw error;
  }
  const sweep = pool ? setInterval(() => pool.sweep(Date.now()), SWEEP_INTERVAL_MS) : null;
  log.info("dhcp listening", { component: "dhcp", mode: settings.mode, interface: settings.device, serverIp: settings.serverIp, subnets: settings.subnets.map((s) => s.network.cidr) });
  return {
    settings,
    stats: server.stats,
    utilisation: () =>
      pool ? settings.subnets.map((s) => ({ subnet: s.network.cidr, used: pool.usedIn(s, Date.now()), size: s.rangeEnd - s.rangeStart + 1 })) : [],
    stop() {
      stopped = true;
      if (sweep) clearInterval(sweep);
      sockets.dhcp?.close();
      sockets.pxe?.close();
    },
  };
}
