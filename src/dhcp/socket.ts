// A UDP socket that hears and answers on one network interface only. DHCP clients broadcast, and a socket bound to
// 0.0.0.0 hears broadcasts from every interface without saying which; SO_BINDTODEVICE confines it. Bun gives no
// handle on its sockets, so we find ours by its inode in /proc and set the option through libc with bun:ffi, then
// read it back: a socket that is not confined is closed rather than left answering on every network.
import { dlopen, FFIType, ptr } from "bun:ffi";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import type { udp } from "bun";
import { AppError } from "../lib/errors.ts";

// <asm-generic/socket.h>
const SOL_SOCKET = 1;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;
const SO_SNDBUFFORCE = 32;
const SO_BINDTODEVICE = 25;
const SO_RCVBUFFORCE = 33;
const IFNAMSIZ = 16;
/**
 * A boot storm arrives in bursts while the loop is busy (a commit, a collection), and replies leave in bursts after a
 * commit; the kernel's default 208 KiB queues hold a few hundred packets and drop the rest. 4 MiB holds several
 * seconds of a 10k/s storm either way.
 */
const BUFFER_BYTES = 4 << 20;

export type PacketHandler = (bytes: Uint8Array, address: string, port: number) => void;

export interface DeviceSocket {
  readonly port: number;
  /** False when the kernel would not take the datagram (its send queue is full). */
  send(bytes: Uint8Array, port: number, address: string): boolean;
  close(): void;
}

let libc: ReturnType<typeof openLibc> | null = null;
function openLibc() {
  return dlopen("libc.so.6", {
    setsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
    getsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  });
}

/** The inode of the IPv4 UDP socket bound to `port` on any address, from /proc/self/net/udp. */
function socketInode(port: number): string | null {
  const hexPort = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  for (const line of readFileSync("/proc/self/net/udp", "utf8").split("\n").slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols[1] === `00000000${hexPort}`) return cols[9] ?? null;
  }
  return null;
}

function descriptorOf(inode: string): number | null {
  const target = `socket:[${inode}]`;
  for (const name of readdirSync("/proc/self/fd")) {
    try {
      if (readlinkSync(`/proc/self/fd/${name}`) === target) return Number(name);
    } catch {
      // A descriptor closed while we looked.
    }
  }
  return null;
}

/** The FORCE options pass net.core.[rw]mem_max as root; otherwise the plain ones get what those allow. */
function enlargeBuffers(fd: number): void {
  libc ??= openLibc();
  const size = new Int32Array([BUFFER_BYTES]);
  if (libc.symbols.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, ptr(size), 4) !== 0) libc.symbols.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, ptr(size), 4);
  if (libc.symbols.setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, ptr(size), 4) !== 0) libc.symbols.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, ptr(size), 4);
}

function bindToDevice(fd: number, device: string): string {
  libc ??= openLibc();
  const name = Buffer.alloc(IFNAMSIZ);
  name.write(device, "latin1");
  if (libc.symbols.setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ptr(name), device.length + 1) !== 0) return "setsockopt(SO_BINDTODEVICE) failed";
  const readBack = Buffer.alloc(IFNAMSIZ);
  const length = new Uint32Array([IFNAMSIZ]);
  if (libc.symbols.getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ptr(readBack), ptr(length)) !== 0) return "getsockopt(SO_BINDTODEVICE) failed";
  const bound = readBack.subarray(0, readBack.indexOf(0) < 0 ? IFNAMSIZ : readBack.indexOf(0)).toString("latin1");
  return bound === device ? "" : `the socket reports device '${bound}'`;
}

/** Listens on 0.0.0.0:`port`, confined to `device`, with broadcast sends allowed. */
export async function openDeviceSocket(device: string, port: number, onPacket: PacketHandler): Promise<DeviceSocket> {
  let socket: udp.Socket<"uint8array">;
  try {
    socket = await Bun.udpSocket({
      hostname: "0.0.0.0",
      port,
      binaryType: "uint8array",
      socket: { data: (_socket, bytes, remotePort, address) => onPacket(bytes, address, remotePort) },
    });
  } catch (error) {
    throw new AppError({
      code: "dhcp-listen-failed",
      status: 500,
      title: "Cannot listen for DHCP",
      detail: `cannot listen on UDP port ${port} (${(error as Error).message}); run goosed as root (or with CAP_NET_BIND_SERVICE) and stop any other DHCP server on this host (dnsmasq, isc-dhcp-server, kea)`,
      cause: error,
    });
  }
  const inode = socketInode(port);
  const fd = inode === null ? null : descriptorOf(inode);
  const problem = fd === null ? "cannot find the socket's descriptor in /proc/self" : bindToDevice(fd, device);
  if (problem) {
    socket.close();
    throw new AppError({
      code: "dhcp-device-bind-failed",
      status: 500,
      title: "Cannot confine DHCP to one interface",
      detail: `cannot bind UDP port ${port} to interface ${device}: ${problem}; goosed refuses to answer DHCP on every network. Check that ${device} exists (ip link) and that goosed runs as root`,
    });
  }
  enlargeBuffers(fd!);
  socket.setBroadcast(true);
  return {
    port: socket.port,
    send: (bytes, toPort, address) => socket.send(bytes, toPort, address),
    close: () => socket.close(),
  };
}
