// Real TFTP clients (tftp-hpa, atftp) in their own namespace fetch from goosed's TFTP server across a veth pair.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../src/lib/logger.ts";
import { directoryFiles, startTftpServer, type TftpServer } from "../../src/tftp/index.ts";
import { command, NetLab, type Netns } from "../support/netns.ts";
import { requireTool } from "../support/tools.ts";

const MIB = 1 << 20;
/** Bounds each client run: a stuck transfer fails the test instead of hanging it. */
const CLIENT_TIMEOUT_SECONDS = 120;

let lab: NetLab;
let client: Netns;
let server: TftpServer;
let dir: string;
let serverIp: string;
let clientDev: string;
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const expected: Record<string, string> = {};

beforeAll(async () => {
  requireTool("tftp", "tftp-hpa");
  requireTool("atftp");
  requireTool("nft", "nftables");
  dir = mkdtempSync(join(tmpdir(), "goosed-tftp-e2e-"));
  const root = join(dir, "root");
  mkdirSync(root);
  mkdirSync(join(dir, "out"));
  chmodSync(join(dir, "out"), 0o777);
  for (const [name, size] of [
    ["1m.bin", MIB],
    ["64m.bin", 64 * MIB],
    ["128k.bin", 128 * 1024],
  ] as const) {
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i += 65536) crypto.getRandomValues(bytes.subarray(i, Math.min(size, i + 65536)));
    writeFileSync(join(root, name), bytes);
    expected[name] = sha256(bytes);
  }
  writeFileSync(join(dir, "secret"), "outside the root");
  symlinkSync(join(dir, "secret"), join(root, "escape"));

  // The server runs in this process on the host end of a veth; only the clients live in the namespace.
  lab = new NetLab();
  client = await lab.namespace("tftpc");
  const subnet = await lab.hostSubnet();
  serverIp = subnet.host;
  clientDev = lab.ifname("tfc");
  await lab.veth({ ns: null, name: lab.ifname("tfs"), address: `${subnet.host}/${subnet.prefix}` }, { ns: client, name: clientDev, address: `${subnet.peer}/${subnet.prefix}` });
  server = await startTftpServer({
    host: serverIp,
    port: 0,
    files: directoryFiles(root),
    log: createLogger({ level: "warn", format: "json", write: () => {} }),
  });
});

afterAll(async () => {
  await server?.stop();
  await lab?.[Symbol.asyncDispose]();
  rmSync(dir, { recursive: true, force: true });
});

interface Fetch {
  code: number;
  output: string;
  bytes: Uint8Array | null;
}

async function fetchWith(tool: "tftp-hpa" | "atftp", remote: string, options: { blksize?: number; windowsize?: number; copy?: number } = {}): Promise<Fetch> {
  const local = join(dir, "out", `${tool}-${remote.replace(/\W/g, "_")}-${options.blksize ?? 0}-${options.windowsize ?? 0}-${options.copy ?? 0}`);
  rmSync(local, { force: true });
  const argv =
    tool === "tftp-hpa"
      ? ["tftp", "-m", "binary", serverIp, String(server.port), "-c", "get", remote, local]
      : [
          "atftp",
          "-g",
          "-r",
          remote,
          "-l",
          local,
          ...(options.blksize ? ["--option", `blksize ${options.blksize}`] : []),
          ...(options.windowsize ? ["--option", `windowsize ${options.windowsize}`] : []),
          serverIp,
          String(server.port),
        ];
  const result = await command(["ip", "netns", "exec", client.name, "timeout", String(CLIENT_TIMEOUT_SECONDS), ...argv]);
  let bytes: Uint8Array | null = null;
  try {
    bytes = new Uint8Array(readFileSync(local));
  } catch {
    bytes = null;
  }
  return { code: result.code, output: result.stdout + result.stderr, bytes };
}

/** The client exited 0 with the file's exact bytes; otherwise fails with what the client printed. */
function expectIntact(result: Fetch, file: string): void {
  const got = { code: result.code, sha256: result.bytes && sha256(result.bytes) };
  if (got.code !== 0 || got.sha256 !== expected[file]) console.error(`client output:\n${result.output.slice(-4000)}`);
  expect(got).toEqual({ code: 0, sha256: expected[file]! });
}

