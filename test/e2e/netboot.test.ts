// Real firmware against goosed: QEMU (SeaBIOS + iPXE ROM, OVMF + iPXE EFI ROM, OVMF's own PXE client) boots Debian's
// kernel and a test initramfs through goosed's DHCP (full and proxy), TFTP and HTTP, or through dnsmasq; the real
// Linux agent enrolls and posts facts, and goosed's API shows the run succeeded. Each test prints its boot timings.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { api, type RunningGoosed, runGoosed, startGoosed, type TempDir, tempDir } from "../support/goosed.ts";
import { json } from "../support/http.ts";
import { NetLab, type Netns, type Spawned } from "../support/netns.ts";
import { dataOf, SseReader } from "../support/sse.ts";
import { requireTool } from "../support/tools.ts";
import { CONSOLE_MARK, type Firmware, LineLog, NETBOOT_PROFILE, startVm, type TestImage, testImage, type Vm, writeBundleSource } from "../support/vm.ts";

// The provisioning LAN, inside the test's namespaces only.
const GOOSED_IP = "10.73.0.1";
const LAB_DHCP_IP = "10.73.0.2";
const PREFIX = 24;
const RANGE = { first: "10.73.0.100", last: "10.73.0.199" };
const RESERVED_IP = "10.73.0.50";
// goosed has its namespace to itself, so a fixed port is free and the URL machines use is known before it starts.
const HTTP_PORT = 8080;
const PUBLIC_URL = `http://${GOOSED_IP}:${HTTP_PORT}`;
const MAC = "52:54:00:73:00:10";
const HOSTNAME = "netboot-vm";

// TCG boots take 30–45 s here (13 s of it stock iPXE waiting for IPv6 autoconfiguration); the bound is for a wedged VM.
const VM_TIMEOUT_MS = 240_000;
const TEST_TIMEOUT_MS = 300_000;

const PROFILE = NETBOOT_PROFILE;

let dir: TempDir;
let image: TestImage;

beforeAll(async () => {
  requireTool("dnsmasq", "dnsmasq-base");
  dir = tempDir("goosed-netboot-");
  image = await testImage(dir.path);
});

afterAll(async () => {
  await dir?.[Symbol.asyncDispose]();
});

/**
 * The test network: goosed alone in one namespace (its LAN veth at 10.73.0.1, and a /30 link from this process for
 * the API), the VM's tap on a bridge in a second, and a third for the lab's own DHCP server (dnsmasq at 10.73.0.2).
 */
class Testbed implements AsyncDisposable {
  readonly stack = new AsyncDisposableStack();
  lab!: NetLab;
  gd!: Netns;
  lan!: Netns;
  labNet!: Netns;
  goosed!: RunningGoosed;
  /** goosed's lease and run events from the moment it was ready. */
  events!: SseReader;
  workDir!: string;
  /** goosed's LAN interface and the lab DHCP server's, by name in their namespaces. */
  goosedIf!: string;
  labIf!: string;
  tap!: string;

  /**
   * `goosedArgs` gets the bed so flags can name its interfaces. `from`: where the profile, kernel and initramfs come
   * from: files under <data>/artifacts and the profile API, or a signed bundle built, trusted and imported by the CLI.
   */
  static async start(name: string, goosedArgs: (bed: Testbed) => string[] = () => [], from: "files" | "bundle" = "files"): Promise<Testbed> {
    const bed = new Testbed();
    try {
      await bed.build(name, goosedArgs, from);
      return bed;
    } catch (error) {
      await bed.stack.disposeAsync();
      throw error;
    }
  }

