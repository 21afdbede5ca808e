// The netboot test VM: Debian's kernel, an initramfs built here (busybox-static, curl, the real Linux agent, the NIC
// modules) and QEMU under TCG, run inside a namespace, bounded in time, its serial console captured line by line.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Netns, Spawned } from "./netns.ts";
import { REPO_ROOT } from "./goosed.ts";
import { requireTool } from "./tools.ts";

/** What /init prints on the serial console; the tests wait for these. */
export const CONSOLE_MARK = {
  init: "goosed-test: init",
  lease: "goosed-test: lease",
  done: "goosed-test: facts posted",
  failed: "goosed-test: FAILED",
} as const;

/** The kernel command line words /init reads. */
export const CMDLINE_KEYS = { url: "goosed.url", token: "goosed.token" } as const;

/** The profile that boots the test image: Debian's kernel, the test initramfs, and no install template. */
export const NETBOOT_PROFILE = {
  name: "netboot",
  osFamily: "custom",
  kernel: "netboot/vmlinuz",
  initrd: ["netboot/initramfs.gz"],
  installTemplate: "none",
  // panic=-1: a kernel that cannot start /init reboots at once, and -no-reboot turns that into QEMU exiting.
  cmdline: `console=ttyS0 panic=-1 ${CMDLINE_KEYS.url}={{ appliance_url }} ${CMDLINE_KEYS.token}={{ token }}`,
};

/** A bundle source directory holding the test image and its profile, for `goosed bundle build`. */
export function writeBundleSource(image: TestImage, src: string): void {
  mkdirSync(join(src, "netboot"), { recursive: true });
  mkdirSync(join(src, "profiles"), { recursive: true });
  copyFileSync(image.kernel, join(src, "netboot/vmlinuz"));
  copyFileSync(image.initramfs, join(src, "netboot/initramfs.gz"));
  writeFileSync(join(src, "profiles/netboot.yaml"), JSON.stringify(NETBOOT_PROFILE));
}

// The NIC drivers a QEMU guest may get; Debian builds them as modules (CONFIG_VIRTIO_NET=m, CONFIG_E1000=m).
const NIC_MODULES = ["virtio_pci", "virtio_net", "e1000"];
const LOADER = "/lib64/ld-linux-x86-64.so.2";
const OVMF_DIR = "/usr/share/OVMF";

export interface TestImage {
  kernel: string;
  kernelVersion: string;
  initramfs: string;
}

const images = new Map<string, Promise<TestImage>>();

/** Builds the kernel + initramfs pair once per cache directory (a test file's temp dir). */
export function testImage(cacheDir: string): Promise<TestImage> {
  let image = images.get(cacheDir);
  if (!image) {
    image = buildTestImage(cacheDir);
    images.set(cacheDir, image);
  }
  return image;
}

/** Debian's newest /boot/vmlinuz-* whose modules are installed. */
function debianKernel(): { kernel: string; version: string } {
  const versions = readdirSync("/boot")
    .filter((name) => name.startsWith("vmlinuz-"))
    .map((name) => name.slice("vmlinuz-".length))
    .filter((version) => existsSync(join("/lib/modules", version, "modules.dep")))
    .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  const version = versions.at(-1);
  if (!version) throw new Error("no /boot/vmlinuz-* with its /lib/modules; install it with: apt-get install linux-image-amd64 (.ci/run does)");
  return { kernel: join("/boot", `vmlinuz-${version}`), version };
}

/** The modules to insmod, dependencies first, as paths relative to /lib/modules/<version>. */
function moduleLoadOrder(version: string, names: string[]): string[] {
  const deps = new Map<string, string[]>();
  const byName = new Map<string, string>();
  for (const line of readFileSync(join("/lib/modules", version, "modules.dep"), "utf8").split("\n")) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const path = line.slice(0, colon);
    deps.set(path, line.slice(colon + 1).trim().split(/\s+/).filter(Boolean));
    byName.set(path.slice(path.lastIndexOf("/") + 1).replace(/\.ko(\.\w+)?$/, "").replaceAll("-", "_"), path);
  }
  const order: string[] = [];
  const visit = (path: string) => {
    if (order.includes(path)) return;
    for (const dep of deps.get(path) ?? []) visit(dep);
    order.push(path);
  };
  for (const name of names) {
    const path = byName.get(name);
    if (!path) throw new Error(`module ${name} is not in /lib/modules/${version}/modules.dep`);
    visit(path);
  }
  // busybox insmod reads plain ELF objects only; Debian 12 ships them uncompressed.
  const compressed = order.filter((path) => !path.endsWith(".ko"));
  if (compressed.length > 0) throw new Error(`compressed kernel modules are not supported by the test initramfs: ${compressed.join(", ")}`);
  return order;
}

