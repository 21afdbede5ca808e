// The real Linux agent (dash + curl) against real agent endpoints on a loopback socket.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { AgentEndpoint, type EnrollRequest, type HeartbeatRequest } from "../../src/agents/index.ts";
import { REPO_ROOT, tempDir } from "../support/goosed.ts";
import { requireTool } from "../support/tools.ts";
import { type AgentEndpoints, startAgentEndpoints } from "./agent-endpoints.ts";

const AGENT = join(REPO_ROOT, "agents/linux/goosed-agent");
const INSTALLER_TOKEN = "gd_install_0123456789abcdef";

// Each agent call starts some 40 processes (awk, sed, curl); on a busy machine a test with
// several calls outlasts bun's 5 s default.
setDefaultTimeout(60_000);

const shellcheck = requireTool("shellcheck");
const dash = requireTool("dash");
requireTool("curl");

const dir = tempDir("goosed-agent-test-");
let appliance: AgentEndpoints;

/** One host's worth of directories; systemctl is a stub on PATH that logs its arguments. */
function makeHost(name: string) {
  const root = join(dir.path, name);
  const host = {
    root,
    agentDir: join(root, "etc/goosed"),
    systemdDir: join(root, "etc/systemd/system"),
    sbinDir: join(root, "usr/local/sbin"),
    binDir: join(root, "bin"),
    tmpDir: join(root, "tmp"),
    systemctlLog: join(root, "systemctl.log"),
    osRelease: join(root, "os-release"),
  };
  for (const path of [host.binDir, host.tmpDir]) mkdirSync(path, { recursive: true });
  writeFileSync(join(host.binDir, "systemctl"), `#!/bin/sh\necho "$*" >> '${host.systemctlLog}'\n`);
  chmodSync(join(host.binDir, "systemctl"), 0o755);
  writeFileSync(host.osRelease, readFileSync("/etc/os-release"));
  return host;
}
type Host = ReturnType<typeof makeHost>;

