// Network namespaces, veth pairs, bridges and tap devices for real-client tests, all removed when the lab is disposed.
import type { Subprocess } from "bun";
import { requireTool } from "./tools.ts";

export interface CommandResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs a command to completion and returns what it printed, whatever its exit code. */
export async function command(argv: string[]): Promise<CommandResult> {
  const proc = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { stdout, stderr, code };
}

/** Runs a command that must succeed; a failure throws with the command line and its stderr. */
export async function must(argv: string[]): Promise<string> {
  const result = await command(argv);
  if (result.code !== 0) throw new Error(`${argv.join(" ")} exited ${result.code}: ${result.stderr.trim()}`);
  return result.stdout;
}

/**
 * `argv` run inside namespace `ns`, killed if this test process dies first (a crashed runner must not leave QEMU or a
 * server behind). setpriv and ip netns exec both exec in place, so the child's pid is the command's own.
 */
export function inNamespace(ns: string, argv: string[]): string[] {
  return ["setpriv", "--pdeathsig", "KILL", "ip", "netns", "exec", ns, ...argv];
}

export type Spawned = Subprocess<"ignore" | "pipe", "pipe", "pipe">;

export interface SpawnOptions {
  env?: Record<string, string>;
  stdin?: "ignore" | "pipe";
  cwd?: string;
}

/** One namespace of a lab. */
export class Netns {
  constructor(
    readonly name: string,
    private readonly lab: NetLab,
  ) {}

  /** `argv` run inside this namespace; throws unless it exits 0. */
  exec(argv: string[]): Promise<string> {
    return must(["ip", "netns", "exec", this.name, ...argv]);
  }

  /** A long-running process inside this namespace, stopped by its pid when the lab is disposed if still running. */
  spawn(argv: string[], options: SpawnOptions = {}): Spawned {
    return this.lab.spawn(inNamespace(this.name, argv), options);
  }

  /** `ip -n <ns> ...` */
  ip(...args: string[]): Promise<string> {
    return must(["ip", "-n", this.name, ...args]);
  }
}

export interface VethEnd {
  /** null: the host's own namespace. */
  ns: Netns | null;
  name: string;
  /** CIDR, e.g. 10.73.0.1/24. */
  address?: string;
  /** A bridge in the same namespace to enslave this end to. */
  master?: string;
}

// Linux interface names hold at most 15 bytes (IFNAMSIZ 16 with the NUL).
const IFNAMSIZ = 15;
const PREFIX = "gnb";
// gnb-<role>-<pid>-<lab>: the pid says whether the run that made a namespace is still alive.
const NAMESPACE = /^gnb-[a-z]+-(\d+)-\d+$/;
let labsInProcess = 0;
let swept = false;

/**
 * Removes the namespaces of test runs that died without tearing down (killed runner): their processes died with the
 * runner, and removing the namespace removes every interface in it and the host ends of its veths.
 */
async function sweepStaleNamespaces(): Promise<void> {
  if (swept) return;
  swept = true;
  for (const line of (await must(["ip", "netns", "list"])).split("\n")) {
    const name = line.split(" ")[0] ?? "";
    const pid = NAMESPACE.exec(name)?.[1];
    if (pid && Number(pid) !== process.pid && !(await Bun.file(`/proc/${pid}/stat`).exists())) await command(["ip", "netns", "del", name]);
  }
}

/**
 * A set of namespaces and links named after this process (so parallel runs never collide), torn down on dispose:
 * processes first (a process inside keeps its namespace alive), then the namespaces with every interface in them.
 */
export class NetLab implements AsyncDisposable {
  private readonly index = labsInProcess++;
  /** Short and unique per lab: the pid (fixed width, so no two pid-counter pairs read alike) and a counter, base 36. */
  readonly tag = `${process.pid.toString(36).padStart(5, "0")}${this.index.toString(36)}`;
  private readonly namespaces: Netns[] = [];
  private readonly hostLinks: string[] = [];
  private readonly processes = new Set<Spawned>();
  private disposed = false;

  constructor() {
    requireTool("ip", "iproute2");
    requireTool("ethtool");
    requireTool("setpriv", "util-linux");
  }

  /** An interface name unique to this lab: `<role><tag>`, at most 15 bytes. */
  ifname(role: string): string {
    const name = `${role}${this.tag}`;
    if (name.length > IFNAMSIZ) throw new Error(`interface name ${name} is longer than ${IFNAMSIZ} bytes`);
    return name;
  }

