// `goosed appliance configure` (boot-time: boot words + the GOOSED stick → goosed.yaml and a networkd file) and
// `goosed appliance console` (the status screen on tty1 and the serial console). The logic lives in src/appliance/.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { basename, dirname, join } from "node:path";
import type { CAC } from "cac";
import { parse as parseYaml } from "yaml";
import {
  APPLIANCE_DEFAULTS,
  ApplianceConfigError,
  chooseInterface,
  type ConsoleFacts,
  type LinkInfo,
  mergeBootWords,
  parseBootWords,
  planAppliance,
  renderConfigYaml,
  renderConsoleScreen,
  renderNetworkFile,
  requestedInterface,
} from "../appliance/index.ts";
import { ConfigError, loadConfig } from "../config/index.ts";
import { ADMIN_TOKEN_FILE } from "../core/index.ts";
import { isInMemory } from "../lib/memory-fs.ts";
import { localAppliance } from "./client.ts";
import { CliError, UsageError } from "./usage.ts";

export interface ApplianceDeps {
  version: string;
  env: Record<string, string | undefined>;
}

const CONFIGURE = "appliance configure";

const CARRIER_POLL_MS = 250;

/** Whether `path` (or, before it exists, the nearest directory above it) lives on tmpfs or ramfs. */
function inMemory(path: string): boolean {
  let dir = path;
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  return isInMemory(dir);
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

/** /sys/class/net as LinkInfo; carrier reads fail with EINVAL on a link that is administratively down. */
function readLinks(sysNet: string): LinkInfo[] {
  let names: string[];
  try {
    names = readdirSync(sysNet);
  } catch (err) {
    throw new CliError(`cannot list network interfaces in ${sysNet}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  return names.map((name) => {
    const type = readText(join(sysNet, name, "type"))?.trim();
    return { name, carrier: readText(join(sysNet, name, "carrier"))?.trim() === "1", type: type && /^\d+$/.test(type) ? Number(type) : null };
  });
}

/** Polls for an Ethernet link with carrier until the wait runs out, then settles for any Ethernet interface. */
async function pickInterface(sysNet: string, waitSeconds: number, warn: (line: string) => void): Promise<string> {
  const deadline = Date.now() + waitSeconds * 1000;
  for (;;) {
    const final = Date.now() >= deadline;
    const choice = chooseInterface(readLinks(sysNet), final);
    if (choice?.kind === "carrier") return choice.name;
    if (choice?.kind === "no-carrier") {
      warn(`no Ethernet interface has a cable in after ${waitSeconds}s; using ${choice.name}. Plug the provisioning network in, or name it with goosed.iface=NAME`);
      return choice.name;
    }
    if (choice?.kind === "none") throw new CliError(`no Ethernet interface in ${sysNet}; goosed needs one to serve the provisioning network (check the NIC's driver with dmesg)`);
    await Bun.sleep(Math.max(0, Math.min(CARRIER_POLL_MS, deadline - Date.now())));
  }
}

/** Writes beside the target and renames over it, so a power cut never leaves half a file. */
function writeAtomically(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** Every field error on one line; the loader's "(in FILE)" is dropped where the line names the file already. */
const oneLine = (err: ConfigError, file = "") => err.errors.map((e) => `${e.path}: ${e.message.replace(` (in ${file})`, "")}`).join("; ");

/** The stick's goosed.yaml checked by goosed's own loader, then read as written so appliance defaults fill the rest. */
function readStickConfig(path: string): Record<string, unknown> {
  if (!existsSync(path)) return {};
  try {
    loadConfig({ configPath: path, env: {}, flags: {}, cwd: dirname(path) });
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(`${path} is not a valid goosed configuration: ${oneLine(err, path)}`, CONFIGURE);
    throw err;
  }
  return (parseYaml(readFileSync(path, "utf8")) as Record<string, unknown> | null) ?? {};
}

function parseMounted(raw: unknown): boolean | null {
  if (raw === undefined) return null;
  if (raw === "yes" || raw === "no") return raw === "yes";
  throw new UsageError(`--data-dir-mounted takes yes or no, got ${JSON.stringify(raw)}`, CONFIGURE);
}

async function configure(options: Record<string, unknown>): Promise<void> {
  const warn = (line: string) => process.stderr.write(`goosed: warning: ${line}\n`);
  const configDir = String(options.configDir);
  const waitSeconds = Number(options.waitCarrier);
  if (!Number.isFinite(waitSeconds) || waitSeconds < 0) throw new UsageError(`--wait-carrier takes seconds, got ${JSON.stringify(options.waitCarrier)}`, CONFIGURE);
  const mountedFlag = parseMounted(options.dataDirMounted);

  const cmdlinePath = String(options.cmdline);
  const kernelText = readText(cmdlinePath);
  if (kernelText === null) throw new CliError(`cannot read the kernel command line at ${cmdlinePath}`);
  const stickWords = readText(join(configDir, "cmdline.txt")) ?? "";
  const merged = mergeBootWords(parseBootWords(kernelText, "kernel command line"), parseBootWords(stickWords, "cmdline.txt"));
  merged.warnings.forEach(warn);

  const filePath = join(configDir, "goosed.yaml");
  const fileConfig = readStickConfig(filePath);

  const requested = requestedInterface(merged.values, fileConfig);
  const sysNet = String(options.sysNet);
  let iface = requested;
  if (requested === "auto") iface = await pickInterface(sysNet, waitSeconds, warn);
  else if (!existsSync(join(sysNet, requested))) {
    warn(`interface ${requested} is not in ${sysNet} yet (have: ${readLinks(sysNet).map((l) => l.name).sort().join(", ") || "none"}); configuring it anyway`);
  }

  const trustedOut = String(options.trustedOut);
  const keyFiles = existsSync(configDir) ? readdirSync(configDir).filter((f) => f.endsWith(".pub")).sort() : [];
  const dataDir = typeof fileConfig.dataDir === "string" ? fileConfig.dataDir : APPLIANCE_DEFAULTS.dataDir;

  let plan;
  try {
    plan = planAppliance({
      words: merged.values,
      fileConfig,
      filePath,
      iface,
      dataMounted: mountedFlag ?? !inMemory(dataDir),
      trustKeys: keyFiles.map((f) => join(trustedOut, f)),
    });
  } catch (err) {
    if (err instanceof ApplianceConfigError) throw new UsageError(err.message, CONFIGURE);
    throw err;
  }
  plan.warnings.forEach(warn);

  // Checked by the loader goosed serve will use, before anything is replaced.
  const out = String(options.out);
  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.tmp-${process.pid}`;
  writeFileSync(tmp, renderConfigYaml(plan.config));
  try {
    loadConfig({ configPath: tmp, env: {}, flags: {}, cwd: "/" });
  } catch (err) {
    rmSync(tmp, { force: true });
    if (err instanceof ConfigError) throw new UsageError(`the merged configuration is not valid: ${oneLine(err, tmp)}; fix ${filePath} or the goosed.* words`, CONFIGURE);
    throw err;
  }

  if (keyFiles.length > 0) {
    mkdirSync(trustedOut, { recursive: true });
    for (const file of keyFiles) copyFileSync(join(configDir, file), join(trustedOut, basename(file)));
  }
  writeAtomically(String(options.networkOut), renderNetworkFile(plan.network));
  renameSync(tmp, out);
  process.stdout.write(`${plan.summary}\n`);
}

/** Non-loopback interfaces and their IPv4 addresses: `ip -j addr` lists links without addresses too; Node does not. */
function listInterfaces(): ConsoleFacts["interfaces"] {
  try {
    const result = Bun.spawnSync(["ip", "-j", "addr", "show"], { stdout: "pipe", stderr: "ignore" });
    if (result.exitCode === 0) {
      const links = JSON.parse(result.stdout.toString()) as Array<{ ifname: string; link_type?: string; addr_info?: Array<{ family: string; local: string; prefixlen: number }> }>;
      return links
        .filter((l) => l.link_type !== "loopback")
        .map((l) => ({ name: l.ifname, addresses: (l.addr_info ?? []).filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`) }));
    }
  } catch {
    // no iproute2: fall back to what the runtime sees
  }
  return Object.entries(networkInterfaces())
    .map(([name, entries]) => ({ name, entries: entries ?? [] }))
    .filter(({ entries }) => !entries.some((e) => e.internal))
    .map(({ name, entries }) => ({ name, addresses: entries.filter((e) => e.family === "IPv4").map((e) => e.cidr ?? e.address) }));
}

