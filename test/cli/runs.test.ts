import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type CliHarness, lines, startCli } from "./harness.ts";

/** What an agent on the host does: boot (boot token → installer token), enroll, post facts. */
async function reportFacts(h: CliHarness, mac: string, facts: Record<string, unknown>): Promise<void> {
  const url = h.goosed.url;
  const boot = await (await fetch(`${url}/boot/boot.ipxe?mac=${mac}&arch=x86_64`)).text();
  const bootToken = /token=(gb_[0-9a-f_]+)/.exec(boot)?.[1];
  const install = await (await fetch(`${url}/boot/install.ipxe?mac=${mac}&token=${bootToken}`)).text();
  const installer = /token=(gi_[0-9a-f_]+)/.exec(install)?.[1];
  const post = (path: string, token: string | undefined, body: unknown) =>
    fetch(`${url}${path}`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(body) });
  const enrolled = (await (await post("/v1/agents/enroll", installer, {})).json()) as { agent_token: string };
  const reported = await post("/v1/agents/facts", enrolled.agent_token, { facts });
  if (!reported.ok) throw new Error(`facts refused: ${await reported.text()}`);
}

interface Run {
  id: number;
  state: string;
  machine: { id: number; hostname: string | null };
  profile: string;
  vars: Record<string, unknown>;
  transitions: Array<{ at: string; from: string | null; to: string; source: string | null; reason: string }>;
}

let h: CliHarness;

beforeAll(async () => {
  h = await startCli();
  for (const args of [
    ["profile", "add", "rocky9", "--os", "rhel", "--kernel", "rocky9/vmlinuz", "--initrd", "rocky9/initrd.img", "--install", "kickstart"],
    ["group", "add", "web", "--profile", "rocky9", "--var", "tier=1", "--description", "web tier"],
    ["machine", "add", "--mac", "52:54:00:00:00:01", "--hostname", "node01"],
    ["machine", "add", "--mac", "52:54:00:00:00:02", "--hostname", "node02", "--group", "web"],
  ]) {
    const result = await h.cli(...args);
    if (result.code !== 0) throw new Error(`goosed ${args.join(" ")}: ${result.stderr}`);
  }
});
afterAll(async () => {
  await h[Symbol.asyncDispose]();
});

describe("goosed machine provision and goosed run", () => {
  test("provision starts a pending run", async () => {
    const started = await h.cli("machine", "provision", "node01", "--profile", "rocky9", "--var", "disk=\"sda\"", "--deadline-minutes", "30");
    expect(started).toEqual({ stdout: "run 1 started: rocky9 on node01 (pending)\n", stderr: "", code: 0 });
  });

  test("run show lists the pending transition", async () => {
    const shown = await h.cli("run", "show", "1");
    expect(shown.code).toBe(0);
    const out = lines(shown.stdout);
    expect(out.slice(0, 4)).toEqual(["id        1", "machine   node01 (id 1)", "profile   rocky9", "state     pending"]);
    expect(out).toContain('vars      {"disk":"sda"}');
    const table = out.slice(out.indexOf("") + 1);
    expect(table[0]).toMatch(/^AT +FROM → TO +SOURCE +REASON$/);
    expect(table).toHaveLength(2);
    expect(table[1]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z +- → pending +127\.0\.0\.1 +started by token:\S+ \(admin\)$/);
  });

  test("a second provision while one is active: exit 1 saying how to cancel", async () => {
    const again = await h.cli("machine", "provision", "node01");
    expect(again).toEqual({ stdout: "", stderr: "goosed: machine node01 already has run 1 (pending); cancel it first with goosed machine cancel node01\n", code: 1 });
  });

  test("machine cancel ends the run as cancelled", async () => {
    expect(await h.cli("machine", "cancel", "node01")).toEqual({ stdout: "run 1 cancelled: rocky9 on node01\n", stderr: "", code: 0 });
    const run = await h.json<Run>("run", "show", "1");
    expect({ state: run.state, moves: run.transitions.map((t) => [t.from, t.to]) }).toEqual({
      state: "cancelled",
      moves: [
        [null, "pending"],
        ["pending", "cancelled"],
      ],
    });
    expect(await h.cli("machine", "cancel", "node01")).toEqual({ stdout: "", stderr: "goosed: machine node01 has no run in progress\n", code: 1 });
  });

  test("a machine in a group installs the group's profile", async () => {
    expect(await h.cli("machine", "provision", "node02")).toEqual({ stdout: "run 2 started: rocky9 on node02 (pending)\n", stderr: "", code: 0 });
  });

  test("run list filters by machine and state", async () => {
    const byMachine = await h.json<Run[]>("run", "list", "--machine", "52-54-00-00-00-02");
    expect(byMachine.map((r) => [r.id, r.machine.hostname, r.state])).toEqual([[2, "node02", "pending"]]);
    const cancelled = await h.json<Run[]>("run", "list", "--state", "cancelled");
    expect(cancelled.map((r) => r.id)).toEqual([1]);
    const table = await h.cli("run", "list");
    // Ages depend on how long the test took; the cells around them do not.
    expect(lines(table.stdout).map((l) => l.split(/ {2,}/).map((cell) => cell.replace(/^\d+[smhd] ago$/, "ago")))).toEqual([
      ["ID", "MACHINE", "PROFILE", "STATE", "STARTED", "FINISHED", "ERROR"],
      ["2", "node02", "rocky9", "pending", "ago", "-", "-"],
      ["1", "node01", "rocky9", "cancelled", "ago", "ago", "-"],
    ]);
  });

  test("run cancel by id", async () => {
    expect(await h.cli("run", "cancel", "2")).toEqual({ stdout: "run 2 cancelled: rocky9 on node02\n", stderr: "", code: 0 });
  });
});

