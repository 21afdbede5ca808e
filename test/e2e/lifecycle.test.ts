// The whole life of an install over real HTTP against a real goosed process, with the real Linux agent run by sh:
// profile and machine → provision → boot script → install script → kickstart → agent enroll and facts → succeeded →
// next boot is the local disk. Refusals: a reused, expired, other-MAC and cancelled-run token.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { api, REPO_ROOT, type RunningGoosed, startGoosed, type TempDir, tempDir } from "../support/goosed.ts";
import { requireTool } from "../support/tools.ts";
import { json, text } from "../support/http.ts";

const AGENT = join(REPO_ROOT, "agents/linux/goosed-agent");

let dir: TempDir;
let goosed: RunningGoosed;

beforeAll(async () => {
  requireTool("curl");
  dir = tempDir();
  goosed = await startGoosed({ dataDir: join(dir.path, "data") });
});

afterAll(async () => {
  await goosed?.stop();
  await dir?.[Symbol.asyncDispose]();
});

async function addMachine(hostname: string, mac: string, profile: string) {
  return json(api(goosed, "/v1/machines", { body: { hostname, profile, interfaces: [{ mac }] } }), 201);
}

async function provision(ref: string) {
  return json(api(goosed, `/v1/machines/${ref}/provision`, { body: {} }), 201);
}

/** Stage one: the boot script chains install.ipxe with a fresh boot token. */
async function bootToken(mac: string): Promise<string> {
  const script = await text(`${goosed.url}/boot/boot.ipxe?mac=${mac}&arch=x86_64`);
  expect(script.startsWith("#!ipxe\n")).toBe(true);
  const match = /\/boot\/install\.ipxe\?mac=\$\{mac\}&token=(gb_[0-9a-f_]+)/.exec(script);
  if (!match) throw new Error(`no boot token in:\n${script}`);
  return match[1]!;
}

async function refusals(tokenId: string) {
  const { items } = await json(api(goosed, `/v1/audit?action=token.refused&object=token:${tokenId}`), 200);
  return items as Array<{ details: { reason: string; kind: string; request: string }; source: string | null }>;
}

/**
 * Runs the real agent under sh with its paths in a scratch directory. This host has no running systemd, so
 * systemctl on PATH is a stand-in that records what the agent asked of it.
 */