async function askReady(url: string): Promise<ConsoleFacts["ready"]> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    const body = (await response.json()) as { services?: Record<string, { ok: boolean; detail: string }> };
    return body.services ? { services: body.services } : { error: `HTTP ${response.status} without a service list` };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** Machines by state, asked as the admin (the console runs as root beside goosed); null when that is not possible. */
async function askMachines(statusUrl: string, dataDir: string): Promise<Record<string, number> | null> {
  try {
    const token = readFileSync(join(dataDir, ADMIN_TOKEN_FILE), "utf8").trim();
    const response = await fetch(statusUrl, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(2000) });
    if (!response.ok) return null;
    return ((await response.json()) as { machines?: Record<string, number> }).machines ?? null;
  } catch {
    return null;
  }
}

async function consoleLoop(options: Record<string, unknown>, deps: ApplianceDeps): Promise<void> {
  const intervalSeconds = Number(options.interval);
  if (!Number.isFinite(intervalSeconds) || intervalSeconds <= 0) throw new UsageError(`--interval takes seconds, got ${JSON.stringify(options.interval)}`, "appliance console");
  // A broken configuration is goosed serve's to report; the console still shows the network and the appliance defaults.
  const settings = localAppliance(deps.env, { dataDir: APPLIANCE_DEFAULTS.dataDir, httpHost: APPLIANCE_DEFAULTS.http.host, httpPort: APPLIANCE_DEFAULTS.http.port });
  const askHost = settings.httpHost === "0.0.0.0" ? "127.0.0.1" : settings.httpHost;
  const readyUrl = `http://${askHost}:${settings.httpPort}/readyz`;

  for (;;) {
    const facts: ConsoleFacts = {
      version: deps.version,
      interfaces: listInterfaces(),
      httpHost: settings.httpHost,
      httpPort: settings.httpPort,
      dataDir: settings.dataDir,
      inMemory: inMemory(settings.dataDir),
      readyUrl,
      ready: await askReady(readyUrl),
      machines: await askMachines(`http://${askHost}:${settings.httpPort}/v1/status`, settings.dataDir),
    };
    process.stdout.write(`${process.stdout.isTTY ? "\x1b[H\x1b[2J" : ""}${renderConsoleScreen(facts)}`);
    if (options.once) return;
    await Bun.sleep(intervalSeconds * 1000);
  }
}

