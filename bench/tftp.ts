// TFTP throughput benchmark: tftpd-hpa, atftpd and goosed's TFTP server side by side in one server namespace, the atftp
// client in another across a veth pair; MB/s per server for a 1 MiB and a 64 MiB file at blksize 512 and 1468, each in
// lock-step and at windowsize 16 and 64, with the ratio goosed/best peer. Then the same at 1% random packet loss,
// counting aborted transfers. Needs root, atftp, tftpd-hpa, nftables, ethtool; atftpd is fetched with apt-get download.
// `bun bench/tftp.ts serve ROOT HOST PORT` is the goosed side alone (started inside the server namespace).
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../src/lib/logger.ts";
import { directoryFiles, startTftpServer } from "../src/tftp/index.ts";

const REPEAT = Number(process.env.REPEAT ?? 3);
/** A transfer that takes longer than this is stuck, not slow. */
const CLIENT_TIMEOUT_SECONDS = 300;
const LOSS_PERCENT = 1;
const LOSS_TRANSFERS = Number(process.env.LOSS_TRANSFERS ?? 5);
const ATFTPD_CACHE = join(tmpdir(), "goosed-bench-cache", "atftpd");

interface Server {
  name: string;
  port: number;
}

interface Setting {
  blksize: number;
  windowsize: number;
}

function need(tool: string, pkg: string): void {
  if (!Bun.which(tool)) throw new Error(`${tool} is not installed; apt-get install ${pkg}`);
}

