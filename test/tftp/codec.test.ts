import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { decodeTftp, encodeTftp, type TftpPacket } from "../../src/tftp/codec.ts";
import { seededRandom } from "../support/seeded-random.ts";

const FIXTURES = join(import.meta.dir, "../fixtures/tftp");
const golden = (name: string) => new Uint8Array(readFileSync(join(FIXTURES, `${name}.bin`)));
const text = (s: string) => new TextEncoder().encode(s);

/** What each capture (see its .txt beside it) must decode to, field for field. */
const GOLDENS: Array<[string, TftpPacket]> = [
  ["tftp-hpa-rrq", { opcode: "rrq", filename: "hello.txt", mode: "octet", options: [] }],
  ["tftp-hpa-wrq", { opcode: "wrq", filename: "up.txt", mode: "octet", options: [] }],
  ["tftp-hpa-ack", { opcode: "ack", block: 1 }],
  ["tftpd-hpa-data", { opcode: "data", block: 1, data: text("hello from a tftp golden capture\n") }],
  ["tftpd-hpa-error", { opcode: "error", code: 1, message: "File not found" }],
  ["atftp-rrq", { opcode: "rrq", filename: "pxelinux.0", mode: "octet", options: [] }],
  [
    "atftp-rrq-options",
    {
      opcode: "rrq",
      filename: "pxelinux.0",
      mode: "octet",
      options: [
        { name: "tsize", value: "0" },
        { name: "timeout", value: "2" },
        { name: "blksize", value: "1468" },
        { name: "windowsize", value: "16" },
      ],
    },
  ],
  [
    "atftp-rrq-blksize-tsize",
    { opcode: "rrq", filename: "pxelinux.0", mode: "octet", options: [{ name: "tsize", value: "0" }, { name: "blksize", value: "1468" }] },
  ],
  [
    "atftpd-oack",
    {
      opcode: "oack",
      options: [
        { name: "tsize", value: "3000" },
        { name: "timeout", value: "2" },
        { name: "blksize", value: "1468" },
        { name: "windowsize", value: "16" },
      ],
    },
  ],
  ["tftpd-hpa-oack", { opcode: "oack", options: [{ name: "tsize", value: "3000" }, { name: "blksize", value: "1468" }] }],
  ["atftp-ack-0", { opcode: "ack", block: 0 }],
];

test("every capture in the fixtures has an expected decode", () => {
  const captured = readdirSync(FIXTURES).filter((f) => f.endsWith(".bin")).map((f) => f.slice(0, -4)).sort();
  expect(captured).toEqual(GOLDENS.map(([name]) => name).sort());
});

test.each(GOLDENS)("%s decodes to the packet its capture shows and encodes back to the same bytes", (name, packet) => {
  const bytes = golden(name);
  expect(decodeTftp(bytes)).toEqual({ ok: true, value: packet });
  expect(encodeTftp(packet)).toEqual(bytes);
});

test.each<[string, number[], TftpPacket]>([
  // 00 04 | ff ff: the last block number before the rollover to 0.
  ["ACK of block 65535", [0, 4, 0xff, 0xff], { opcode: "ack", block: 65535 }],
  // 00 04 | 00 07 | 00 00: bytes after an ACK's block number are ignored, as tftpd-hpa does.
  ["ACK with trailing padding", [0, 4, 0, 7, 0, 0], { opcode: "ack", block: 7 }],
  // 00 03 | 00 02: DATA with no payload ends a transfer whose size is a multiple of blksize (RFC 1350 §6).
  ["empty DATA", [0, 3, 0, 2], { opcode: "data", block: 2, data: new Uint8Array(0) }],
  // 00 05 | 00 08 | "no": an ERROR whose message lacks its 0 keeps the text to the end.
  ["ERROR without terminator", [0, 5, 0, 8, 0x6e, 0x6f], { opcode: "error", code: 8, message: "no" }],
  // 00 01 | "a\xe9" 00 | "octet" 00: a filename byte above 0x7f survives as one char per byte.
  ["RRQ with a latin1 byte", [0, 1, 0x61, 0xe9, 0, ...text("octet"), 0], { opcode: "rrq", filename: "a\u00e9", mode: "octet", options: [] }],
  // 00 06: an OACK with no options is well formed (a server should not send it, but it decodes).
  ["empty OACK", [0, 6], { opcode: "oack", options: [] }],
])("%s", (_name, bytes, packet) => {
  expect(decodeTftp(new Uint8Array(bytes))).toEqual({ ok: true, value: packet });
});

