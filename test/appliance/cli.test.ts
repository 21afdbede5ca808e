// `goosed appliance configure` and `console --once` as the real CLI: a temp /sys/class/net and GOOSED stick, and a
// real goosed for the console to ask.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { IN_MEMORY_WARNING } from "../../src/appliance/index.ts";
import { loadConfig } from "../../src/config/index.ts";
import { isInMemory } from "../../src/lib/memory-fs.ts";
import { runGoosed, startGoosed, tempDir } from "../support/goosed.ts";

/** A /sys/class/net stand-in: one directory per link with its `type` and `carrier` files. */
function fakeSysNet(root: string, links: Array<{ name: string; type: number; carrier: 0 | 1 }>): string {
  const dir = join(root, "sys-net");
  for (const link of links) {
    mkdirSync(join(dir, link.name), { recursive: true });
    writeFileSync(join(dir, link.name, "type"), `${link.type}\n`);
    writeFileSync(join(dir, link.name, "carrier"), `${link.carrier}\n`);
  }
  return dir;
}

interface Stick {
  cmdline?: string;
  cmdlineTxt?: string;
  goosedYaml?: string;
  keys?: string[];
}

function setUp(root: string, stick: Stick, carriers: { eth0: 0 | 1; eth1: 0 | 1 } = { eth0: 0, eth1: 1 }) {
  const sysNet = fakeSysNet(root, [
    { name: "lo", type: 772, carrier: 1 },
    { name: "eth1", type: 1, carrier: carriers.eth1 },
    { name: "eth0", type: 1, carrier: carriers.eth0 },
  ]);
  const configDir = join(root, "stick");
  mkdirSync(configDir, { recursive: true });
  if (stick.cmdlineTxt !== undefined) writeFileSync(join(configDir, "cmdline.txt"), stick.cmdlineTxt);
  if (stick.goosedYaml !== undefined) writeFileSync(join(configDir, "goosed.yaml"), stick.goosedYaml);
  for (const key of stick.keys ?? []) writeFileSync(join(configDir, key), `untrusted comment: ${key}\nRWQAAAAAAAAAAA==\n`);
  const cmdline = join(root, "cmdline");
  writeFileSync(cmdline, `${stick.cmdline ?? "BOOT_IMAGE=/live/vmlinuz boot=live quiet"}\n`);
  const out = join(root, "etc/goosed/goosed.yaml");
  const networkOut = join(root, "etc/systemd/network/10-goosed.network");
  const trustedOut = join(root, "etc/goosed/trusted");
  const args = ["appliance", "configure", "--cmdline", cmdline, "--config-dir", configDir, "--sys-net", sysNet, "--out", out, "--network-out", networkOut, "--trusted-out", trustedOut, "--data-dir-mounted", "no", "--wait-carrier", "0"];
  return { args, out, networkOut, trustedOut, configDir };
}

