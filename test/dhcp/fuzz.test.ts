// Seeded mutation fuzz over the golden captures: decode never throws and what decodes re-encodes; the server answers
// or drops every mutation, in full and proxy mode, without throwing or logging an internal error.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { chooseBootFile } from "../../src/dhcp/boot-file.ts";
import { decodeDhcp, encodeDhcp } from "../../src/dhcp/codec.ts";
import { LeasePool } from "../../src/dhcp/lease-pool.ts";
import { DhcpServer } from "../../src/dhcp/server.ts";
import { ipv4ToNumber, networkOf } from "../../src/lib/ipv4.ts";
import { createLogger } from "../../src/lib/logger.ts";
import { seededRandom } from "../support/seeded-random.ts";

const FIXTURES = join(import.meta.dir, "../fixtures/dhcp");
const MUTATIONS = 20_000;
/** The only error encodeDhcp may throw for a decoded message: it would not fit the client's limit. */
const SIZE_ERROR = /^DHCP message of \d+ bytes exceeds the client's limit/;

/** Where each option's length byte sits, walking the options field as far as it parses. */
function lengthOffsets(bytes: Uint8Array): number[] {
  const offsets: number[] = [];
  for (let at = 240; at + 1 < bytes.length && bytes[at] !== 255; ) {
    if (bytes[at] === 0) {
      at += 1;
      continue;
    }
    offsets.push(at + 1);
    at += 2 + bytes[at + 1]!;
  }
  return offsets;
}

function mutate(source: Uint8Array, next: () => number): Uint8Array {
  const int = (n: number) => Math.floor(next() * n);
  const bytes = source.slice();
  switch (int(6)) {
    case 0: {
      // Flip one to eight bits anywhere.
      for (let n = 1 + int(8); n > 0; n--) bytes[int(bytes.length)]! ^= 1 << int(8);
      return bytes;
    }
    case 1:
      // Truncate: most interesting near the options field.
      return bytes.subarray(0, int(bytes.length));
    case 2: {
      // Insert 1-32 random bytes.
      const at = int(bytes.length + 1);
      const inserted = Uint8Array.from({ length: 1 + int(32) }, () => int(256));
      return Uint8Array.from([...bytes.subarray(0, at), ...inserted, ...bytes.subarray(at)]);
    }
    case 3: {
      // Change an option's length byte to anything, or by one.
      const offsets = lengthOffsets(bytes);
      if (offsets.length === 0) return bytes;
      const at = offsets[int(offsets.length)]!;
      bytes[at] = next() < 0.5 ? int(256) : (bytes[at]! + (next() < 0.5 ? 1 : 255)) & 0xff;
      return bytes;
    }
    case 4: {
      // Delete a range.
      const at = int(bytes.length);
      return Uint8Array.from([...bytes.subarray(0, at), ...bytes.subarray(at + 1 + int(16))]);
    }
    default: {
      // Set an options-area byte to a code the codec knows well (overload, end, pad, message type).
      const at = 240 + int(Math.max(1, bytes.length - 240));
      if (at < bytes.length) bytes[at] = [0, 52, 53, 255, 77, 82, 93, 97][int(8)]!;
      return bytes;
    }
  }
}