/** Runs `dash SCRIPT ARGS...` (SCRIPT may be -c) as the given host. */
async function agent(host: Host, args: string[], extraEnv: Record<string, string> = {}, script = AGENT) {
  const proc = Bun.spawn([dash, script, ...args], {
    env: {
      PATH: `${host.binDir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
      GOOSED_AGENT_DIR: host.agentDir,
      GOOSED_SYSTEMD_DIR: host.systemdDir,
      GOOSED_SBIN_DIR: host.sbinDir,
      GOOSED_OS_RELEASE: host.osRelease,
      TMPDIR: host.tmpDir,
      ...extraEnv,
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  return { code, stdout, stderr };
}

const modeOf = (path: string) => statSync(path).mode & 0o777;
const read = (path: string) => readFileSync(path, "utf8");
const callsTo = (path: string) => appliance.calls.filter((c) => c.path === path);

beforeAll(() => {
  appliance = startAgentEndpoints();
});
afterAll(async () => {
  await appliance[Symbol.asyncDispose]();
  await dir[Symbol.asyncDispose]();
});

test("shellcheck -s sh finds nothing", async () => {
  const proc = Bun.spawn([shellcheck, "-s", "sh", AGENT], { stdout: "pipe", stderr: "pipe" });
  const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  expect({ code, stdout, stderr }).toEqual({ code: 0, stdout: "", stderr: "" });
});

describe("one host from install to token refresh", () => {
  let host: Host;
  let installed: string;
  beforeAll(() => {
    host = makeHost("first");
    installed = join(host.sbinDir, "goosed-agent");
    appliance.installerTokens.add(INSTALLER_TOKEN);
  });

  test("install writes the configuration, the token and the units, and calls no API", async () => {
    const result = await agent(host, ["install", "--url", `${appliance.url}/`, "--token", INSTALLER_TOKEN]);
    expect(result).toEqual({ code: 0, stdout: `goosed-agent: installed; the agent enrolls with ${appliance.url} at boot\n`, stderr: "" });

    expect(read(join(host.agentDir, "agent.conf"))).toBe(`# goosed agent configuration, written by goosed-agent install\nGOOSED_URL=${appliance.url}\n`);
    expect(modeOf(host.agentDir)).toBe(0o700);
    expect(read(join(host.agentDir, "installer-token"))).toBe(`${INSTALLER_TOKEN}\n`);
    expect(modeOf(join(host.agentDir, "installer-token"))).toBe(0o600);
    expect(read(installed)).toBe(read(AGENT));
    expect(modeOf(installed)).toBe(0o755);
    for (const unit of ["goosed-agent.service", "goosed-agent.timer"]) {
      expect(read(join(host.systemdDir, unit))).toBe(read(join(REPO_ROOT, "agents/linux", unit)));
      expect(modeOf(join(host.systemdDir, unit))).toBe(0o644);
    }
    expect(read(host.systemctlLog)).toBe("enable goosed-agent.timer\n");
    expect(appliance.downloads).toEqual(["/agents/linux/goosed-agent.service", "/agents/linux/goosed-agent.timer"]);
    expect(appliance.calls).toEqual([]);
    // Nothing left behind in TMPDIR or beside the written files.
    expect(readdirSync(host.tmpDir)).toEqual([]);
    expect(readdirSync(host.agentDir).sort()).toEqual(["agent.conf", "installer-token"]);
  });

  test("enroll trades the installer token for an agent token", async () => {
    const result = await agent(host, ["enroll"], {}, installed);
    expect(result).toEqual({ code: 0, stdout: "goosed-agent: enrolled as machine 42\n", stderr: "" });

    const [call] = callsTo(AgentEndpoint.Enroll);
    expect(call?.token).toBe(INSTALLER_TOKEN);
    expect(call?.contentType).toBe("application/json");
    const request = call?.message as EnrollRequest;
    expect({ hostname: request.hostname, machineId: request.machineId, agentVersion: request.agentVersion }).toEqual({
      hostname: hostname(),
      machineId: existsSync("/etc/machine-id") ? read("/etc/machine-id").trim() : "",
      agentVersion: "0.1.0",
    });

    const [agentToken] = [...appliance.agentTokens.keys()];
    expect(read(join(host.agentDir, "agent-token"))).toBe(`${agentToken}\n`);
    expect(modeOf(join(host.agentDir, "agent-token"))).toBe(0o600);
    expect(existsSync(join(host.agentDir, "installer-token"))).toBe(false);
    const state = Object.fromEntries(read(join(host.agentDir, "state")).trim().split("\n").map((line) => line.split("=")));
    expect(state).toEqual({ MACHINE: "42", TOKEN_ISSUED_AT: expect.stringMatching(/^\d+$/), REFRESH_AFTER_SECONDS: "3600", HEARTBEAT_SECONDS: "900" });
  });

  test("report --postinstall-done sends facts that decode as a FactsRequest", async () => {
    // An os-release NAME that needs every kind of escaping: quote, backslash, tab, a control
    // character and non-ASCII text; a byte that is not UTF-8 must not spoil the JSON either.
    writeFileSync(
      host.osRelease,
      Buffer.concat([
        Buffer.from('NAME="Lab \\"OS\\" back\\\\slash\ttab\x01ctl \u00e9t\u00e9 \\$HOME"\nVERSION_ID="12'),
        Buffer.from([0xff]),
        Buffer.from('"\n'),
      ]),
    );
    const result = await agent(host, ["report", "--postinstall-done"], {}, installed);
    expect(result).toEqual({ code: 0, stdout: "goosed-agent: facts reported; run succeeded\n", stderr: "" });

    const [call] = callsTo(AgentEndpoint.Facts);
    expect(call?.token).toBe([...appliance.agentTokens.keys()][0]!);
    const [report] = appliance.factsReports();
    expect(report?.postinstallDone).toBe(true);
    expect(report?.failed).toBe(false);
    const facts = report!.facts!;
    expect(facts.hostname).toBe(hostname());
    expect(facts.os?.name).toBe('Lab "OS" back\\slash\ttab\x01ctl \u00e9t\u00e9 $HOME');
    expect(facts.os?.version).toBe("12");
    expect(facts.os?.kernel).toBe((await Bun.$`uname -r`.text()).trim());
    expect(facts.os?.arch).toBe((await Bun.$`uname -m`.text()).trim());
    expect(facts.agentVersion).toBe("0.1.0");
    expect(facts.bootMode).toBe(existsSync("/sys/firmware/efi") ? "uefi" : "bios");
    expect(facts.uptimeSeconds).toBeGreaterThan(0n);

    const memTotalKib = BigInt(/^MemTotal:\s+(\d+) kB$/m.exec(read("/proc/meminfo"))![1]!);
    expect(facts.memoryBytes).toBe(memTotalKib * 1024n);
    const processors = read("/proc/cpuinfo").match(/^processor\s*:/gm)?.length ?? 0;
    expect(facts.cpu?.threads).toBe(processors);
    expect(facts.cpu?.cores).toBeGreaterThan(0);

    // Every interface but the loopback, with its MAC, MTU and state as sysfs has them.
    const names = readdirSync("/sys/class/net").filter((n) => n !== "lo" && statSync(join("/sys/class/net", n)).isDirectory());
    expect(names.length).toBeGreaterThan(0);
    expect(facts.interfaces.map((i) => i.name).sort()).toEqual(names.sort());
    for (const iface of facts.interfaces) {
      const sys = (file: string) => read(join("/sys/class/net", iface.name, file)).trim();
      expect({ mac: iface.mac, mtu: iface.mtu, state: iface.state }).toEqual({ mac: sys("address"), mtu: Number(sys("mtu")), state: sys("operstate") });
    }
    const withAddresses = facts.interfaces.flatMap((i) => i.addresses);
    if (Bun.which("ip")) expect(withAddresses.every((a) => /^[0-9a-f.:]+\/\d+$/.test(a))).toBe(true);

    const blockDevices = readdirSync("/sys/block").filter((n) => !/^(loop|ram|zram)/.test(n));
    expect(facts.disks.map((d) => d.name).sort()).toEqual(blockDevices.sort());
    for (const disk of facts.disks) {
      expect(disk.sizeBytes).toBe(BigInt(read(join("/sys/block", disk.name, "size")).trim()) * 512n);
    }

    expect(read(join(host.agentDir, "postinstall-done"))).toMatch(/^\d+\n$/);
  });

  test("report --failed sends the reason", async () => {
    const reason = 'disk "sda" \\ missing\n\tsee the installer log\n';
    const result = await agent(host, ["report", "--failed", reason], {}, installed);
    expect(result).toEqual({ code: 0, stdout: "goosed-agent: facts reported; run failed\n", stderr: "" });
    const report = appliance.factsReports().at(-1)!;
    expect({ postinstallDone: report.postinstallDone, failed: report.failed, failureReason: report.failureReason }).toEqual({
      postinstallDone: false,
      failed: true,
      // The shell drops the trailing newline of an argument it reads back; the rest arrives as sent.
      failureReason: reason.trimEnd(),
    });
  });

  test("heartbeat sends the uptime", async () => {
    const result = await agent(host, ["heartbeat"], {}, installed);
    expect(result).toEqual({ code: 0, stdout: "goosed-agent: heartbeat sent\n", stderr: "" });
    const beat = callsTo(AgentEndpoint.Heartbeat).at(-1)!.message as HeartbeatRequest;
    expect(beat.agentVersion).toBe("0.1.0");
    expect(beat.uptimeSeconds).toBeGreaterThan(0n);
  });

  test("refresh writes the new token and never sends the old one again", async () => {
    const oldToken = read(join(host.agentDir, "agent-token")).trim();
    const before = appliance.calls.length;
    // Replies in lowerCamelCase, pretty-printed: the agent reads both JSON spellings.
    appliance.options.camelCaseReplies = true;
    try {
      expect(await agent(host, ["refresh"], {}, installed)).toEqual({ code: 0, stdout: "goosed-agent: agent token refreshed\n", stderr: "" });
    } finally {
      appliance.options.camelCaseReplies = false;
    }
    const newToken = read(join(host.agentDir, "agent-token")).trim();
    expect(newToken).not.toBe(oldToken);
    expect([...appliance.agentTokens.keys()]).toEqual([newToken]);
    expect(modeOf(join(host.agentDir, "agent-token"))).toBe(0o600);

    expect((await agent(host, ["heartbeat"], {}, installed)).code).toBe(0);
    expect((await agent(host, ["report"], {}, installed)).code).toBe(0);
    const after = appliance.calls.slice(before);
    expect(after.map((c) => [c.path, c.token])).toEqual([
      [AgentEndpoint.TokenRefresh, oldToken],
      [AgentEndpoint.Heartbeat, newToken],
      [AgentEndpoint.Facts, newToken],
    ]);
    expect(readdirSync(host.agentDir).sort()).toEqual(["agent-token", "agent.conf", "postinstall-done", "state"]);
  });

  test("a problem JSON answer prints its detail on one line and exits 1", async () => {
    appliance.agentTokens.clear();
    const result = await agent(host, ["heartbeat"], {}, installed);
    expect(result).toEqual({ code: 1, stdout: "", stderr: "goosed-agent: heartbeat: agent token is unknown, revoked or expired (HTTP 401)\n" });
  });
});