describe("goosed appliance configure", () => {
  test("full mode from the kernel and the stick: goosed.yaml the loader accepts, the networkd file, the keys, one summary line", async () => {
    await using dir = tempDir();
    const s = setUp(dir.path, {
      cmdline: "BOOT_IMAGE=/live/vmlinuz boot=live goosed.dhcp=full goosed.subnet=10.74.0.0/24",
      cmdlineTxt: "# lab 3\ngoosed.dhcp=proxy goosed.gateway=10.74.0.254\ngoosed.shiny=1\n",
      goosedYaml: "boot:\n  discoveryPolicy: menu\n",
      keys: ["release.pub"],
    });
    const run = await runGoosed(s.args);
    expect(run.stderr).toBe(
      "goosed: warning: ignoring unknown setting goosed.shiny (cmdline.txt); known: goosed.iface, goosed.dhcp, goosed.subnet, goosed.address, goosed.range, goosed.gateway, goosed.autoimport, goosed.port\n",
    );
    expect(run.stdout).toBe("goosed appliance: eth1 10.74.0.1/24, DHCP full 10.74.0.100-10.74.0.199, data IN MEMORY\n");
    expect(run.code).toBe(0);

    const { config } = loadConfig({ configPath: s.out, env: {}, flags: {}, cwd: "/" });
    expect(config.dataDir).toBe("/var/lib/goosed");
    expect(config.http).toMatchObject({ host: "0.0.0.0", port: 80 });
    expect(config.log.format).toBe("json");
    expect(config.dhcp).toMatchObject({ mode: "full", interface: "eth1", range: "10.74.0.100-10.74.0.199", router: "10.74.0.254" });
    expect(config.boot).toMatchObject({ publicUrl: "http://10.74.0.1", discoveryPolicy: "menu" });
    expect(config.bundles).toMatchObject({ watchDir: "/media", autoImport: false, trustKeys: [join(s.trustedOut, "release.pub")] });
    expect(readFileSync(join(s.trustedOut, "release.pub"), "utf8")).toBe(readFileSync(join(s.configDir, "release.pub"), "utf8"));
    expect(readFileSync(s.networkOut, "utf8")).toBe(
      [
        "# Written by `goosed appliance configure` at every boot; change the GOOSED stick's goosed.yaml or cmdline.txt instead.",
        "[Match]",
        "Name=eth1",
        "",
        "[Network]",
        "Address=10.74.0.1/24",
        "Gateway=10.74.0.254",
        "LinkLocalAddressing=no",
        "IPv6AcceptRA=no",
        "",
      ].join("\n"),
    );
  });

  test("no words, no stick, no carrier anywhere: ProxyDHCP on the first Ethernet interface with a warning", async () => {
    await using dir = tempDir();
    const s = setUp(dir.path, {}, { eth0: 0, eth1: 0 });
    const run = await runGoosed(s.args);
    expect(run.stderr).toBe("goosed: warning: no Ethernet interface has a cable in after 0s; using eth0. Plug the provisioning network in, or name it with goosed.iface=NAME\n");
    expect(run.stdout).toBe("goosed appliance: eth0 address by DHCP, DHCP proxy, data IN MEMORY\n");
    expect(run.code).toBe(0);
    expect(readFileSync(s.networkOut, "utf8")).toContain("[Network]\nDHCP=ipv4\n");
    expect(loadConfig({ configPath: s.out, env: {}, flags: {}, cwd: "/" }).config.boot.publicUrl).toBe("");
  });

  test("goosed.iface names the interface, carrier or not; a missing one warns and is configured anyway", async () => {
    await using dir = tempDir();
    const s = setUp(dir.path, { cmdlineTxt: "goosed.iface=eth0 goosed.address=192.168.7.2/24 goosed.port=8080" });
    const chosen = await runGoosed(s.args);
    expect([chosen.stdout, chosen.stderr, chosen.code]).toEqual(["goosed appliance: eth0 192.168.7.2/24, DHCP proxy, HTTP port 8080, data IN MEMORY\n", "", 0]);
    expect(loadConfig({ configPath: s.out, env: {}, flags: {}, cwd: "/" }).config.boot.publicUrl).toBe("http://192.168.7.2:8080");

    const kernel = join(dir.path, "cmdline-eth9");
    writeFileSync(kernel, "goosed.iface=eth9\n");
    const missing = await runGoosed(s.args.map((arg, i) => (s.args[i - 1] === "--cmdline" ? kernel : arg)));
    expect(missing.stderr).toBe(`goosed: warning: interface eth9 is not in ${join(dir.path, "sys-net")} yet (have: eth0, eth1, lo); configuring it anyway\n`);
    expect(missing.code).toBe(0);
    expect(readFileSync(s.networkOut, "utf8")).toContain("[Match]\nName=eth9\n");
  });

  test("an invalid goosed.yaml on the stick: one line naming the file and the field, exit 2, nothing written", async () => {
    await using dir = tempDir();
    const s = setUp(dir.path, { goosedYaml: "http:\n  port: eighty\n" });
    const run = await runGoosed(s.args);
    expect(run.code).toBe(2);
    expect(run.stderr.split("\n")[0]).toBe(`goosed: ${join(s.configDir, "goosed.yaml")} is not a valid goosed configuration: http.port: expected an integer from 0 to 65535, got "eighty"`);
    expect(run.stdout).toBe("");
    expect([existsSync(s.out), existsSync(s.networkOut)]).toEqual([false, false]);
  });

  test("a bad boot word: one line naming the word and the fix, exit 2", async () => {
    await using dir = tempDir();
    const s = setUp(dir.path, { cmdline: "goosed.dhcp=full" });
    const run = await runGoosed(s.args);
    expect(run.code).toBe(2);
    expect(run.stderr.split("\n")[0]).toBe(
      "goosed: goosed.dhcp=full needs the provisioning subnet: add goosed.subnet=CIDR (e.g. goosed.subnet=10.74.0.0/24) to the kernel command line or cmdline.txt",
    );
    expect(existsSync(s.out)).toBe(false);
  });

  test("a bad --data-dir-mounted is a usage error", async () => {
    await using dir = tempDir();
    const s = setUp(dir.path, {});
    const run = await runGoosed(s.args.map((arg) => (arg === "no" ? "maybe" : arg)));
    expect(run.code).toBe(2);
    expect(run.stderr.split("\n")[0]).toBe('goosed: --data-dir-mounted takes yes or no, got "maybe"');
  });
});

describe("goosed appliance console --once", () => {
  test("against a running goosed: banner, token path, machines by state, every service up", async () => {
    await using dir = tempDir();
    const dataDir = join(dir.path, "data");
    await using goosed = await startGoosed({ dataDir });
    await fetch(`${goosed.url}/boot/boot.ipxe?mac=52:54:00:0c:00:01`);
    const configPath = join(dir.path, "goosed.yaml");
    writeFileSync(configPath, `dataDir: ${dataDir}\nhttp:\n  port: ${goosed.port}\n`);
    const run = await runGoosed(["appliance", "console", "--once"], { GOOSED_CONFIG: configPath });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const lines = run.stdout.split("\n");
    expect(lines[0]).toBe(`goosed ${pkg.version} provisioning appliance`);
    expect(lines).toContain(`admin token   ${dataDir}/admin-token (cat it here, or log in on the status page with it)`);
    expect(lines.includes(IN_MEMORY_WARNING)).toBe(isInMemory(dataDir));
    expect(lines.find((l) => l.startsWith("status page   "))).toContain(`:${goosed.port}/`);
    // Read with the admin token from the data directory, as root beside goosed on the appliance.
    expect(lines).toContain("machines      1 discovered");
    const { services } = (await (await fetch(`${goosed.url}/readyz`)).json()) as { services: Record<string, { ok: boolean }> };
    for (const name of Object.keys(services)) expect(lines.some((l) => new RegExp(`^${name}\\s+up\\s+\\S`).test(l))).toBe(true);
    expect(Object.keys(services)).toContain("database");
  });

  test("nothing listening: says goosed is not answering yet, still exit 0", async () => {
    await using dir = tempDir();
    const closed = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = closed.port;
    closed.stop(true);
    const configPath = join(dir.path, "goosed.yaml");
    writeFileSync(configPath, `dataDir: ${dir.path}\nhttp:\n  port: ${port}\n`);
    const run = await runGoosed(["appliance", "console", "--once"], { GOOSED_CONFIG: configPath });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`goosed is not answering yet at http://127.0.0.1:${port}/readyz (`);
  });
});