  private async build(name: string, goosedArgs: (bed: Testbed) => string[], from: "files" | "bundle"): Promise<void> {
    const lab = (this.lab = this.stack.use(new NetLab()));
    this.gd = await lab.namespace("gd");
    this.lan = await lab.namespace("lan");
    this.labNet = await lab.namespace("lab");
    const bridge = lab.ifname("br");
    await lab.bridge(this.lan, bridge);
    const link = await lab.hostSubnet();
    await lab.veth({ ns: null, name: lab.ifname("ha"), address: `${link.host}/${link.prefix}` }, { ns: this.gd, name: lab.ifname("ga"), address: `${link.peer}/${link.prefix}` });
    this.goosedIf = lab.ifname("gl");
    await lab.veth({ ns: this.gd, name: this.goosedIf, address: `${GOOSED_IP}/${PREFIX}` }, { ns: this.lan, name: lab.ifname("gb"), master: bridge });
    this.labIf = lab.ifname("dl");
    await lab.veth({ ns: this.labNet, name: this.labIf, address: `${LAB_DHCP_IP}/${PREFIX}` }, { ns: this.lan, name: lab.ifname("db"), master: bridge });
    this.tap = lab.ifname("tp");
    await lab.tap(this.lan, this.tap, bridge);

    this.workDir = join(dir.path, name);
    const dataDir = join(this.workDir, "data");
    if (from === "files") {
      mkdirSync(join(dataDir, "artifacts/netboot"), { recursive: true });
      copyFileSync(image.kernel, join(dataDir, "artifacts/netboot/vmlinuz"));
      copyFileSync(image.initramfs, join(dataDir, "artifacts/netboot/initramfs.gz"));
    }
    this.goosed = this.stack.use(
      await startGoosed({
        dataDir,
        netns: this.gd.name,
        httpHost: "0.0.0.0",
        httpPort: HTTP_PORT,
        reachAt: link.peer,
        args: ["--boot-public-url", PUBLIC_URL, ...goosedArgs(this)],
      }),
    );
    this.events = this.stack.use(await SseReader.open(`${this.goosed.url}/v1/events?types=lease,run`, { authorization: `Bearer ${this.goosed.token}` }));
    if (from === "files") await json(api(this.goosed, "/v1/profiles", { body: PROFILE }), 201);
    else await this.importBundle();
    await json(api(this.goosed, "/v1/machines", { body: { hostname: HOSTNAME, profile: PROFILE.name, interfaces: [{ mac: MAC, ip: RESERVED_IP }] } }), 201);
    await json(api(this.goosed, `/v1/machines/${HOSTNAME}/provision`, { body: {} }), 201);
  }

  /** The kernel, initramfs and profile as an offline bundle would bring them: built, signed, trusted, imported. */
  private async importBundle(): Promise<void> {
    const src = join(this.workDir, "bundle-src");
    writeBundleSource(image, src);
    const key = join(this.workDir, "signer");
    const out = join(this.workDir, "netboot.tar.zst");
    const api = ["--api", this.goosed.url, "--token", this.goosed.token];
    for (const args of [
      ["keys", "generate", key],
      ["bundle", "build", src, "--key", `${key}.sec`, "--bundle-version", "1.0", "--out", out],
      ["keys", "trust", `${key}.pub`, ...api],
      ["bundle", "import", out, ...api],
    ]) {
      const done = await runGoosed(args);
      if (done.code !== 0) throw new Error(`goosed ${args.slice(0, 2).join(" ")} failed: ${done.stderr}`);
    }
  }

  /** dnsmasq in the lab namespace with `config`, resolved once it has bound its DHCP socket. */
  async dnsmasq(config: string): Promise<LineLog> {
    const file = join(this.workDir, "dnsmasq.conf");
    writeFileSync(file, config.endsWith("\n") ? config : `${config}\n`);
    const proc: Spawned = this.labNet.spawn([
      requireTool("dnsmasq", "dnsmasq-base"),
      "--keep-in-foreground",
      `--conf-file=${file}`,
      "--log-facility=-",
      "--log-dhcp",
      `--dhcp-leasefile=${join(this.workDir, "dnsmasq.leases")}`,
      "--pid-file=",
      // The lease file sits in a root-only temporary directory.
      "--user=root",
    ]);
    const log = new LineLog(proc.stderr);
    await log.waitFor(/DHCP, sockets bound exclusively|DHCP, IP range|proxy on subnet/);
    return log;
  }

  vm(firmware: Firmware): Vm {
    const vm = startVm({ ns: this.lan, tap: this.tap, mac: MAC, firmware, workDir: this.workDir, timeoutMs: VM_TIMEOUT_MS });
    this.stack.use(vm);
    return vm;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stack.disposeAsync();
  }
}

interface Outcome {
  run: { state: string; transitions: Array<{ to: string; at: string; source: string | null }> };
  machine: { state: string };
  facts: { boot_mode: string; interfaces: Array<{ mac: string; addresses: string[] }> };
}