describe("many machines at once", () => {
  test("24 clients fetching at the same time each get the whole file, each from its own transfer", async () => {
    const before = server.stats.transfersCompleted;
    const runs = Array.from({ length: 24 }, (_, i) =>
      i % 2 === 0
        ? fetchWith("tftp-hpa", "1m.bin", { copy: i })
        : fetchWith("atftp", "1m.bin", { copy: i, blksize: i % 4 === 1 ? 1468 : undefined, windowsize: i % 8 === 3 ? 16 : undefined }),
    );
    for (const result of await Promise.all(runs)) expectIntact(result, "1m.bin");
    expect(server.stats.transfersCompleted - before).toBe(24);
  }, 180_000);
});

describe("whole files arrive intact", () => {
  test.each<[string, "tftp-hpa" | "atftp", string, { blksize?: number; windowsize?: number }]>([
    ["tftp-hpa, 1 MiB", "tftp-hpa", "1m.bin", {}],
    ["tftp-hpa, 64 MiB (block numbers roll over)", "tftp-hpa", "64m.bin", {}],
    ["atftp, 1 MiB", "atftp", "1m.bin", {}],
    ["atftp, 1 MiB, blksize 1468", "atftp", "1m.bin", { blksize: 1468 }],
    ["atftp, 1 MiB, blksize 1468 windowsize 16", "atftp", "1m.bin", { blksize: 1468, windowsize: 16 }],
    ["atftp, 64 MiB (block numbers roll over)", "atftp", "64m.bin", {}],
    ["atftp, 64 MiB, blksize 1468", "atftp", "64m.bin", { blksize: 1468 }],
    ["atftp, 64 MiB, blksize 1468 windowsize 16", "atftp", "64m.bin", { blksize: 1468, windowsize: 16 }],
    ["atftp, 64 MiB, windowsize 64", "atftp", "64m.bin", { windowsize: 64 }],
  ])(
    "%s",
    async (_name, tool, file, options) => {
      expectIntact(await fetchWith(tool, file, options), file);
    },
    CLIENT_TIMEOUT_SECONDS * 1000,
  );
});

describe("refusals come back as error packets", () => {
  test.each([
    ["'..' out of the root", "../secret", "Error code 2: path leaves the served root"],
    ["an absolute path outside the root", "/etc/passwd", "Error code 1: file not found"],
    ["a symlink pointing out of the root", "escape", "Error code 2: path leaves the served root"],
  ])("%s", async (_name, remote, message) => {
    const result = await fetchWith("tftp-hpa", remote);
    expect(result.output.trim()).toBe(message);
    expect(result.bytes?.length ?? 0).toBe(0);
  });

  test("a write request", async () => {
    writeFileSync(join(dir, "out", "upload"), "data");
    const result = await command(["ip", "netns", "exec", client.name, "tftp", "-m", "binary", serverIp, String(server.port), "-c", "put", join(dir, "out", "upload"), "upload"]);
    expect(result.stdout + result.stderr).toContain("Error code 2: write requests are not accepted");
    expect(server.stats.errors["write-request"]).toBeGreaterThan(0);
  });
});

describe("1% packet loss each way", () => {
  beforeAll(async () => {
    // nftables' random drop on the client's veth stands in for tc netem (this kernel has no sch_netem). It sits on the
    // device's ingress and egress hooks, below the socket, so a dropped send is silent as on a wire (an output-hook
    // drop would fail tftp-hpa's sendto with EPERM). Requests are spared: atftp never resends an RRQ, and a lost one
    // would test the client rather than the server.
    const rules = `table netdev goosed_loss {
  chain in { type filter hook ingress device "${clientDev}" priority 0; policy accept; ip protocol udp numgen random mod 100 < 1 drop; }
  chain out { type filter hook egress device "${clientDev}" priority 0; policy accept; udp dport ${server.port} accept; ip protocol udp numgen random mod 100 < 1 drop; }
}
`;
    writeFileSync(join(dir, "loss.nft"), rules);
    await client.exec(["nft", "-f", join(dir, "loss.nft")]);
  });

  test.each<[string, "tftp-hpa" | "atftp", string, { blksize?: number; windowsize?: number }]>([
    ["atftp, 1 MiB, blksize 1468 windowsize 16", "atftp", "1m.bin", { blksize: 1468, windowsize: 16 }],
    ["tftp-hpa, 128 KiB in lock-step", "tftp-hpa", "128k.bin", {}],
  ])(
    "%s completes",
    async (_name, tool, file, options) => {
      expectIntact(await fetchWith(tool, file, options), file);
    },
    CLIENT_TIMEOUT_SECONDS * 1000,
  );
});