async function runAgent(args: string[], agentDir: string) {
  const binDir = join(agentDir, "bin");
  mkdirSync(binDir, { recursive: true });
  writeFileSync(join(binDir, "systemctl"), `#!/bin/sh\necho "$*" >> '${join(agentDir, "systemctl.log")}'\n`, { mode: 0o755 });
  const proc = Bun.spawn(["sh", AGENT, ...args], {
    env: {
      PATH: `${binDir}:${process.env.PATH}`,
      GOOSED_AGENT_DIR: agentDir,
      GOOSED_SYSTEMD_DIR: join(agentDir, "systemd"),
      GOOSED_SBIN_DIR: join(agentDir, "sbin"),
      TMPDIR: agentDir,
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`goosed-agent ${args.join(" ")} exited ${code}:\n${stderr}\n${stdout}`);
  return stdout;
}

describe("an install from unknown to provisioned", () => {
  const mac = "52:54:00:00:00:01";
  let installerToken = "";

  test("a profile and a machine are created; provisioning starts a pending run", async () => {
    await json(
      api(goosed, "/v1/profiles", {
        body: { name: "rocky9", osFamily: "rhel", kernel: "rocky9/vmlinuz", initrd: ["rocky9/initrd.img"], installTemplate: "kickstart", vars: { timezone: "Europe/Berlin" } },
      }),
      201,
    );
    await addMachine("node01", "52-54-00-00-00-01", "rocky9");
    const run = await provision("node01");
    expect(run.state).toBe("pending");
    expect((await json(api(goosed, "/v1/machines/node01"), 200)).state).toBe("provisioning");
  });

  test("the boot script carries a boot token; the install script spends it; reusing it is refused", async () => {
    const token = await bootToken(mac);
    expect((await json(api(goosed, "/v1/machines/node01"), 200)).activeRun.state).toBe("booting");

    const install = await text(`${goosed.url}/boot/install.ipxe?mac=${mac}&token=${token}`);
    expect(install.startsWith("#!ipxe\n")).toBe(true);
    expect(install).toContain(`kernel ${goosed.url}/artifacts/rocky9/vmlinuz`);
    expect(install).toContain(`initrd -n initrd.img ${goosed.url}/artifacts/rocky9/initrd.img`);
    const ks = /inst\.ks=(\S+)/.exec(install);
    expect(ks?.[1]).toStartWith(`${goosed.url}/v1/render/kickstart?token=gi_`);
    installerToken = new URL(ks![1]!).searchParams.get("token")!;

    const reused = await fetch(`${goosed.url}/boot/install.ipxe?mac=${mac}&token=${token}`);
    expect(reused.status).toBe(401);
    expect(reused.headers.get("content-type")).toBe("application/problem+json");
    expect(((await reused.json()) as { detail: string }).detail).toContain("already used");
    expect((await refusals(token.split("_")[1]!)).map((r) => r.details)).toEqual([{ kind: "boot", reason: "reused", request: "GET /boot/install.ipxe" }]);
  });

  test("the kickstart renders for the run's installer token and moves the run to installing", async () => {
    const kickstart = await text(`${goosed.url}/v1/render/kickstart?token=${installerToken}`);
    expect(kickstart).toContain("timezone 'Europe/Berlin' --utc");
    expect(kickstart).toContain(`${goosed.url}/agents/linux/goosed-agent`);
    expect(kickstart).toContain(installerToken);
    const machine = await json(api(goosed, "/v1/machines/node01"), 200);
    expect(machine.activeRun.state).toBe("installing");
    // A kickstart profile has no cloud-init seed.
    expect((await fetch(`${goosed.url}/cloud-init/${installerToken}/user-data`)).status).toBe(404);
  });

  test("the real Linux agent installs, enrolls and reports postinstall_done: the run succeeds", async () => {
    const agentDir = join(dir.path, "agent");
    mkdirSync(agentDir, { recursive: true });
    await runAgent(["install", "--url", goosed.url, "--token", installerToken], agentDir);
    expect(readFileSync(join(agentDir, "systemctl.log"), "utf8")).toBe("enable goosed-agent.timer\n");
    await runAgent(["run"], agentDir);

    const machine = await json(api(goosed, "/v1/machines/node01"), 200);
    expect(machine.state).toBe("provisioned");
    expect(machine.activeRun).toBeNull();
    const { items } = await json(api(goosed, "/v1/runs?machine=node01"), 200);
    const run = await json(api(goosed, `/v1/runs/${items[0].id}`), 200);
    expect(run.state).toBe("succeeded");
    expect(run.transitions.map((t: { to: string }) => t.to)).toEqual(["pending", "booting", "installing", "succeeded"]);
    expect(run.transitions.every((t: { at: string }) => typeof t.at === "string")).toBe(true);
    expect(run.transitions.slice(1).every((t: { source: string | null }) => t.source === "127.0.0.1")).toBe(true);

    const facts = await json(api(goosed, "/v1/machines/node01/facts"), 200);
    expect(facts.facts.hostname).toBeTruthy();
    expect(Number(facts.facts.memory_bytes)).toBeGreaterThan(0);
    const audit = await json(api(goosed, `/v1/audit?action=machine.facts&object=machine:${machine.id}`), 200);
    expect(audit.items.length).toBe(1);
    expect(Object.keys(audit.items[0].details.changes)).toContain("hostname");
  });

  test("the next boot script boots the local disk and carries no token", async () => {
    const script = await text(`${goosed.url}/boot/boot.ipxe?mac=${mac}&arch=x86_64`);
    expect(script.startsWith("#!ipxe\n")).toBe(true);
    expect(script).toMatch(/^exit\b/m);
    expect(script).not.toMatch(/g[bia]_[0-9a-f]{16}_/);
  });

  test("after the run, the installer token is refused", async () => {
    const response = await fetch(`${goosed.url}/v1/render/kickstart?token=${installerToken}`);
    expect(response.status).toBe(403);
    expect(((await response.json()) as { detail: string }).detail).toContain("ended succeeded");
  });
});

describe("refused tokens", () => {
  test("a boot token presented with another MAC is refused 403 and audited", async () => {
    await addMachine("node02", "52:54:00:00:00:02", "rocky9");
    await provision("node02");
    const token = await bootToken("52:54:00:00:00:02");
    const response = await fetch(`${goosed.url}/boot/install.ipxe?mac=52:54:00:00:00:99&token=${token}`);
    expect(response.status).toBe(403);
    expect(((await response.json()) as { detail: string }).detail).toBe("this boot token was issued to 52:54:00:00:00:02, not 52:54:00:00:00:99");
    expect((await refusals(token.split("_")[1]!)).map((r) => r.details.reason)).toEqual(["other-mac"]);
  });

  test("a cancelled run's boot and installer tokens are refused 403 and audited", async () => {
    await addMachine("node03", "52:54:00:00:00:03", "rocky9");
    await provision("node03");
    const first = await bootToken("52:54:00:00:00:03");
    const install = await text(`${goosed.url}/boot/install.ipxe?mac=52:54:00:00:00:03&token=${first}`);
    const installer = /token=(gi_[0-9a-f_]+)/.exec(install)![1]!;
    const second = await bootToken("52:54:00:00:00:03");
    const cancelled = await json(api(goosed, "/v1/machines/node03/cancel", { body: {} }), 200);
    expect(cancelled.state).toBe("cancelled");
    expect((await json(api(goosed, "/v1/machines/node03"), 200)).state).toBe("ready");

    const boot = await fetch(`${goosed.url}/boot/install.ipxe?mac=52:54:00:00:00:03&token=${second}`);
    expect(boot.status).toBe(403);
    expect(((await boot.json()) as { detail: string }).detail).toContain("ended cancelled");
    const render = await fetch(`${goosed.url}/v1/render/kickstart?token=${installer}`);
    expect(render.status).toBe(403);
    expect((await refusals(second.split("_")[1]!)).map((r) => r.details.reason)).toEqual(["run-ended"]);
    expect((await refusals(installer.split("_")[1]!)).map((r) => r.details.reason)).toEqual(["run-ended"]);
  });

  test("an expired boot token is refused 401 and audited", async () => {
    await using shortDir = tempDir();
    await using short = await startGoosed({ dataDir: shortDir.path, args: ["--boot-token-ttl-seconds", "1"] });
    await json(api(short, "/v1/profiles", { body: { name: "p", osFamily: "rhel", kernel: "k", installTemplate: "kickstart" } }), 201);
    await json(api(short, "/v1/machines", { body: { profile: "p", interfaces: [{ mac: "52:54:00:00:00:04" }] } }), 201);
    await json(api(short, "/v1/machines/52:54:00:00:00:04/provision", { body: {} }), 201);
    const script = await text(`${short.url}/boot/boot.ipxe?mac=52:54:00:00:00:04`);
    const token = /token=(gb_[0-9a-f_]+)/.exec(script)![1]!;
    // The behaviour under test is the passage of time itself: wait out the one-second lifetime.
    await Bun.sleep(1100);
    const response = await fetch(`${short.url}/boot/install.ipxe?mac=52:54:00:00:00:04&token=${token}`);
    expect(response.status).toBe(401);
    expect(((await response.json()) as { detail: string }).detail).toContain("expired");
    const { items } = await json(api(short, `/v1/audit?action=token.refused&object=token:${token.split("_")[1]}`), 200);
    expect(items.map((i: { details: { reason: string } }) => i.details.reason)).toEqual(["expired"]);
  });

  test("a malformed MAC gets a valid iPXE script that says why, never an error page", async () => {
    const response = await fetch(`${goosed.url}/boot/boot.ipxe?mac=not-a-mac`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toStartWith("text/plain");
    const script = await response.text();
    expect(script.startsWith("#!ipxe\n")).toBe(true);
    expect(script).toContain("not a MAC address");
  });

  test("an unknown MAC is enrolled as discovered and boots the local disk", async () => {
    const script = await text(`${goosed.url}/boot/boot.ipxe?mac=52:54:00:aa:bb:cc&arch=arm64`);
    expect(script).toMatch(/^exit\b/m);
    const machine = await json(api(goosed, "/v1/machines/5254.00aa.bbcc"), 200);
    expect({ state: machine.state, arch: machine.arch, macs: machine.interfaces.map((i: { mac: string }) => i.mac) }).toEqual({
      state: "discovered",
      arch: "arm64",
      macs: ["52:54:00:aa:bb:cc"],
    });
  });
});

describe("cloud-init", () => {
  test("an autoinstall profile serves the NoCloud tree under the installer token", async () => {
    await json(
      api(goosed, "/v1/profiles", {
        body: { name: "ubuntu24", osFamily: "ubuntu", kernel: "ubuntu24/vmlinuz", initrd: ["ubuntu24/initrd"], installTemplate: "autoinstall" },
      }),
      201,
    );
    await addMachine("node05", "52:54:00:00:00:05", "ubuntu24");
    const run = await provision("node05");
    const token = await bootToken("52:54:00:00:00:05");
    const install = await text(`${goosed.url}/boot/install.ipxe?mac=52:54:00:00:00:05&token=${token}`);
    const seed = /;s=(\S+?\/cloud-init\/(gi_[0-9a-f_]+)\/)/.exec(install);
    expect(seed?.[1]).toBe(`${goosed.url}/cloud-init/${seed?.[2]}/`);
    const base = seed![1]!;
    const metaData = await text(`${base}meta-data`);
    expect(metaData).toBe(`instance-id: goosed-run-${run.id}\nlocal-hostname: "node05"\n`);
    const userData = await text(`${base}user-data`);
    expect(userData.startsWith("#cloud-config")).toBe(true);
    expect(userData).toContain("autoinstall:");
    expect(await text(`${base}vendor-data`)).toBeString();
    expect((await json(api(goosed, "/v1/machines/node05"), 200)).activeRun.state).toBe("installing");
  });
});