/** Waits for the VM to power off, then reads the end state from goosed's API; a VM that did not finish fails with its console. */
async function outcome(bed: Testbed, vm: Vm, dhcpLog?: LineLog): Promise<Outcome> {
  const exit = await vm.exited;
  if (!vm.console.find(CONSOLE_MARK.done)) {
    const goosedTail = bed.goosed.logs
      .slice(-40)
      .map((entry) => JSON.stringify(entry))
      .join("\n");
    throw new Error(
      `the VM ${exit.timedOut ? `was killed after ${VM_TIMEOUT_MS} ms` : `exited ${exit.code}`} without "${CONSOLE_MARK.done}"\n` +
        `console:\n${vm.console.tail()}\n\ngoosed log:\n${goosedTail}` +
        (dhcpLog ? `\n\ndnsmasq log:\n${dhcpLog.tail(40)}` : ""),
    );
  }
  const { items } = await json(api(bed.goosed, `/v1/runs?machine=${HOSTNAME}`), 200);
  const run = await json(api(bed.goosed, `/v1/runs/${items[0].id}`), 200);
  const machine = await json(api(bed.goosed, `/v1/machines/${HOSTNAME}`), 200);
  const { facts } = await json(api(bed.goosed, `/v1/machines/${HOSTNAME}/facts`), 200);
  return { run, machine, facts };
}

/** The end state every boot must reach: run succeeded through the boot script, machine provisioned, facts from this VM. */
function expectSucceeded(result: Outcome, bootMode: "bios" | "uefi") {
  expect({
    run: result.run.state,
    transitions: result.run.transitions.map((t) => t.to),
    machine: result.machine.state,
    bootMode: result.facts.boot_mode,
    macs: result.facts.interfaces.map((i) => i.mac),
  }).toEqual({
    run: "succeeded",
    transitions: ["pending", "booting", "succeeded"],
    machine: "provisioned",
    bootMode,
    macs: [MAC],
  });
}

/** The address the firmware's DHCP exchange gave the VM, and the boot file it was told to load, as its console shows them. */
function firmwareLease(vm: Vm): { address: string | undefined; filename: string | undefined } {
  return {
    address: /^net0: (\d+\.\d+\.\d+\.\d+)\//.exec(vm.console.find(/^net0: \d+\.\d+\.\d+\.\d+\//)?.text ?? "")?.[1],
    filename: /^Filename: (\S+)/.exec(vm.console.find(/^Filename: /)?.text ?? "")?.[1],
  };
}

/** goosed's first lease.granted event for the VM: the address and when it was granted. */
function leaseGranted(bed: Testbed): { ip: string; atMs: number } | undefined {
  const frame = bed.events.frames.find((f) => f.event === "lease.granted" && dataOf(f).data?.mac === MAC);
  return frame ? { ip: dataOf(frame).data.ip, atMs: Date.parse(dataOf(frame).at) } : undefined;
}

/** When the DHCP server acknowledged the VM's first request: dnsmasq's log line, else goosed's lease event. */
function firstAckMs(bed: Testbed, dhcpLog?: LineLog): number | undefined {
  if (dhcpLog) return dhcpLog.find(new RegExp(`DHCPACK\\(\\S+\\) \\S+ ${MAC}`))?.atMs;
  return leaseGranted(bed)?.atMs;
}

/**
 * One line for the note, in seconds from QEMU's start: the DHCP server's first ack, the loader fetched over TFTP
 * (OVMF's own PXE only), iPXE configured (stock iPXE waits ~13 s for IPv6 first), the boot script served, the kernel
 * fetched, the kernel running, Linux's own lease, and the facts that ended the run.
 */