test(`decode never throws on ${MUTATIONS} mutations of the goldens; whatever decodes re-encodes to the same value`, async () => {
  const goldens = await Promise.all(
    [...new Bun.Glob("*.bin").scanSync(FIXTURES)].sort().map(async (name) => new Uint8Array(await Bun.file(join(FIXTURES, name)).arrayBuffer())),
  );
  expect(goldens.length).toBeGreaterThan(0);
  const seed = Number(process.env.DHCP_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32));
  console.log(`dhcp fuzz seed ${seed} (rerun with DHCP_FUZZ_SEED=${seed})`);
  const next = seededRandom(seed);
  const counts = { ok: 0, failed: 0, tooBig: 0 };

  for (let i = 0; i < MUTATIONS; i++) {
    let bytes = mutate(goldens[Math.floor(next() * goldens.length)]!, next);
    if (next() < 0.3) bytes = mutate(bytes, next);
    const context = () => `seed ${seed}, mutation ${i}: ${Buffer.from(bytes).toString("hex")}`;
    let result: ReturnType<typeof decodeDhcp>;
    try {
      result = decodeDhcp(bytes);
    } catch (error) {
      throw new Error(`decode threw (${(error as Error).message}); ${context()}`);
    }
    if (!result.ok) {
      counts.failed++;
      if (!Number.isInteger(result.offset) || result.offset < 0 || result.offset > bytes.length) throw new Error(`offset ${result.offset} outside the packet; ${context()}`);
      continue;
    }
    let encoded: Uint8Array;
    try {
      encoded = encodeDhcp(result.value);
    } catch (error) {
      if (error instanceof RangeError && SIZE_ERROR.test(error.message)) {
        counts.tooBig++;
        continue;
      }
      throw new Error(`encode threw (${(error as Error).message}); ${context()}`);
    }
    counts.ok++;
    const again = decodeDhcp(encoded);
    if (!again.ok || !Bun.deepEquals(again.value, result.value, true)) throw new Error(`re-encoded message decodes differently; ${context()}`);
  }
  console.log(`dhcp fuzz: ${counts.ok} decoded and re-encoded, ${counts.failed} refused with a reason, ${counts.tooBig} too big to re-encode`);
  // Both paths must be exercised, or the mutations are not reaching the options.
  expect(counts.ok).toBeGreaterThan(MUTATIONS / 10);
  expect(counts.failed).toBeGreaterThan(MUTATIONS / 10);
});

test(`the server answers or drops ${MUTATIONS} mutated packets, full and proxy, without throwing or an internal error`, async () => {
  const goldens = await Promise.all(
    [...new Bun.Glob("*.bin").scanSync(FIXTURES)].sort().map(async (name) => new Uint8Array(await Bun.file(join(FIXTURES, name)).arrayBuffer())),
  );
  const seed = Number(process.env.DHCP_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32));
  console.log(`dhcp server fuzz seed ${seed} (rerun with DHCP_FUZZ_SEED=${seed})`);
  const next = seededRandom(seed);
  const network = networkOf("10.9.0.1", 24);
  const subnet = { network, rangeStart: ipv4ToNumber("10.9.0.100"), rangeEnd: ipv4ToNumber("10.9.0.120"), leaseSeconds: 600, options: { router: null, dns: [], domain: null, ntp: [] }, local: true };
  const boot = { scriptUrl: "http://10.9.0.1/boot/boot.ipxe", loaderBaseUrl: "http://10.9.0.1/boot/loaders", uefiLoader: "ipxe.efi" as const, available: new Set(["undionly.kpxe", "ipxe.efi"]) };
  const errors: string[] = [];
  let replies = 0;
  const servers = (["full", "proxy"] as const).map((mode) => {
    const settings = { mode, device: "fuzz0", serverIp: "10.9.0.1", network, subnets: mode === "full" ? [subnet] : [] };
    return new DhcpServer({
      settings,
      pool: mode === "full" ? new LeasePool(settings.subnets, { byMac: () => null, ownerOf: () => null }, []) : null,
      leases: { save: async () => {} },
      boot: (options) => chooseBootFile(options, boot),
      log: createLogger({ level: "error", format: "json", write: (line) => void errors.push(line) }),
      send: (bytes) => {
        if (!decodeDhcp(bytes).ok) errors.push(`sent an undecodable reply: ${Buffer.from(bytes).toString("hex")}`);
        replies++;
        return true;
      },
    });
  });
  for (let i = 0; i < MUTATIONS; i++) {
    const bytes = mutate(goldens[Math.floor(next() * goldens.length)]!, next);
    for (const server of servers) server.handle(bytes, { address: "10.9.0.50", port: 68 }, next() < 0.2);
  }
  await new Promise((resolve) => setImmediate(resolve));
  expect(errors).toEqual([]);
  // Half the captures are replies (dropped) and many mutations no longer parse; enough still draw an answer that the
  // run exercised the answering paths, not only the drops.
  expect(replies).toBeGreaterThan(MUTATIONS / 50);
  for (const server of servers) expect(server.stats.dropped.get("internal-error")).toBeUndefined();
});