describe("goosed machine facts", () => {
  test("the newest facts as key lines", async () => {
    expect((await h.cli("machine", "add", "--mac", "52:54:00:00:00:03", "--hostname", "node03")).code).toBe(0);
    expect((await h.cli("machine", "provision", "node03", "--profile", "rocky9")).code).toBe(0);
    await reportFacts(h, "52:54:00:00:00:03", {
      hostname: "node03.lab",
      os: { name: "Rocky Linux", version: "9.4", kernel: "5.14.0-427.el9.x86_64", arch: "x86_64" },
      cpu: { model: "AMD EPYC 7302P", cores: 16, threads: 32 },
      memoryBytes: String(64 * 2 ** 30),
      disks: [{ name: "nvme0n1", sizeBytes: String(960 * 2 ** 30), model: "Samsung PM983", type: "disk" }],
      interfaces: [{ name: "eno1", mac: "52:54:00:00:00:03", addresses: ["10.0.0.13/24"], state: "up" }],
    });
    const shown = await h.cli("machine", "facts", "node03");
    expect(shown.code).toBe(0);
    expect(lines(shown.stdout).slice(1)).toEqual([
      "hostname  node03.lab",
      "os        Rocky Linux 9.4 (kernel 5.14.0-427.el9.x86_64, x86_64)",
      "cpu       AMD EPYC 7302P 16 cores 32 threads",
      "memory    64.0 GiB",
      "disk      nvme0n1 960.0 GiB disk Samsung PM983",
      "interface eno1 52:54:00:00:00:03 up 10.0.0.13/24",
    ]);
    expect(lines(shown.stdout)[0]).toMatch(/^reported  \d{4}-.+Z \(\d+s ago\)$/);
    const json = await h.json<{ at: string; facts: { hostname: string; memory_bytes: string } }>("machine", "facts", "node03");
    expect([json.facts.hostname, json.facts.memory_bytes]).toEqual(["node03.lab", String(64 * 2 ** 30)]);
  });
});

describe("goosed group", () => {
  test("list and show", async () => {
    expect(lines((await h.cli("group", "list")).stdout)).toEqual(["NAME  PROFILE  MACHINES  VARS  DESCRIPTION", "web   rocky9   1         tier  web tier"]);
    expect(await h.json("group", "show", "web")).toEqual({
      id: 1,
      name: "web",
      description: "web tier",
      profile: "rocky9",
      vars: { tier: 1 },
      machines: 1,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
  });

  test("add then remove an empty group", async () => {
    expect(await h.cli("group", "add", "spare")).toEqual({ stdout: "group spare added\n", stderr: "", code: 0 });
    expect(await h.cli("group", "remove", "spare")).toEqual({ stdout: "group spare removed\n", stderr: "", code: 0 });
    expect((await h.cli("group", "show", "spare")).code).toBe(1);
  });
});
