// The appliance ISO end to end: iso-builder/build makes it from Debian's packages and dist/goosed; QEMU (TCG) boots it
// from a CD drive with USB sticks attached (GOOSED settings, a GOOSED-DATA disk, and a stick holding a signed bundle)
// and its NIC on a bridge in a namespace. The appliance comes up, its status page answers, the bundle is imported from
// the stick, and a second VM on the bridge PXE-boots from it to a succeeded run. The same ISO, as a USB stick written
// with dd, then boots under OVMF (UEFI) to a serving appliance that warns its state is in memory. Prints ISO size,
// build and boot-to-serving times.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT, runGoosed, tempDir, type TempDir } from "../support/goosed.ts";
import { must, NetLab, type Netns } from "../support/netns.ts";
import { requireTool } from "../support/tools.ts";
import { CONSOLE_MARK, startApplianceVm, startVm, testImage, type Vm, writeBundleSource } from "../support/vm.ts";

const SUBNET = "10.74.0";
const APPLIANCE_URL = `http://${SUBNET}.1`;
const HOST_ADDRESS = `${SUBNET}.254/24`;
const APPLIANCE_MAC = "52:54:00:74:00:01";
const CLIENT_MAC = "52:54:00:74:00:10";
// Debian's packages are downloaded once per machine, not once per run.
const DEB_CACHE = "/var/cache/goosed-iso";
// Bounds for a wedged build or VM; a TCG boot of the appliance takes a minute or two here.
const BUILD_TIMEOUT_MS = 1_200_000;
const APPLIANCE_TIMEOUT_MS = 600_000;
const CLIENT_TIMEOUT_MS = 300_000;

let dir: TempDir;
let iso = "";
let lab: NetLab;
let lan: Netns;
let bridge = "";