function run(command: string[], allowFail = false): string {
  const result = Bun.spawnSync(command, { stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0 && !allowFail) throw new Error(`${command.join(" ")} failed: ${result.stderr.toString()}`);
  return result.stdout.toString();
}

/** atftpd conflicts with tftpd-hpa in apt, so its binary is unpacked from the .deb into a cache outside the repo. */
function atftpdBinary(): string {
  const binary = join(ATFTPD_CACHE, "root/usr/sbin/atftpd");
  if (existsSync(binary)) return binary;
  mkdirSync(ATFTPD_CACHE, { recursive: true });
  const download = Bun.spawnSync(["apt-get", "download", "atftpd"], { cwd: ATFTPD_CACHE, stdout: "ignore", stderr: "pipe" });
  if (download.exitCode !== 0) throw new Error(`apt-get download atftpd failed: ${download.stderr.toString()}`);
  const deb = readdirSync(ATFTPD_CACHE).find((f) => f.startsWith("atftpd_") && f.endsWith(".deb"));
  if (!deb) throw new Error("apt-get download atftpd left no .deb");
  run(["dpkg-deb", "-x", join(ATFTPD_CACHE, deb), join(ATFTPD_CACHE, "root")]);
  return binary;
}

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("bench/tftp.ts needs root: it creates network namespaces");
  need("atftp", "atftp");
  need("in.tftpd", "tftpd-hpa");
  need("nft", "nftables");
  need("ethtool", "ethtool");
  const atftpd = atftpdBinary();

  const id = process.pid;
  const serverNs = `gtbs${id}`;
  const clientNs = `gtbc${id}`;
  const serverDev = `gtbs${id}`.slice(0, 15);
  const clientDev = `gtbc${id}`.slice(0, 15);
  const serverIp = "10.203.0.1";
  const clientIp = "10.203.0.2";
  const dir = mkdtempSync(join(tmpdir(), "goosed-tftp-bench-"));
  const served = join(dir, "served");
  mkdirSync(served);
  // tftpd-hpa and atftpd drop privileges: the files must be world-readable.
  chmodSync(dir, 0o755);
  chmodSync(served, 0o755);
  const files = { "1m.bin": 1 << 20, "64m.bin": 64 << 20 };
  for (const [name, size] of Object.entries(files)) {
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i += 65536) crypto.getRandomValues(bytes.subarray(i, Math.min(size, i + 65536)));
    writeFileSync(join(served, name), bytes);
    chmodSync(join(served, name), 0o644);
  }
  const expected = Object.fromEntries(Object.keys(files).map((name) => [name, sha256(join(served, name))]));
  const children: Bun.Subprocess[] = [];

  try {
    run(["ip", "netns", "add", serverNs]);
    run(["ip", "netns", "add", clientNs]);
    run(["ip", "link", "add", serverDev, "type", "veth", "peer", "name", clientDev]);
    run(["ip", "link", "set", serverDev, "netns", serverNs]);
    run(["ip", "link", "set", clientDev, "netns", clientNs]);
    for (const [ns, dev, ip] of [
      [serverNs, serverDev, serverIp],
      [clientNs, clientDev, clientIp],
    ] as const) {
      run(["ip", "-n", ns, "addr", "add", `${ip}/24`, "dev", dev]);
      run(["ip", "-n", ns, "link", "set", dev, "up"]);
      run(["ip", "-n", ns, "link", "set", "lo", "up"]);
      // veth checksum offload leaves UDP checksums unfilled for some receivers.
      run(["ip", "netns", "exec", ns, "ethtool", "-K", dev, "tx", "off"]);
    }

    const servers: Server[] = [
      { name: "tftpd-hpa", port: 69 },
      { name: "atftpd", port: 70 },
      { name: "goosed", port: 71 },
    ];
    children.push(
      Bun.spawn(["ip", "netns", "exec", serverNs, "in.tftpd", "-L", "-a", `${serverIp}:69`, "-u", "root", "-s", served], { stderr: "inherit" }),
      Bun.spawn(
        ["ip", "netns", "exec", serverNs, atftpd, "--daemon", "--no-fork", "--port", "70", "--bind-address", serverIp, "--user", "root", "--group", "root", "--logfile", "/dev/null", served],
        { stderr: "inherit" },
      ),
    );
    const goosed = Bun.spawn(["ip", "netns", "exec", serverNs, "bun", import.meta.path, "serve", served, serverIp, "71"], { stdout: "pipe", stderr: "inherit" });
    children.push(goosed);
    const reader = goosed.stdout.getReader();
    const first = await reader.read();
    if (!new TextDecoder().decode(first.value).startsWith("ready")) throw new Error("goosed tftp server did not start");
    reader.releaseLock();

    const output = join(dir, "fetched.bin");
    /** One atftp fetch; seconds taken, or null when the transfer failed or its bytes differ. */
    async function fetchOnce(server: Server, file: string, setting: Setting): Promise<number | null> {
      rmSync(output, { force: true });
      const options = [
        ...(setting.blksize === 512 ? [] : ["--option", `blksize ${setting.blksize}`]),
        ...(setting.windowsize === 1 ? [] : ["--option", `windowsize ${setting.windowsize}`]),
      ];
      const command = ["ip", "netns", "exec", clientNs, "timeout", String(CLIENT_TIMEOUT_SECONDS), "atftp", "-g", "-r", file, "-l", output, ...options, serverIp, String(server.port)];
      const started = performance.now();
      const proc = Bun.spawn(command, { stdout: "ignore", stderr: "ignore" });
      const code = await proc.exited;
      const seconds = (performance.now() - started) / 1000;
      if (code !== 0 || !existsSync(output) || statSync(output).size !== files[file as keyof typeof files]) return null;
      return seconds;
    }

    // One untimed round first: a long-running goosed has its JIT warm by the time machines boot; the C servers need none.
    for (const server of servers) {
      for (const windowsize of [1, 16]) await fetchOnce(server, "1m.bin", { blksize: 1468, windowsize });
    }

    const settings: Setting[] = [512, 1468].flatMap((blksize) => [1, 16, 64].map((windowsize) => ({ blksize, windowsize })));
    const label = (s: Setting) => `blksize ${s.blksize}${s.windowsize > 1 ? ` windowsize ${s.windowsize}` : ""}`;
    console.log(`TFTP over a veth pair between namespaces, atftp client, median of ${REPEAT}; MB/s (10^6 bytes/s)`);
    console.log("tftpd-hpa has no windowsize option: it answers those requests in lock-step.\n");
    console.log(`${"file".padEnd(8)} ${"setting".padEnd(26)} ${servers.map((s) => s.name.padStart(10)).join(" ")}   goosed/best peer`);
    const ratios: number[] = [];
    for (const [file, size] of Object.entries(files)) {
      for (const setting of settings) {
        const rates: number[] = [];
        for (const server of servers) {
          const times: number[] = [];
          for (let i = 0; i < REPEAT; i++) {
            const seconds = await fetchOnce(server, file, setting);
            if (seconds === null) throw new Error(`${server.name} failed ${file} at ${label(setting)}`);
            if (i === 0 && sha256(output) !== expected[file]) throw new Error(`${server.name} sent different bytes for ${file}`);
            times.push(seconds);
          }
          times.sort((a, b) => a - b);
          rates.push(size / times[Math.floor(times.length / 2)]! / 1e6);
        }
        const ratio = rates[2]! / Math.max(rates[0]!, rates[1]!);
        ratios.push(ratio);
        console.log(`${file.padEnd(8)} ${label(setting).padEnd(26)} ${rates.map((r) => r.toFixed(1).padStart(10)).join(" ")}   ${ratio.toFixed(2)}x`);
      }
    }
    console.log(`\nlowest ratio ${Math.min(...ratios).toFixed(2)}x, geometric mean ${Math.exp(ratios.reduce((s, r) => s + Math.log(r), 0) / ratios.length).toFixed(2)}x`);

    // Random loss in both directions on the client's veth (nftables numgen: this kernel has no sch_netem for tc netem),
    // on the device's hooks so a dropped send is silent as on a wire. Requests are spared: atftp never resends an RRQ,
    // so a lost request would measure the client, not the server.
    const ports = servers.map((s) => s.port).join(", ");
    writeFileSync(
      join(dir, "loss.nft"),
      `table netdev goosed_loss {
  chain in { type filter hook ingress device "${clientDev}" priority 0; policy accept; ip protocol udp numgen random mod 100 < ${LOSS_PERCENT} drop; }
  chain out { type filter hook egress device "${clientDev}" priority 0; policy accept; udp dport { ${ports} } accept; ip protocol udp numgen random mod 100 < ${LOSS_PERCENT} drop; }
}
`,
    );
    run(["ip", "netns", "exec", clientNs, "nft", "-f", join(dir, "loss.nft")]);
    const lossSettings: Setting[] = [
      { blksize: 1468, windowsize: 1 },
      { blksize: 1468, windowsize: 16 },
      { blksize: 1468, windowsize: 64 },
    ];
    console.log(`\n${LOSS_PERCENT}% random loss each way, 1m.bin, ${LOSS_TRANSFERS} transfers per cell: completed/total and median seconds`);
    console.log(`${"setting".padEnd(26)} ${servers.map((s) => s.name.padStart(16)).join(" ")}`);
    let aborted = 0;
    for (const setting of lossSettings) {
      const cells: string[] = [];
      for (const server of servers) {
        const times: number[] = [];
        for (let i = 0; i < LOSS_TRANSFERS; i++) {
          const seconds = await fetchOnce(server, "1m.bin", setting);
          if (seconds !== null && sha256(output) === expected["1m.bin"]) times.push(seconds);
          else if (server.name === "goosed") aborted++;
        }
        times.sort((a, b) => a - b);
        const median = times.length ? times[Math.floor(times.length / 2)]!.toFixed(2) : "-";
        cells.push(`${times.length}/${LOSS_TRANSFERS} ${median.padStart(6)} s`.padStart(16));
      }
      console.log(`${label(setting).padEnd(26)} ${cells.join(" ")}`);
    }
    console.log(`\ngoosed transfers aborted at ${LOSS_PERCENT}% loss: ${aborted}`);
  } finally {
    for (const child of children) child.kill("SIGTERM");
    await Promise.all(children.map((c) => c.exited));
    run(["ip", "netns", "del", serverNs], true);
    run(["ip", "netns", "del", clientNs], true);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function serve(root: string, host: string, port: string): Promise<void> {
  const server = await startTftpServer({
    host,
    port: Number(port),
    files: directoryFiles(root),
    log: createLogger({ level: "warn", format: "json", write: (line) => process.stderr.write(line) }),
  });
  console.log(`ready ${server.port}`);
  process.on("SIGTERM", () => void server.stop().then(() => process.exit(0)));
}

if (process.argv[2] === "serve") await serve(process.argv[3]!, process.argv[4]!, process.argv[5]!);
else await main();