/** Every shared object `ldd` says the binary loads, by the path it loads it from. */
async function sharedLibraries(binary: string): Promise<string[]> {
  const proc = Bun.spawn(["ldd", binary], { stdout: "pipe", stderr: "pipe" });
  const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  if (code !== 0) throw new Error(`ldd ${binary} exited ${code}`);
  const paths = [...out.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)].map((m) => m[1]!);
  if (!paths.includes(LOADER)) throw new Error(`ldd ${binary} names no ${LOADER}:\n${out}`);
  return paths;
}

type Entry = { path: string; mode: number } & ({ kind: "dir" } | { kind: "file"; data: Uint8Array } | { kind: "symlink"; target: string });

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

/** An uncompressed cpio archive in the "newc" format the kernel unpacks (Documentation/driver-api/early-userspace/buffer-format.rst). */
function cpioNewc(entries: Entry[]): Uint8Array<ArrayBuffer> {
  const chunks: Uint8Array[] = [];
  const encoder = new TextEncoder();
  let size = 0;
  const push = (bytes: Uint8Array) => {
    chunks.push(bytes);
    size += bytes.length;
    const pad = (4 - (size % 4)) % 4;
    if (pad) {
      chunks.push(new Uint8Array(pad));
      size += pad;
    }
  };
  const hex = (n: number) => n.toString(16).padStart(8, "0");
  const record = (ino: number, name: string, mode: number, data: Uint8Array) => {
    const nameBytes = encoder.encode(`${name}\0`);
    // magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check
    const fields = [ino, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, nameBytes.length, 0];
    const header = encoder.encode(`070701${fields.map(hex).join("")}`);
    const head = new Uint8Array(header.length + nameBytes.length);
    head.set(header);
    head.set(nameBytes, header.length);
    push(head);
    if (data.length) push(data);
  };
  entries.forEach((entry, i) => {
    const name = entry.path.replace(/^\//, "");
    if (entry.kind === "dir") record(i + 1, name, S_IFDIR | entry.mode, new Uint8Array());
    else if (entry.kind === "file") record(i + 1, name, S_IFREG | entry.mode, entry.data);
    else record(i + 1, name, S_IFLNK | 0o777, encoder.encode(entry.target));
  });
  record(0, "TRAILER!!!", 0, new Uint8Array());
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

const INIT = `#!/bin/sh
# /init of the goosed netboot test initramfs: NIC modules, DHCP, the real agent enrolls and reports, power off.
export PATH=/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mark() { echo "$*"; }
fail() {
  mark "${CONSOLE_MARK.failed}: $*"
  poweroff -f
}
mark "${CONSOLE_MARK.init} $(uname -r)"
while read -r module; do
  insmod "/lib/modules/$(uname -r)/$module" || fail "insmod $module"
done < /etc/test-modules
hostname netboot-vm
ip link set lo up
url=
token=
for word in $(cat /proc/cmdline); do
  case $word in
    ${CMDLINE_KEYS.url}=*) url=\${word#${CMDLINE_KEYS.url}=} ;;
    ${CMDLINE_KEYS.token}=*) token=\${word#${CMDLINE_KEYS.token}=} ;;
  esac
done
[ -n "$url" ] && [ -n "$token" ] || fail "no ${CMDLINE_KEYS.url}= or ${CMDLINE_KEYS.token}= on the kernel command line"
# A PCI driver probes during insmod, but the netdev may register a moment later.
tries=0
until [ -e /sys/class/net/eth0 ]; do
  tries=$((tries + 1))
  [ $tries -le 50 ] || fail "no eth0 after loading the NIC modules"
  sleep 0.1
done
udhcpc -i eth0 -s /etc/udhcpc.script -f -q -n -t 10 -T 2 || fail "no DHCP lease on eth0"
goosed-agent install --url "$url" --token "$token" || fail "goosed-agent install"
/usr/local/sbin/goosed-agent enroll || fail "goosed-agent enroll"
/usr/local/sbin/goosed-agent report --postinstall-done || fail "goosed-agent report"
mark "${CONSOLE_MARK.done}"
poweroff -f
`;

const UDHCPC_SCRIPT = `#!/bin/sh
# busybox udhcpc calls this with deconfig, bound or renew; the lease is in the environment.
case $1 in
  deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
  bound | renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    if [ -n "$router" ]; then ip route add default via "\${router%% *}" dev "$interface"; fi
    echo "${CONSOLE_MARK.lease} $ip/$mask from $serverid"
    ;;
esac
`;

// The agent enables its timer on install; this system has no systemd, so systemctl only says what it was asked.
const SYSTEMCTL = `#!/bin/sh
echo "systemctl (stand-in): $*"
`;

async function buildTestImage(cacheDir: string): Promise<TestImage> {
  const busybox = requireTool("busybox", "busybox-static");
  const curl = requireTool("curl");
  requireTool("ldd", "libc-bin");
  const { kernel, version } = debianKernel();
  const entries: Entry[] = [];
  const dirs = new Set<string>();
  const dir = (path: string) => {
    const parts = path.split("/").filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const sub = `/${parts.slice(0, i).join("/")}`;
      if (!dirs.has(sub)) {
        dirs.add(sub);
        entries.push({ kind: "dir", path: sub, mode: sub === "/tmp" ? 0o1777 : 0o755 });
      }
    }
  };
  const parent = (path: string) => path.slice(0, path.lastIndexOf("/"));
  const file = (path: string, data: Uint8Array | string, mode = 0o644) => {
    dir(parent(path));
    entries.push({ kind: "file", path, mode, data: typeof data === "string" ? new TextEncoder().encode(data) : data });
  };
  for (const path of ["/proc", "/sys", "/dev", "/tmp", "/run", "/root", "/etc", "/usr/local/sbin"]) dir(path);

  file("/bin/busybox", readFileSync(busybox), 0o755);
  const applets = Bun.spawnSync([busybox, "--list-full"]).stdout.toString().split("\n").filter(Boolean);
  for (const applet of applets) {
    const path = `/${applet}`;
    if (path === "/bin/busybox") continue;
    dir(parent(path));
    entries.push({ kind: "symlink", path, mode: 0o777, target: "/bin/busybox" });
  }

  // curl and every library it loads, each at the path the dynamic loader will look for it.
  file("/usr/bin/curl", readFileSync(curl), 0o755);
  for (const library of await sharedLibraries(curl)) file(library, readFileSync(library), 0o755);

  const modules = moduleLoadOrder(version, NIC_MODULES);
  for (const module of modules) file(`/lib/modules/${version}/${module}`, readFileSync(join("/lib/modules", version, module)));
  file("/etc/test-modules", `${modules.join("\n")}\n`);

  file("/init", INIT, 0o755);
  file("/etc/udhcpc.script", UDHCPC_SCRIPT, 0o755);
  file("/usr/bin/systemctl", SYSTEMCTL, 0o755);
  file("/usr/bin/goosed-agent", readFileSync(join(REPO_ROOT, "agents/linux/goosed-agent")), 0o755);
  file("/etc/os-release", 'NAME="goosed netboot test"\nID=goosed-test\nVERSION_ID=1\n');
  file("/etc/machine-id", "6f6f7365642d6e6574626f6f742d766d\n");

  const initramfs = join(cacheDir, "initramfs.gz");
  writeFileSync(initramfs, Bun.gzipSync(cpioNewc(entries), { level: 6 }));
  return { kernel, kernelVersion: version, initramfs };
}

export type Firmware =
  /** SeaBIOS with the NIC's iPXE ROM (`-boot n`). */
  | "bios-ipxe"
  /** OVMF with the NIC's iPXE EFI ROM. */
  | "uefi-ipxe"
  /** OVMF's own PXE client: the NIC has no option ROM, the firmware fetches a loader over TFTP. */
  | "uefi-pxe";

export interface VmOptions {
  ns: Netns;
  tap: string;
  mac: string;
  firmware: Firmware;
  /** Where the VM's scratch files (its OVMF variables) go. */
  workDir: string;
  /** The VM is killed after this long, whatever it is doing. */
  timeoutMs: number;
  memoryMiB?: number;
}

export interface TimedLine {
  /** Date.now() when the line arrived. */
  atMs: number;
  text: string;
}

/** A process's output as lines stamped on arrival, with waits for a line that never sleep. */
export class LineLog {
  readonly lines: TimedLine[] = [];
  /** Resolves once the stream has ended. */
  readonly ended: Promise<void>;
  private waiters: Array<() => void> = [];
  private done = false;

  constructor(
    stream: ReadableStream<Uint8Array>,
    private readonly startedAtMs = Date.now(),
    clean: (raw: string) => string = (raw) => raw.trimEnd(),
  ) {
    this.ended = (async () => {
      const decoder = new TextDecoder();
      let buffer = "";
      const add = (raw: string) => {
        const text = clean(raw);
        if (text) this.lines.push({ atMs: Date.now(), text });
      };
      for await (const chunk of stream) {
        buffer += decoder.decode(chunk, { stream: true });
        let newline: number;
        while ((newline = buffer.indexOf("\n")) >= 0) {
          add(buffer.slice(0, newline));
          buffer = buffer.slice(newline + 1);
        }
        this.wake();
      }
      add(buffer);
      this.done = true;
      this.wake();
    })();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** The first line matching `pattern`, waiting for it; rejects once the stream ends without one. */
  async waitFor(pattern: RegExp | string): Promise<TimedLine> {
    for (;;) {
      const found = this.find(pattern);
      if (found) return found;
      if (this.done) throw new Error(`the output ended without ${pattern}:\n${this.tail()}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** The first line matching so far, or undefined. */
  find(pattern: RegExp | string): TimedLine | undefined {
    return this.lines.find((line) => (typeof pattern === "string" ? line.text.includes(pattern) : pattern.test(line.text)));
  }

  /** The last lines with their seconds since the start, for failure messages. */
  tail(count = 80): string {
    return this.lines
      .slice(-count)
      .map((l) => `  ${((l.atMs - this.startedAtMs) / 1000).toFixed(1).padStart(6)}s ${l.text}`)
      .join("\n");
  }
}

/** Backspaces undone as a terminal would: iPXE rubs out a download's percentage before it writes "ok". */
function applyBackspaces(text: string): string {
  const kept: string[] = [];
  for (const char of text) {
    if (char === "\b") kept.pop();
    else kept.push(char);
  }
  return kept.join("");
}

// Firmware draws its screens with ANSI escapes, carriage returns and backspaces; the tests read the text.
const cleanConsole = (raw: string) =>
  applyBackspaces(
    raw
      .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "")
      .replace(/\x1b[()][A-Za-z0-9]/g, "")
      .replace(/\r/g, ""),
  ).trimEnd();

export interface VmExit {
  code: number | null;
  timedOut: boolean;
}

/** A running QEMU: its serial console as timed lines; dispose kills it. */
export class Vm implements AsyncDisposable {
  readonly startedAtMs = Date.now();
  readonly console: LineLog;
  readonly exited: Promise<VmExit>;

  constructor(
    private readonly proc: Spawned,
    options: { timeoutMs: number },
  ) {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      proc.kill("SIGKILL");
    }, options.timeoutMs);
    const serial = new LineLog(proc.stdout, this.startedAtMs, cleanConsole);
    this.console = serial;
    this.exited = (async () => {
      const code = await proc.exited;
      clearTimeout(timer);
      await serial.ended;
      const stderr = (await new Response(proc.stderr).text()).trim();
      if (stderr) serial.lines.push({ atMs: Date.now(), text: `[qemu stderr] ${stderr}` });
      return { code, timedOut };
    })();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill("SIGKILL");
    await this.exited;
  }
}

/** Starts QEMU (TCG; this machine has no KVM) inside `ns` on `tap`, network boot first, console on stdout. */
export function startVm(options: VmOptions): Vm {
  const qemu = requireTool("qemu-system-x86_64", "qemu-system-x86");
  const nic = ["virtio-net-pci", "netdev=net0", `mac=${options.mac}`, "bootindex=1"];
  const firmware: string[] = [];
  if (options.firmware === "bios-ipxe") {
    firmware.push("-boot", "n");
  } else {
    const code = join(OVMF_DIR, "OVMF_CODE_4M.fd");
    if (!existsSync(code)) throw new Error(`${code} is missing; install it with: apt-get install ovmf (.ci/run does)`);
    // OVMF writes its boot variables: every VM gets its own copy of the template.
    const vars = join(options.workDir, `OVMF_VARS-${options.firmware}.fd`);
    copyFileSync(join(OVMF_DIR, "OVMF_VARS_4M.fd"), vars);
    firmware.push("-drive", `if=pflash,format=raw,unit=0,readonly=on,file=${code}`, "-drive", `if=pflash,format=raw,unit=1,file=${vars}`);
    // An empty romfile leaves the NIC without iPXE, so OVMF's own PXE client (TFTP) runs.
    if (options.firmware === "uefi-pxe") nic.push("romfile=");
  }
  const argv = [
    qemu,
    "-accel",
    "tcg",
    "-m",
    String(options.memoryMiB ?? 768),
    "-smp",
    "1",
    // graphics=off makes SeaBIOS, iPXE and OVMF write to the serial console, which is our stdout.
    "-nographic",
    "-no-reboot",
    "-netdev",
    `tap,id=net0,ifname=${options.tap},script=no,downscript=no`,
    "-device",
    nic.join(","),
    ...firmware,
  ];
  return new Vm(options.ns.spawn(argv), options);
}

export interface ApplianceVmOptions {
  ns: Netns;
  tap: string;
  mac: string;
  iso: string;
  /** A CD drive, or a USB stick the ISO was written to with dd (the image is hybrid). */
  bootFrom: "cd" | "usb";
  /** Raw disk images attached as USB sticks: a GOOSED settings stick, a USB stick with bundles. */
  disks: string[];
  firmware: "bios" | "uefi";
  workDir: string;
  timeoutMs: number;
  memoryMiB?: number;
}

/** Boots the appliance ISO (TCG) from a CD drive or a USB stick, its disks as more sticks, its console on stdout. */
export function startApplianceVm(options: ApplianceVmOptions): Vm {
  const qemu = requireTool("qemu-system-x86_64", "qemu-system-x86");
  const firmware: string[] = [];
  if (options.firmware === "uefi") {
    const code = join(OVMF_DIR, "OVMF_CODE_4M.fd");
    if (!existsSync(code)) throw new Error(`${code} is missing; install it with: apt-get install ovmf (.ci/run does)`);
    const vars = join(options.workDir, "OVMF_VARS-appliance.fd");
    copyFileSync(join(OVMF_DIR, "OVMF_VARS_4M.fd"), vars);
    firmware.push("-drive", `if=pflash,format=raw,unit=0,readonly=on,file=${code}`, "-drive", `if=pflash,format=raw,unit=1,file=${vars}`);
  }
  const sticks = options.disks.flatMap((disk, i) => ["-drive", `if=none,id=stick${i},format=raw,file=${disk}`, "-device", `usb-storage,bus=xhci.0,drive=stick${i}`]);
  const argv = [
    qemu,
    "-accel",
    "tcg",
    // The oldest CPU the appliance's baseline binary supports (SSE4.2, no AVX): a spare lab box may be that old.
    "-cpu",
    "Nehalem",
    "-m",
    String(options.memoryMiB ?? 1536),
    "-smp",
    "2",
    "-nographic",
    "-no-reboot",
    "-device",
    "qemu-xhci,id=xhci",
    ...(options.bootFrom === "cd"
      ? ["-drive", `file=${options.iso},media=cdrom,readonly=on,if=none,id=boot`, "-device", "ide-cd,drive=boot,bootindex=0"]
      : ["-drive", `file=${options.iso},format=raw,readonly=on,if=none,id=boot`, "-device", "usb-storage,bus=xhci.0,drive=boot,bootindex=0"]),
    ...sticks,
    "-netdev",
    `tap,id=net0,ifname=${options.tap},script=no,downscript=no`,
    "-device",
    `virtio-net-pci,netdev=net0,mac=${options.mac},romfile=`,
    ...firmware,
  ];
  return new Vm(options.ns.spawn(argv), options);
}