  /** A fresh namespace with its loopback up. */
  async namespace(role: string): Promise<Netns> {
    if (!/^[a-z]+$/.test(role)) throw new Error(`namespace role ${role} must be lowercase letters`);
    await sweepStaleNamespaces();
    const ns = new Netns(`${PREFIX}-${role}-${process.pid}-${this.index}`, this);
    await must(["ip", "netns", "add", ns.name]);
    this.namespaces.push(ns);
    await ns.ip("link", "set", "lo", "up");
    return ns;
  }

  /** A bridge that forwards at once (no STP listening and learning delay). */
  async bridge(ns: Netns, name: string): Promise<void> {
    await ns.ip("link", "add", name, "type", "bridge", "stp_state", "0", "forward_delay", "0");
    await ns.ip("link", "set", name, "up");
  }

  /**
   * A veth pair between two namespaces. TX checksum offload is off on both ends: a veth hands packets over with the
   * checksum unfilled, and DHCP clients reading raw sockets (udhcpc, firmware through a tap) drop them as corrupt.
   */
  async veth(a: VethEnd, b: VethEnd): Promise<void> {
    await must(["ip", "link", "add", a.name, "type", "veth", "peer", "name", b.name]);
    this.hostLinks.push(a.name, b.name);
    for (const end of [a, b]) {
      if (end.ns) await must(["ip", "link", "set", end.name, "netns", end.ns.name]);
      const ip = (...args: string[]) => (end.ns ? end.ns.ip(...args) : must(["ip", ...args]));
      if (end.master) await ip("link", "set", end.name, "master", end.master);
      if (end.address) await ip("addr", "add", end.address, "dev", end.name);
      await ip("link", "set", end.name, "up");
      const ethtool = ["ethtool", "-K", end.name, "tx", "off"];
      await (end.ns ? end.ns.exec(ethtool) : must(ethtool));
    }
  }

  /** A tap device for QEMU (`-netdev tap,ifname=<name>`), enslaved to a bridge. */
  async tap(ns: Netns, name: string, master: string): Promise<void> {
    await ns.ip("tuntap", "add", "dev", name, "mode", "tap");
    await ns.ip("link", "set", name, "master", master);
    await ns.ip("link", "set", name, "up");
  }

  /** A free /30 in 10.73.255.0/24 on the host, for a link from the test process into one namespace. */
  async hostSubnet(): Promise<{ host: string; peer: string; prefix: number }> {
    const used = await must(["ip", "-4", "-o", "addr", "show"]);
    for (let block = 0; block < 64; block++) {
      const host = `10.73.255.${block * 4 + 1}`;
      const peer = `10.73.255.${block * 4 + 2}`;
      if (!used.includes(` ${host}/`) && !used.includes(` ${peer}/`)) return { host, peer, prefix: 30 };
    }
    throw new Error("no free /30 left in 10.73.255.0/24 on this host");
  }

  spawn(argv: string[], options: SpawnOptions = {}): Spawned {
    if (this.disposed) throw new Error("this lab is already torn down");
    const proc = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe", stdin: options.stdin ?? "ignore", env: options.env, cwd: options.cwd });
    this.processes.add(proc);
    void proc.exited.then(() => this.processes.delete(proc));
    return proc;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.disposed = true;
    const failures: string[] = [];
    for (const proc of [...this.processes]) {
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
      await proc.exited;
      clearTimeout(timer);
    }
    for (const ns of this.namespaces.reverse()) {
      const result = await command(["ip", "netns", "del", ns.name]);
      if (result.code !== 0) failures.push(`ip netns del ${ns.name}: ${result.stderr.trim()}`);
    }
    // A veth end left in the host namespace dies with its peer; one whose move failed is removed here.
    const links = await must(["ip", "-o", "link", "show"]);
    for (const name of this.hostLinks) {
      if (!links.includes(` ${name}:`) && !links.includes(` ${name}@`)) continue;
      const result = await command(["ip", "link", "del", name]);
      if (result.code !== 0 && !result.stderr.includes("Cannot find device")) failures.push(`ip link del ${name}: ${result.stderr.trim()}`);
    }
    if (failures.length > 0) throw new Error(`could not tear the lab down:\n${failures.join("\n")}`);
  }
}