test.each<[string, number[], string, number]>([
  ["empty datagram", [], "too-short", 0],
  ["one byte", [0], "too-short", 0],
  ["opcode 0", [0, 0, 0, 0], "unknown-opcode", 0],
  ["opcode 7", [0, 7], "unknown-opcode", 0],
  ["opcode above a byte", [1, 1], "unknown-opcode", 0],
  ["RRQ with nothing after the opcode", [0, 1], "missing-filename-terminator", 2],
  ["RRQ whose filename never ends", [0, 1, ...text("abc")], "missing-filename-terminator", 2],
  ["RRQ with an empty filename", [0, 1, 0, ...text("octet"), 0], "empty-filename", 2],
  ["RRQ whose mode never ends", [0, 1, ...text("a"), 0, ...text("oct")], "missing-mode-terminator", 4],
  ["RRQ option name without value", [0, 1, ...text("a"), 0, ...text("octet"), 0, ...text("blksize")], "missing-option-value", 10],
  ["RRQ option value never ends", [0, 1, ...text("a"), 0, ...text("octet"), 0, ...text("blksize"), 0, ...text("14")], "missing-option-terminator", 18],
  ["RRQ empty option name", [0, 1, ...text("a"), 0, ...text("octet"), 0, 0, ...text("1"), 0], "empty-option-name", 10],
  [
    "RRQ option named twice in two cases",
    [0, 1, ...text("a"), 0, ...text("octet"), 0, ...text("blksize"), 0, ...text("512"), 0, ...text("BLKSIZE"), 0, ...text("1024"), 0],
    "duplicate-option",
    22,
  ],
  ["WRQ whose filename never ends", [0, 2, ...text("x")], "missing-filename-terminator", 2],
  ["DATA without block number", [0, 3, 0], "missing-block-number", 2],
  ["ACK without block number", [0, 4], "missing-block-number", 2],
  ["ACK with half a block number", [0, 4, 1], "missing-block-number", 2],
  ["ERROR without code", [0, 5, 0], "missing-error-code", 2],
  ["OACK option without value", [0, 6, ...text("tsize")], "missing-option-value", 2],
])("malformed: %s", (_name, bytes, reason, offset) => {
  expect(decodeTftp(new Uint8Array(bytes))).toEqual({ ok: false, reason: reason as never, offset });
});

test("mutated captures decode or give a typed reason, never throw (seed printed; replay with TFTP_FUZZ_SEED)", () => {
  const seed = Number(process.env.TFTP_FUZZ_SEED ?? Date.now() % 2 ** 31);
  console.log(`tftp codec fuzz seed ${seed}`);
  const next = seededRandom(seed);
  const pick = (n: number) => Math.floor(next() * n);
  const inputs = GOLDENS.map(([name]) => golden(name));
  const reasons = new Set<string>();
  for (let i = 0; i < 20_000; i++) {
    let bytes = Uint8Array.from(inputs[pick(inputs.length)]!);
    for (let m = 1 + pick(4); m > 0; m--) {
      const at = pick(bytes.length + 1);
      switch (pick(4)) {
        case 0: // flip a byte
          if (bytes.length) bytes[Math.min(at, bytes.length - 1)] = pick(256);
          break;
        case 1: // truncate
          bytes = bytes.slice(0, at);
          break;
        case 2: // insert a byte (often a 0, the separator)
          bytes = Uint8Array.from([...bytes.slice(0, at), next() < 0.5 ? 0 : pick(256), ...bytes.slice(at)]);
          break;
        case 3: // delete a byte
          bytes = Uint8Array.from([...bytes.slice(0, at), ...bytes.slice(at + 1)]);
          break;
      }
    }
    const result = decodeTftp(bytes);
    if (result.ok) {
      // Whatever decodes re-encodes to a packet that decodes the same (ACKs drop padding, ERRORs gain their 0).
      expect(decodeTftp(encodeTftp(result.value))).toEqual(result);
    } else {
      expect(result.offset).toBeGreaterThanOrEqual(0);
      expect(result.offset).toBeLessThanOrEqual(bytes.length);
      reasons.add(result.reason);
    }
  }
  expect(reasons.size).toBeGreaterThan(3);
});