describe("run, as the timer starts it", () => {
  let host: Host;
  const run = () => agent(host, ["run"]);
  beforeAll(async () => {
    host = makeHost("second");
    appliance.installerTokens.add("gd_install_second");
    expect((await agent(host, ["install", "--url", appliance.url, "--token", "gd_install_second"])).code).toBe(0);
  });

  test("the first run enrolls, ends the install run and heartbeats; later runs report plainly", async () => {
    const before = appliance.calls.length;
    const first = await run();
    expect(first).toEqual({
      code: 0,
      stdout: "goosed-agent: enrolled as machine 42\ngoosed-agent: facts reported; run succeeded\ngoosed-agent: heartbeat sent\n",
      stderr: "",
    });
    const second = await run();
    expect(second).toEqual({ code: 0, stdout: "goosed-agent: facts reported\ngoosed-agent: heartbeat sent\n", stderr: "" });

    const calls = appliance.calls.slice(before);
    expect(calls.map((c) => c.path)).toEqual([
      AgentEndpoint.Enroll,
      AgentEndpoint.Facts,
      AgentEndpoint.Heartbeat,
      AgentEndpoint.Facts,
      AgentEndpoint.Heartbeat,
    ]);
    const reports = calls.filter((c) => c.path === AgentEndpoint.Facts).map((c) => (c.message as { postinstallDone: boolean }).postinstallDone);
    expect(reports).toEqual([true, false]);
  });

  test("a token older than refresh_after_seconds is refreshed before the report", async () => {
    const statePath = join(host.agentDir, "state");
    const hourAndAMinuteAgo = Math.floor(Date.now() / 1000) - 3660;
    writeFileSync(statePath, read(statePath).replace(/^TOKEN_ISSUED_AT=\d+$/m, `TOKEN_ISSUED_AT=${hourAndAMinuteAgo}`));
    const oldToken = read(join(host.agentDir, "agent-token")).trim();
    const before = appliance.calls.length;

    const result = await run();
    expect(result).toEqual({
      code: 0,
      stdout: "goosed-agent: agent token refreshed\ngoosed-agent: facts reported\ngoosed-agent: heartbeat sent\n",
      stderr: "",
    });
    const newToken = read(join(host.agentDir, "agent-token")).trim();
    expect(appliance.calls.slice(before).map((c) => [c.path, c.token])).toEqual([
      [AgentEndpoint.TokenRefresh, oldToken],
      [AgentEndpoint.Facts, newToken],
      [AgentEndpoint.Heartbeat, newToken],
    ]);
    const issuedAt = Number(/^TOKEN_ISSUED_AT=(\d+)$/m.exec(read(statePath))![1]);
    expect(issuedAt).toBeGreaterThan(hourAndAMinuteAgo);
  });
});