export function registerAppliance(cli: CAC, deps: ApplianceDeps): void {
  cli
    .command(CONFIGURE, "At boot: merge goosed.* boot words and the GOOSED stick into goosed.yaml and a systemd-networkd file")
    .option("--cmdline <file>", "kernel command line to read goosed.* words from", { default: "/proc/cmdline" })
    .option("--config-dir <dir>", "the GOOSED stick: goosed.yaml, cmdline.txt, *.pub", { default: "/run/goosed/config" })
    .option("--sys-net <dir>", "where network interfaces are listed", { default: "/sys/class/net" })
    .option("--data-dir-mounted <yes|no>", "whether a GOOSED-DATA partition holds the data directory (default: no when it is on tmpfs)")
    .option("--out <file>", "goosed configuration to write", { default: "/etc/goosed/goosed.yaml" })
    .option("--network-out <file>", "systemd-networkd file to write", { default: "/etc/systemd/network/10-goosed.network" })
    .option("--trusted-out <dir>", "where the stick's signify public keys (*.pub) are copied", { default: "/etc/goosed/trusted" })
    .option("--wait-carrier <seconds>", "with goosed.iface=auto, how long to wait for a cable", { default: 20 })
    .action((options: Record<string, unknown>) => configure(options));
  cli
    .command("appliance console", "Show the appliance's addresses, status page, admin token and services, refreshed")
    .option("--interval <seconds>", "refresh period", { default: 5 })
    .option("--once", "print one screen and exit")
    .action((options: Record<string, unknown>) => consoleLoop(options, deps));
}