/** Runs a command to the end, bounded; throws with its output when it fails. */
async function run(argv: string[], timeoutMs: number, env: Record<string, string> = {}): Promise<string> {
  const proc = Bun.spawn(argv, { cwd: REPO_ROOT, stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${argv.join(" ")} exited ${code}:\n${stdout}\n${stderr}`);
  return stdout + stderr;
}

/** A FAT file system image labelled `label` holding `files` (name → local path or text), made without mounting. */
async function fatImage(path: string, label: string, sizeMiB: number, files: Record<string, string | { from: string }>): Promise<void> {
  await must(["mkfs.vfat", "-C", "-n", label, path, String(sizeMiB * 1024)]);
  const staging = `${path}.files`;
  mkdirSync(staging, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    const local = join(staging, name);
    if (typeof content === "string") writeFileSync(local, content);
    else copyFileSync(content.from, local);
    await must(["mcopy", "-i", path, local, `::/${name}`]);
  }
}

/** Polls `url` until it answers `status`, or the VM ends; the time it first did. */
async function answered(url: string, vm: Vm, status = 200): Promise<number> {
  let ended = false;
  void vm.exited.then(() => (ended = true));
  for (;;) {
    if (ended) throw new Error(`the appliance VM ended before ${url} answered:\n${vm.console.tail()}`);
    try {
      const response = await fetch(url, { redirect: "manual", signal: AbortSignal.timeout(2000) });
      if (response.status === status) return Date.now();
    } catch {
      // not up yet
    }
    await Bun.sleep(1000);
  }
}

beforeAll(async () => {
  for (const tool of ["mkfs.vfat", "mkfs.ext4", "mcopy"]) requireTool(tool, tool === "mcopy" ? "mtools" : tool === "mkfs.vfat" ? "dosfstools" : "e2fsprogs");
  dir = tempDir("goosed-iso-");
  if (process.env.GOOSED_TEST_ISO) {
    // For working on the test itself; .ci/run never sets it, so CI always builds the ISO from this checkout.
    iso = process.env.GOOSED_TEST_ISO;
    console.warn(`appliance ISO: NOT BUILT, using ${iso} from GOOSED_TEST_ISO`);
  } else {
    await run(["bun", "run", "build:appliance"], 300_000);
    const built = await run(["bash", "iso-builder/build", "--out", dir.path, "--cache", DEB_CACHE], BUILD_TIMEOUT_MS);
    const done = /done: (\S+), (\d+) MiB, built in (\d+) s/.exec(built);
    if (!done) throw new Error(`iso-builder printed no result line:\n${built}`);
    iso = done[1]!;
    console.log(`appliance ISO: ${iso}, ${done[2]} MiB, built in ${done[3]} s`);
  }

  lab = new NetLab();
  lan = await lab.namespace("lan");
  bridge = lab.ifname("br");
  await lab.bridge(lan, bridge);
  await lab.veth({ ns: null, name: lab.ifname("ho"), address: HOST_ADDRESS }, { ns: lan, name: lab.ifname("hb"), master: bridge });
}, BUILD_TIMEOUT_MS + 400_000);

afterAll(async () => {
  await lab?.[Symbol.asyncDispose]();
  await dir?.[Symbol.asyncDispose]();
});

describe("the appliance ISO", () => {
  test(
    "BIOS: boots from CD, reads its GOOSED stick, keeps state on GOOSED-DATA, imports the USB bundle, and a VM PXE-boots from it to a succeeded run",
    async () => {
      const work = join(dir.path, "bios");
      mkdirSync(work);
      // The client's kernel, initramfs and profile, as a signed bundle on a USB stick.
      const image = await testImage(work);
      const src = join(work, "bundle-src");
      writeBundleSource(image, src);
      const key = join(work, "lab");
      expect((await runGoosed(["keys", "generate", key])).code).toBe(0);
      const bundle = join(work, "netboot-1.0.tar.zst");
      expect((await runGoosed(["bundle", "build", src, "--name", "netboot", "--key", `${key}.sec`, "--bundle-version", "1.0", "--out", bundle])).code).toBe(0);

      const settings = join(work, "goosed-settings.img");
      await fatImage(settings, "GOOSED", 8, {
        "cmdline.txt": `goosed.dhcp=full goosed.subnet=${SUBNET}.0/24 goosed.autoimport=1\n`,
        // A machine nobody added installs the bundle's profile on its first PXE boot.
        "goosed.yaml": "boot:\n  discoveryPolicy: profile\n  discoveryProfile: netboot\n",
        "lab.pub": { from: `${key}.pub` },
      });
      const stick = join(work, "usb-stick.img");
      await fatImage(stick, "LABSTICK", 96, { "netboot-1.0.tar.zst": { from: bundle } });
      const data = join(work, "goosed-data.img");
      await must(["truncate", "-s", "256M", data]);
      await must(["mkfs.ext4", "-q", "-L", "GOOSED-DATA", data]);

      const applianceTap = lab.ifname("ta");
      await lab.tap(lan, applianceTap, bridge);
      await using appliance = startApplianceVm({ ns: lan, tap: applianceTap, mac: APPLIANCE_MAC, iso, bootFrom: "cd", disks: [settings, data, stick], firmware: "bios", workDir: work, timeoutMs: APPLIANCE_TIMEOUT_MS });
      const serving = await answered(`${APPLIANCE_URL}/readyz`, appliance);
      console.log(`appliance (BIOS) boot to serving: ${((serving - appliance.startedAtMs) / 1000).toFixed(1)} s`);
      await appliance.console.waitFor(`status page   ${APPLIANCE_URL}/`);
      expect(appliance.console.find("STATE IS IN MEMORY")).toBeUndefined();
      const ready = (await (await fetch(`${APPLIANCE_URL}/readyz`)).json()) as { services: Record<string, { detail: string; listen?: unknown }> };
      expect(ready.services.storage!.detail).toBe("/var/lib/goosed on disk");
      // Full DHCP on the interface that has the cable, at the subnet's first address, as the GOOSED stick said.
      expect(ready.services.dhcp!.listen).toEqual({ interface: "eth0", address: `${SUBNET}.1`, port: "67, 4011" });

      // The status page answers: the login form, and every page behind it sends the browser there.
      const login = await fetch(`${APPLIANCE_URL}/login`);
      expect(login.status).toBe(200);
      expect(await login.text()).toContain('<form class="login"');
      expect((await fetch(`${APPLIANCE_URL}/bundles`, { redirect: "manual" })).headers.get("location")).toBe("/login");

      // The stick's bundle, signed by the key on the GOOSED stick, is imported by itself: its artifacts are served.
      await answered(`${APPLIANCE_URL}/artifacts/netboot/vmlinuz`, appliance);
      const kernel = await fetch(`${APPLIANCE_URL}/artifacts/netboot/vmlinuz`);
      expect(Buffer.from(await kernel.arrayBuffer()).equals(Buffer.from(await Bun.file(image.kernel).arrayBuffer()))).toBe(true);

      const clientTap = lab.ifname("tc");
      await lab.tap(lan, clientTap, bridge);
      await using client = startVm({ ns: lan, tap: clientTap, mac: CLIENT_MAC, firmware: "bios-ipxe", workDir: work, timeoutMs: CLIENT_TIMEOUT_MS });
      await client.console.waitFor(CONSOLE_MARK.done);
      // The appliance's own console counts the machine as provisioned: its run succeeded.
      await appliance.console.waitFor("machines      1 provisioned");
      console.log(`client PXE boot to succeeded: ${((Date.now() - client.startedAtMs) / 1000).toFixed(1)} s`);
    },
    APPLIANCE_TIMEOUT_MS + CLIENT_TIMEOUT_MS,
  );

  test(
    "UEFI (OVMF): the same ISO, written to a USB stick, boots to a serving appliance, which warns that its state is in memory",
    async () => {
      const work = join(dir.path, "uefi");
      mkdirSync(work);
      const settings = join(work, "goosed-settings.img");
      await fatImage(settings, "GOOSED", 8, { "cmdline.txt": `goosed.dhcp=off goosed.address=${SUBNET}.1/24\n` });
      const tap = lab.ifname("tu");
      await lab.tap(lan, tap, bridge);
      await using appliance = startApplianceVm({ ns: lan, tap, mac: APPLIANCE_MAC, iso, bootFrom: "usb", disks: [settings], firmware: "uefi", workDir: work, timeoutMs: APPLIANCE_TIMEOUT_MS });
      const serving = await answered(`${APPLIANCE_URL}/readyz`, appliance);
      console.log(`appliance (UEFI) boot to serving: ${((serving - appliance.startedAtMs) / 1000).toFixed(1)} s`);
      expect((await fetch(`${APPLIANCE_URL}/login`)).status).toBe(200);
      await appliance.console.waitFor("STATE IS IN MEMORY");
      const ready = (await (await fetch(`${APPLIANCE_URL}/readyz`)).json()) as { services: Record<string, { detail: string }> };
      expect(ready.services.storage!.detail).toStartWith("IN MEMORY");
    },
    APPLIANCE_TIMEOUT_MS,
  );
});