test("install piped into sh fetches the agent itself from the appliance", async () => {
  const host = makeHost("piped");
  const downloadsBefore = appliance.downloads.length;
  // dash -c 'curl ... | "$0" -s -- install ...' dash: the agent's $0 is then the shell, not a file.
  const pipeline = `curl -sS ${appliance.url}/agents/linux/goosed-agent | "$0" -s -- install --url ${appliance.url} --token gd_install_piped`;
  const { code, stdout, stderr } = await agent(host, [pipeline, dash], {}, "-c");
  expect({ code, stdout, stderr }).toEqual({ code: 0, stdout: `goosed-agent: installed; the agent enrolls with ${appliance.url} at boot\n`, stderr: "" });
  expect(read(join(host.sbinDir, "goosed-agent"))).toBe(read(AGENT));
  expect(modeOf(join(host.sbinDir, "goosed-agent"))).toBe(0o755);
  expect(appliance.downloads.slice(downloadsBefore)).toEqual([
    "/agents/linux/goosed-agent", // the pipeline's curl
    "/agents/linux/goosed-agent", // install, to have a copy to keep
    "/agents/linux/goosed-agent.service",
    "/agents/linux/goosed-agent.timer",
  ]);
});

describe("a host with only the base tools", () => {
  test("without lsblk, ip and iconv, disks come from /sys/block and interfaces have no addresses", async () => {
    const host = makeHost("minimal");
    appliance.installerTokens.add("gd_install_minimal");
    expect((await agent(host, ["install", "--url", appliance.url, "--token", "gd_install_minimal"])).code).toBe(0);
    expect((await agent(host, ["run"])).code).toBe(0);
    const full = appliance.factsReports().at(-1)!.facts!;

    // PATH holds only what the agent needs besides dash: curl and POSIX utilities.
    const minimalBin = join(host.root, "minimal-bin");
    mkdirSync(minimalBin);
    for (const tool of ["awk", "sed", "grep", "tr", "cat", "mktemp", "rm", "mv", "chmod", "mkdir", "cmp", "date", "uname", "sync", "curl"]) {
      symlinkSync(requireTool(tool), join(minimalBin, tool));
    }
    const result = await agent(host, ["report"], { PATH: minimalBin });
    expect(result).toEqual({ code: 0, stdout: "goosed-agent: facts reported\n", stderr: "" });
    const minimal = appliance.factsReports().at(-1)!.facts!;

    const shape = (disks: typeof full.disks) => disks.map((d) => ({ name: d.name, sizeBytes: d.sizeBytes, rotational: d.rotational, type: d.type }));
    expect(shape(minimal.disks)).toEqual(shape(full.disks));
    expect(minimal.interfaces).toEqual(full.interfaces.map((i) => ({ ...i, addresses: [] })));
    expect(minimal.memoryBytes).toBe(full.memoryBytes);
  });
});