function printTimings(name: string, bed: Testbed, vm: Vm, result: Outcome, dhcpLog?: LineLog) {
  const at = (ms: number | undefined) => (ms === undefined ? "-" : `${((ms - vm.startedAtMs) / 1000).toFixed(1)}s`);
  const transition = (to: string) => {
    const found = result.run.transitions.find((t) => t.to === to);
    return found ? Date.parse(found.at) : undefined;
  };
  const marks = {
    "dhcp ack": firstAckMs(bed, dhcpLog),
    loader: vm.console.find("NBP file downloaded successfully")?.atMs,
    "ipxe configured": vm.console.find(/^Configuring \(net0 .*ok$/)?.atMs,
    "boot script": transition("booting"),
    kernel: vm.console.find(/\/artifacts\/netboot\/vmlinuz\.\.\. ok/)?.atMs,
    "kernel up": vm.console.find(/Linux version|EFI stub:/)?.atMs,
    "linux lease": vm.console.find(CONSOLE_MARK.lease)?.atMs,
    facts: transition("succeeded"),
  };
  console.log(`netboot timings ${name}: ${Object.entries(marks).map(([label, ms]) => `${label} ${at(ms)}`).join(", ")} (from VM start)`);
}

const fullMode = (bed: Testbed) => ["--dhcp-mode", "full", "--dhcp-interface", bed.goosedIf, "--dhcp-range", `${RANGE.first}-${RANGE.last}`];
const bootScriptUrl = (arch: string) => `${PUBLIC_URL}/boot/boot.ipxe?mac=${MAC}&arch=${arch}`;

describe("real firmware boots through goosed's DHCP, TFTP and HTTP", () => {
  test(
    "SeaBIOS with the NIC's iPXE ROM: DHCP from goosed, the HTTP boot script, kernel and initramfs over HTTP, facts: succeeded",
    async () => {
      await using bed = await Testbed.start("bios-ipxe", fullMode);
      const vm = bed.vm("bios-ipxe");
      const result = await outcome(bed, vm);
      printTimings("bios-ipxe, goosed full DHCP", bed, vm, result);
      expectSucceeded(result, "bios");
      expect(leaseGranted(bed)?.ip).toBe(RESERVED_IP);
      expect(firmwareLease(vm)).toEqual({ address: RESERVED_IP, filename: bootScriptUrl("i386") });
      expect(result.run.transitions[1]!.source).toBe(RESERVED_IP);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "SeaBIOS boots a profile that came in a signed bundle: kernel and initramfs are the bundle's artifacts, facts: succeeded",
    async () => {
      await using bed = await Testbed.start("bios-bundle", fullMode, "bundle");
      const vm = bed.vm("bios-ipxe");
      const result = await outcome(bed, vm);
      printTimings("bios-ipxe, profile from a bundle", bed, vm, result);
      expectSucceeded(result, "bios");
      const kernel = await json(api(bed.goosed, "/v1/artifacts/netboot/vmlinuz"), 200);
      expect(kernel.source).toBe("bundle:bundle-src@1.0");
      expect(vm.console.find(`${PUBLIC_URL}/artifacts/netboot/vmlinuz... ok`)).toBeDefined();
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "OVMF with the NIC's iPXE EFI ROM: DHCP from goosed, HTTP boot script, kernel, facts: succeeded",
    async () => {
      await using bed = await Testbed.start("uefi-ipxe", fullMode);
      const vm = bed.vm("uefi-ipxe");
      const result = await outcome(bed, vm);
      printTimings("uefi-ipxe, goosed full DHCP", bed, vm, result);
      expectSucceeded(result, "uefi");
      expect(leaseGranted(bed)?.ip).toBe(RESERVED_IP);
      expect(firmwareLease(vm)).toEqual({ address: RESERVED_IP, filename: bootScriptUrl("x86_64") });
      expect(result.run.transitions[1]!.source).toBe(RESERVED_IP);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "OVMF's own PXE client: snponly.efi over goosed's TFTP, then iPXE chains to the HTTP boot script: succeeded",
    async () => {
      await using bed = await Testbed.start("uefi-pxe", (b) => [...fullMode(b), "--dhcp-uefi-loader", "snponly.efi"]);
      const vm = bed.vm("uefi-pxe");
      const result = await outcome(bed, vm);
      printTimings("uefi-pxe, goosed full DHCP + TFTP snponly.efi", bed, vm, result);
      expectSucceeded(result, "uefi");
      expect(leaseGranted(bed)?.ip).toBe(RESERVED_IP);
      // OVMF's PXE client reports the loader it fetched; iPXE inside it then asks DHCP again, as iPXE.
      expect(vm.console.find("NBP filename is")?.text.trim()).toBe("NBP filename is snponly.efi");
      expect(vm.console.find("NBP file downloaded successfully")).toBeDefined();
      expect(bed.goosed.logs.some((e) => e.message === "tftp transfer completed" && String(e.path).endsWith("snponly.efi"))).toBe(true);
      expect(firmwareLease(vm)).toEqual({ address: RESERVED_IP, filename: bootScriptUrl("x86_64") });
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "ProxyDHCP: the lab's dnsmasq hands out addresses only, goosed in proxy mode adds the boot file: succeeded",
    async () => {
      await using bed = await Testbed.start("proxy", (b) => ["--dhcp-mode", "proxy", "--dhcp-interface", b.goosedIf]);
      // The lab's plain DHCP server: addresses, no PXE options, no DNS.
      const lease = await bed.dnsmasq(
        [`interface=${bed.labIf}`, "bind-interfaces", "port=0", `dhcp-range=${RANGE.first},${RANGE.last},255.255.255.0,1h`, "dhcp-authoritative"].join("\n"),
      );
      const vm = bed.vm("bios-ipxe");
      const result = await outcome(bed, vm, lease);
      printTimings("bios-ipxe, dnsmasq addresses + goosed ProxyDHCP", bed, vm, result, lease);
      expectSucceeded(result, "bios");
      const firmware = firmwareLease(vm);
      expect(firmware.filename).toBe(bootScriptUrl("i386"));
      // The address came from the lab's server, and it never sent a boot file.
      expect(lease.find(new RegExp(`DHCPACK\\(${bed.labIf}\\) ${firmware.address!.replaceAll(".", "\\.")} ${MAC}`))).toBeDefined();
      expect(lease.find(/sent size: +\d+ option: 67 bootfile-name/)).toBeUndefined();
    },
    TEST_TIMEOUT_MS,
  );
});

describe("dnsmasq in front of goosed", () => {
  test(
    "goosed dhcp export-dnsmasq: its configuration starts dnsmasq, the VM boots through it to goosed: succeeded",
    async () => {
      await using bed = await Testbed.start("export-dnsmasq", () => ["--dhcp-mode", "off", "--tftp-mode", "on"]);
      const exported = await runGoosed(
        // --server: goosed's address on the LAN (its TFTP server), not the address this process reaches its API at.
        ["dhcp", "export-dnsmasq", "--mode", "full", "--interface", bed.labIf, "--range", `${RANGE.first}-${RANGE.last}`, "--server", GOOSED_IP],
        { GOOSED_API: bed.goosed.url, GOOSED_TOKEN: bed.goosed.token },
      );
      if (exported.code !== 0) throw new Error(`goosed dhcp export-dnsmasq exited ${exported.code}: ${exported.stderr}`);
      // The reservation of the machine is in it, and iPXE clients are sent to the boot script.
      expect(exported.stdout).toContain(`dhcp-host=${MAC},${RESERVED_IP}`);
      expect(exported.stdout).toContain(`${PUBLIC_URL}/boot/boot.ipxe`);
      const dhcp = await bed.dnsmasq(exported.stdout);
      const vm = bed.vm("bios-ipxe");
      const result = await outcome(bed, vm, dhcp);
      printTimings("bios-ipxe, exported dnsmasq full config", bed, vm, result, dhcp);
      expectSucceeded(result, "bios");
      expect(firmwareLease(vm)).toEqual({ address: RESERVED_IP, filename: bootScriptUrl("i386") });
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "reference: a hand-written dnsmasq serves DHCP and TFTP, goosed serves HTTP only: succeeded",
    async () => {
      // The harness without goosed's DHCP and TFTP: when this passes and a test above fails, look at goosed.
      await using bed = await Testbed.start("reference");
      const tftpRoot = join(bed.workDir, "tftp");
      mkdirSync(tftpRoot);
      for (const loader of ["undionly.kpxe", "ipxe.efi"]) copyFileSync(join("/usr/lib/ipxe", loader), join(tftpRoot, loader));
      const dhcp = await bed.dnsmasq(
        [
          `interface=${bed.labIf}`,
          "bind-interfaces",
          "port=0",
          `dhcp-range=${RANGE.first},${RANGE.last},255.255.255.0,1h`,
          `dhcp-host=${MAC},${RESERVED_IP}`,
          "dhcp-authoritative",
          "dhcp-userclass=set:ipxe,iPXE",
          "dhcp-match=set:efi64,option:client-arch,7",
          `dhcp-boot=tag:ipxe,${PUBLIC_URL}/boot/boot.ipxe?mac=\${mac}&arch=\${buildarch}`,
          "dhcp-boot=tag:!ipxe,tag:efi64,ipxe.efi",
          "dhcp-boot=tag:!ipxe,tag:!efi64,undionly.kpxe",
          "enable-tftp",
          `tftp-root=${tftpRoot}`,
        ].join("\n"),
      );
      const vm = bed.vm("bios-ipxe");
      const result = await outcome(bed, vm, dhcp);
      printTimings("bios-ipxe, reference dnsmasq", bed, vm, result, dhcp);
      expectSucceeded(result, "bios");
      expect(firmwareLease(vm)).toEqual({ address: RESERVED_IP, filename: bootScriptUrl("i386") });
    },
    TEST_TIMEOUT_MS,
  );
});
