import { afterEach, expect, test } from "bun:test";
import { createLogger } from "../../src/lib/logger.ts";
import { decodeTftp, encodeTftp, type TftpPacket } from "../../src/tftp/codec.ts";
import { memoryFiles } from "../../src/tftp/files.ts";
import { startTftpServer, type TftpServer, type TftpTransferEvent } from "../../src/tftp/server.ts";

const FILE = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7) & 0xff);
const logLines: string[] = [];
const log = createLogger({ level: "debug", format: "json", write: (line) => logLines.push(line) });
let server: TftpServer | undefined;
const clients: Array<{ close(): void }> = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server?.stop();
  server = undefined;
  logLines.length = 0;
});

/** A bare UDP client: sends datagrams to a port, and hands back what arrives in order, with the sender's port. */
async function client() {
  const queue: Array<{ packet: TftpPacket; port: number }> = [];
  const waiters: Array<() => void> = [];
  const socket = await Bun.udpSocket({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(_s, bytes, port) {
        const decoded = decodeTftp(bytes);
        if (!decoded.ok) throw new Error(`server sent a malformed packet: ${decoded.reason}`);
        queue.push({ packet: decoded.value, port });
        waiters.shift()?.();
      },
    },
  });
  clients.push(socket);
  return {
    send(packet: TftpPacket | Uint8Array, port: number) {
      socket.send(packet instanceof Uint8Array ? packet : encodeTftp(packet), port, "127.0.0.1");
    },
    async next(): Promise<{ packet: TftpPacket; port: number }> {
      while (queue.length === 0) await new Promise<void>((resolve) => waiters.push(resolve));
      return queue.shift()!;
    },
  };
}

async function start(onTransfer?: (event: TftpTransferEvent) => void) {
  server = await startTftpServer({ host: "127.0.0.1", port: 0, files: memoryFiles(new Map([["boot.bin", FILE]])), log, onTransfer });
  return server;
}

test("a lock-step read from a new port, block after block, ending with the short block; the event reports it", async () => {
  const events: TftpTransferEvent[] = [];
  const { promise: done, resolve: finished } = Promise.withResolvers<void>();
  await start((event) => {
    events.push(event);
    finished();
  });
  const tftp = await client();
  tftp.send({ opcode: "rrq", filename: "boot.bin", mode: "octet", options: [] }, server!.port);
  const received: number[] = [];
  let transferPort = 0;
  for (;;) {
    const { packet, port } = await tftp.next();
    if (packet.opcode !== "data") throw new Error(`expected DATA, got ${packet.opcode}`);
    transferPort = port;
    received.push(...packet.data);
    tftp.send({ opcode: "ack", block: packet.block }, port);
    if (packet.data.length < 512) break;
  }
  await done;
  expect(transferPort).not.toBe(server!.port);
  expect(Uint8Array.from(received)).toEqual(FILE);
  expect(events).toEqual([
    { kind: "completed", path: "boot.bin", peer: expect.stringMatching(/^127\.0\.0\.1:\d+$/), bytes: 5000, blksize: 512, windowsize: 1, durationMs: expect.any(Number) },
  ]);
  expect(server!.stats).toMatchObject({ requests: 1, transfersActive: 0, transfersCompleted: 1, bytesSent: 5000, packetsSent: 10, retransmits: 0 });
});

test("options: the OACK answers tsize, blksize and windowsize; ACK 0 starts a window", async () => {
  await start();
  const tftp = await client();
  const options = [
    { name: "tsize", value: "0" },
    { name: "blksize", value: "1000" },
    { name: "windowsize", value: "4" },
  ];
  tftp.send({ opcode: "rrq", filename: "/boot.bin", mode: "octet", options }, server!.port);
  const oack = await tftp.next();
  expect(oack.packet).toEqual({ opcode: "oack", options: [{ name: "tsize", value: "5000" }, { name: "blksize", value: "1000" }, { name: "windowsize", value: "4" }] });
  tftp.send({ opcode: "ack", block: 0 }, oack.port);
  const blocks = [];
  for (let i = 0; i < 4; i++) blocks.push((await tftp.next()).packet);
  expect(blocks.map((p) => (p.opcode === "data" ? [p.block, p.data.length] : p.opcode))).toEqual([[1, 1000], [2, 1000], [3, 1000], [4, 1000]]);
  tftp.send({ opcode: "ack", block: 4 }, oack.port);
  const last = [(await tftp.next()).packet, (await tftp.next()).packet];
  expect(last.map((p) => (p.opcode === "data" ? [p.block, p.data.length] : p.opcode))).toEqual([[5, 1000], [6, 0]]);
});

test.each<[string, TftpPacket, TftpPacket]>([
  ["a write request", { opcode: "wrq", filename: "boot.bin", mode: "octet", options: [] }, { opcode: "error", code: 2, message: "write requests are not accepted" }],
  ["a missing file", { opcode: "rrq", filename: "nothing", mode: "octet", options: [] }, { opcode: "error", code: 1, message: "file not found" }],
  ["a path escape", { opcode: "rrq", filename: "../etc/passwd", mode: "octet", options: [] }, { opcode: "error", code: 2, message: "path leaves the served root" }],
  ["mail mode", { opcode: "rrq", filename: "boot.bin", mode: "mail", options: [] }, { opcode: "error", code: 4, message: "mode mail is not supported; use octet" }],
])("%s gets an error packet from a new port", async (_name, request, reply) => {
  await start();
  const tftp = await client();
  tftp.send(request, server!.port);
  const answer = await tftp.next();
  expect(answer.packet).toEqual(reply);
  expect(answer.port).not.toBe(server!.port);
});

test("malformed datagrams are counted by reason and logged with their hex; the server keeps serving", async () => {
  await start();
  const tftp = await client();
  tftp.send(new Uint8Array([0, 9]), server!.port);
  tftp.send(new Uint8Array([0, 1, 0x61]), server!.port);
  tftp.send({ opcode: "rrq", filename: "nothing", mode: "octet", options: [] }, server!.port);
  expect((await tftp.next()).packet.opcode).toBe("error");
  expect(server!.stats.errors).toMatchObject({ "unknown-opcode": 1, "missing-filename-terminator": 1, "file-not-found": 1 });
  const lines = logLines.map((l) => JSON.parse(l)).filter((l) => l.message === "malformed tftp packet");
  expect(lines.map((l) => [l.reason, l.hex])).toEqual([
    ["unknown-opcode", "0009"],
    ["missing-filename-terminator", "000161"],
  ]);
});

test("netascii turns LF into CR LF", async () => {
  server = await startTftpServer({ host: "127.0.0.1", port: 0, files: memoryFiles(new Map([["t.txt", new TextEncoder().encode("a\nb\r")]])), log });
  const tftp = await client();
  tftp.send({ opcode: "rrq", filename: "t.txt", mode: "NetASCII", options: [] }, server.port);
  expect((await tftp.next()).packet).toEqual({ opcode: "data", block: 1, data: Uint8Array.from([0x61, 13, 10, 0x62, 13, 0]) });
});