describe("failures", () => {
  test("an appliance that cannot be reached is one line and exit 1", async () => {
    const host = makeHost("unreachable");
    // Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    expect((await agent(host, ["install", "--url", appliance.url, "--token", "gd_never_used"])).code).toBe(0);
    const result = await agent(host, ["enroll"], { GOOSED_URL: "http://127.0.0.1:9" });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toStartWith("goosed-agent: enroll: cannot reach http://127.0.0.1:9: curl: (7) ");
    expect(result.stderr.split("\n")).toHaveLength(2);
    expect(existsSync(join(host.agentDir, "installer-token"))).toBe(true);
  });

  test("an installer token the appliance refuses leaves it in place for the next run", async () => {
    const host = makeHost("refused");
    expect((await agent(host, ["install", "--url", appliance.url, "--token", "gd_install_unknown"])).code).toBe(0);
    const result = await agent(host, ["run"]);
    expect(result).toEqual({ code: 1, stdout: "", stderr: "goosed-agent: enroll: installer token is unknown, used or expired (HTTP 401)\n" });
    expect(readdirSync(host.agentDir).sort()).toEqual(["agent.conf", "installer-token"]);
  });

  test.each([
    ["no command", [], "no command given"],
    ["an unknown command", ["launch"], "unknown command launch"],
    ["install without a token", ["install", "--url", "http://192.0.2.1"], "install needs --token TOKEN"],
    ["install with a URL that is not http", ["install", "--url", "ftp://192.0.2.1", "--token", "t"], "--url must start with http:// or https://"],
    ["install with a token holding a quote", ["install", "--url", "http://192.0.2.1", "--token", 'a"b'], "--token holds characters a goosed token never has"],
    ["report with both outcomes", ["report", "--postinstall-done", "--failed", "x"], "report takes --postinstall-done or --failed, not both"],
    ["heartbeat with an argument", ["heartbeat", "now"], "heartbeat takes no arguments"],
  ])("%s is a usage error (exit 2)", async (_name, args, message) => {
    const host = makeHost(`usage-${args.join("-").replace(/[^a-z0-9-]/gi, "") || "none"}`);
    const result = await agent(host, args as string[]);
    expect(result).toEqual({ code: 2, stdout: "", stderr: `goosed-agent: ${message}; see goosed-agent --help\n` });
  });

  test("commands that need enrollment say so", async () => {
    const host = makeHost("not-enrolled");
    writeFileSync(join(host.root, "agent.conf"), "");
    mkdirSync(host.agentDir, { recursive: true });
    writeFileSync(join(host.agentDir, "agent.conf"), `GOOSED_URL=${appliance.url}\n`);
    const result = await agent(host, ["heartbeat"]);
    expect(result).toEqual({
      code: 1,
      stdout: "",
      stderr: `goosed-agent: not enrolled: no agent token at ${host.agentDir}/agent-token; run goosed-agent enroll\n`,
    });
  });
});
