// The agent protocol over real HTTP against a real goosed: a run's installer token (from the real boot flow) is
// traded for an agent token, facts arrive as JSON or binary protobuf, heartbeats, token rotation, refusals, and
// facts that end a run. Last-seen resolution is driven on an in-process core whose clock the test holds.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { AgentEndpoint, FactsRequestSchema, FactsResponseSchema } from "../../src/agents/index.ts";
import { AgentService, SYSTEM_ACTOR } from "../../src/core/index.ts";
import { insertMachineToken } from "../../src/core/machine-tokens.ts";
import { openTestCore } from "../support/core.ts";
import { api, type RunningGoosed, startGoosed, tempDir } from "../support/goosed.ts";
import { json, problem, text } from "../support/http.ts";

const AGENT_TOKEN = /^ga_[0-9a-f]{16}_[0-9a-f]{32}$/;
const PROTOBUF = "application/x-protobuf";

const dir = tempDir();
let goosed: RunningGoosed;

beforeAll(async () => {
  goosed = await startGoosed({ dataDir: dir.path });
  await json(api(goosed, "/v1/profiles", { body: { name: "rocky9", osFamily: "rhel", kernel: "rocky9/vmlinuz", initrd: ["rocky9/initrd.img"] } }), 201);
});

afterAll(async () => {
  expect(await goosed.stop()).toBe(0);
  await dir[Symbol.asyncDispose]();
});

/** A machine with a provisioned run, booted through boot.ipxe and install.ipxe: its run's installer token. */
async function bootedMachine(hostname: string, mac: string) {
  const machine = await json(api(goosed, "/v1/machines", { body: { hostname, profile: "rocky9", interfaces: [{ mac }] } }), 201);
  const run = await json(api(goosed, `/v1/machines/${hostname}/provision`, { body: {} }), 201);
  const script = await text(`${goosed.url}/boot/boot.ipxe?mac=${mac}&arch=x86_64`);
  const bootToken = /\/boot\/install\.ipxe\?mac=\$\{mac\}&token=(gb_[0-9a-f_]+)/.exec(script)![1]!;
  const install = await text(`${goosed.url}/boot/install.ipxe?mac=${mac}&token=${bootToken}`);
  const installer = /inst\.ks=\S+\?token=(gi_[0-9a-f_]+)/.exec(install)![1]!;
  return { machine, run, installer };
}

/** POST to an agent endpoint with a JSON body (or none). */
function agentJson(path: string, token: string | null, body?: unknown) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  return fetch(`${goosed.url}${path}`, { method: "POST", headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

const tokenId = (token: string) => token.split("_")[1]!;

async function refusals(token: string) {
  const { items } = await json(api(goosed, `/v1/audit?action=token.refused&object=token:${tokenId(token)}`), 200);
  return items.map((i: { details: unknown }) => i.details);
}

async function auditOf(query: string) {
  return (await json(api(goosed, `/v1/audit?${query}`), 200)).items as Array<Record<string, any>>;
}

describe("one agent's life", () => {
  let machineId = 0;
  let runId = 0;
  let installer = "";
  let agentToken = "";
  let firstFactsAt = "";

  beforeAll(async () => {
    const booted = await bootedMachine("agent01", "52:54:00:31:00:01");
    machineId = booted.machine.id;
    runId = booted.run.id;
    installer = booted.installer;
  });

  test("enroll with JSON trades the installer token for an agent token, audited", async () => {
    const response = await agentJson(AgentEndpoint.Enroll, installer, { hostname: "agent01", machine_id: "0123456789abcdef", agent_version: "1.0.0" });
    expect(response.headers.get("content-type")).toBe("application/json");
    const enrolled = await json(response, 200);
    expect(enrolled).toEqual({ agent_token: expect.stringMatching(AGENT_TOKEN), machine: String(machineId), refresh_after_seconds: 86_400, heartbeat_seconds: 900 });
    agentToken = enrolled.agent_token;
    expect((await auditOf(`action=agent.enroll&object=machine:${machineId}`)).map((r) => ({ actor: r.actor, details: r.details, source: r.source }))).toEqual([
      { actor: `agent:machine:${machineId}`, details: { run: runId }, source: "127.0.0.1" },
    ]);
    const machine = await json(api(goosed, "/v1/machines/agent01"), 200);
    expect({ lastSource: machine.lastSource, seen: typeof machine.lastSeenAt }).toEqual({ lastSource: "127.0.0.1", seen: "string" });
  });

  test("facts posted as binary protobuf get a binary FactsResponse that decodes, and are stored as JSON", async () => {
    const request = create(FactsRequestSchema, {
      facts: {
        hostname: "agent01",
        machineId: "0123456789abcdef",
        os: { name: "Rocky Linux", version: "9.4", kernel: "5.14.0-427.el9.x86_64", arch: "x86_64" },
        cpu: { model: "QEMU Virtual CPU", cores: 2, threads: 4 },
        memoryBytes: 8_589_934_592n,
        disks: [{ name: "vda", sizeBytes: 21_474_836_480n, type: "disk" }],
        bootMode: "uefi",
        uptimeSeconds: 120n,
        agentVersion: "1.0.0",
      },
    });
    const response = await fetch(`${goosed.url}${AgentEndpoint.Facts}`, {
      method: "POST",
      headers: { authorization: `Bearer ${agentToken}`, "content-type": PROTOBUF, accept: PROTOBUF },
      body: toBinary(FactsRequestSchema, request),
    });
    expect({ status: response.status, type: response.headers.get("content-type") }).toEqual({ status: 200, type: PROTOBUF });
    const reply = fromBinary(FactsResponseSchema, new Uint8Array(await response.arrayBuffer()));
    expect(reply).toEqual(create(FactsResponseSchema, { runState: "booting", machine: BigInt(machineId) }));

    const stored = await json(api(goosed, "/v1/machines/agent01/facts"), 200);
    firstFactsAt = stored.at;
    expect(stored).toEqual({
      at: expect.any(String),
      facts: {
        hostname: "agent01",
        machine_id: "0123456789abcdef",
        os: { name: "Rocky Linux", version: "9.4", kernel: "5.14.0-427.el9.x86_64", arch: "x86_64" },
        cpu: { model: "QEMU Virtual CPU", cores: 2, threads: 4 },
        memory_bytes: "8589934592",
        disks: [{ name: "vda", size_bytes: "21474836480", model: "", serial: "", rotational: false, type: "disk" }],
        interfaces: [],
        boot_mode: "uefi",
        uptime_seconds: "120",
        agent_version: "1.0.0",
      },
    });
    // The first snapshot changes every key from nothing, except the one that changes on every report.
    const [audit] = await auditOf(`action=machine.facts&object=machine:${machineId}`);
    expect(Object.keys(audit!.details.changes).sort()).toEqual(
      ["hostname", "machine_id", "os", "cpu", "memory_bytes", "disks", "interfaces", "boot_mode", "agent_version"].sort(),
    );
  });

  test("a second snapshot with a changed hostname audits exactly the changed top-level keys, never uptime_seconds", async () => {
    const before = (await json(api(goosed, "/v1/machines/agent01/facts"), 200)).facts;
    const facts = { ...before, hostname: "agent01.lab", uptime_seconds: "4000", cpu: { ...before.cpu } };
    const reply = await json(agentJson(AgentEndpoint.Facts, agentToken, { facts }), 200);
    expect(reply).toEqual({ run_state: "booting", machine: String(machineId) });
    const rows = await auditOf(`action=machine.facts&object=machine:${machineId}`);
    expect(rows.length).toBe(2);
    expect(rows[0]!.details).toEqual({ changes: { hostname: { from: "agent01", to: "agent01.lab" } } });
    expect(rows[0]!.actor).toBe(`agent:machine:${machineId}`);
    const stored = await json(api(goosed, "/v1/machines/agent01/facts"), 200);
    expect(stored.facts).toEqual(facts);
    expect(Date.parse(stored.at)).toBeGreaterThanOrEqual(Date.parse(firstFactsAt));
  });

  test("a snapshot where only uptime_seconds changed writes no audit row", async () => {
    const before = (await json(api(goosed, "/v1/machines/agent01/facts"), 200)).facts;
    await json(agentJson(AgentEndpoint.Facts, agentToken, { facts: { ...before, uptime_seconds: "5000" } }), 200);
    expect((await auditOf(`action=machine.facts&object=machine:${machineId}`)).length).toBe(2);
  });

  test("a heartbeat is answered with the heartbeat interval and keeps the machine's last-seen time", async () => {
    const before = await json(api(goosed, "/v1/machines/agent01"), 200);
    const reply = await json(agentJson(AgentEndpoint.Heartbeat, agentToken, { uptime_seconds: "5100", agent_version: "1.0.0" }), 200);
    expect(reply).toEqual({ heartbeat_seconds: 900 });
    const after = await json(api(goosed, "/v1/machines/agent01"), 200);
    expect(Date.parse(after.lastSeenAt)).toBeGreaterThanOrEqual(Date.parse(before.lastSeenAt));
    expect(after.lastSource).toBe("127.0.0.1");
  });

  test("token refresh: the new token works, the old one is refused 401 at once and the refusal is audited", async () => {
    const old = agentToken;
    const refreshed = await json(agentJson(AgentEndpoint.TokenRefresh, old), 200);
    expect(refreshed).toEqual({ agent_token: expect.stringMatching(AGENT_TOKEN), refresh_after_seconds: 86_400 });
    expect(refreshed.agent_token).not.toBe(old);
    agentToken = refreshed.agent_token;

    expect(await json(agentJson(AgentEndpoint.Heartbeat, agentToken, {}), 200)).toEqual({ heartbeat_seconds: 900 });
    const refused = await problem(agentJson(AgentEndpoint.Heartbeat, old, {}), 401);
    expect(refused).toEqual({
      type: "/problems/token-invalid",
      title: "Token not accepted",
      status: 401,
      detail: "this agent token was replaced or revoked",
      instance: AgentEndpoint.Heartbeat,
      requestId: expect.any(String),
    });
    await problem(agentJson(AgentEndpoint.TokenRefresh, old), 401);
    expect(await refusals(old)).toEqual([
      { kind: "agent", reason: "revoked", request: "POST /v1/agents/token/refresh" },
      { kind: "agent", reason: "revoked", request: "POST /v1/agents/heartbeat" },
    ]);
    expect((await auditOf(`action=agent.token.refresh&object=machine:${machineId}`)).map((r) => r.details)).toEqual([{ replaced: tokenId(old) }]);
  });

  const unknownFields = [
    { name: "enroll", path: AgentEndpoint.Enroll, token: () => installer, body: { hostname: "agent01", host_name: "x" }, field: "host_name" },
    { name: "facts", path: AgentEndpoint.Facts, token: () => agentToken, body: { facts: { hostname: "agent01" }, postinstall: true }, field: "postinstall" },
    { name: "facts, nested", path: AgentEndpoint.Facts, token: () => agentToken, body: { facts: { hostname: "agent01", ram: 1 } }, field: "ram" },
    { name: "heartbeat", path: AgentEndpoint.Heartbeat, token: () => agentToken, body: { uptime_seconds: 1, uptime: 1 }, field: "uptime" },
    { name: "token refresh", path: AgentEndpoint.TokenRefresh, token: () => agentToken, body: { agent_token: "x" }, field: "agent_token" },
  ];
  test.each(unknownFields)("an unknown JSON field on $name is 400 problem naming it", async ({ path, token, body, field }) => {
    const refused = await problem(agentJson(path, token(), body), 400);
    expect({ type: refused.type, instance: refused.instance }).toEqual({ type: "/problems/malformed-agent-message", instance: path });
    expect(refused.detail).toContain(`"${field}"`);
    // Nothing happened: the agent token still works (a refresh would have replaced it).
    expect(await json(agentJson(AgentEndpoint.Heartbeat, agentToken, {}), 200)).toEqual({ heartbeat_seconds: 900 });
  });

  test("an installer token used as an agent token is refused 401 and audited", async () => {
    const refused = await problem(agentJson(AgentEndpoint.Heartbeat, installer, {}), 401);
    expect({ type: refused.type, detail: refused.detail }).toEqual({
      type: "/problems/token-invalid",
      detail: expect.stringMatching(/installer token cannot be used where an? agent token is needed/),
    });
    await problem(agentJson(AgentEndpoint.Facts, installer, { facts: { hostname: "x" } }), 401);
    expect(await refusals(installer)).toEqual([
      { kind: "agent", reason: "wrong-kind", request: "POST /v1/agents/facts" },
      { kind: "agent", reason: "wrong-kind", request: "POST /v1/agents/heartbeat" },
    ]);
  });

  test("an agent token cannot enroll, and no token or an API token is 401", async () => {
    await problem(agentJson(AgentEndpoint.Enroll, agentToken, {}), 401);
    expect((await problem(agentJson(AgentEndpoint.Heartbeat, null, {}), 401)).type).toBe("/problems/unauthorized");
    expect((await problem(agentJson(AgentEndpoint.Heartbeat, goosed.token, {}), 401)).detail).toBe("that is not a goosed agent token");
  });

  test("postinstall_done ends the run succeeded; the installer token then no longer enrolls", async () => {
    const reply = await json(agentJson(AgentEndpoint.Facts, agentToken, { facts: { hostname: "agent01.lab" }, postinstall_done: true }), 200);
    expect(reply).toEqual({ run_state: "succeeded", machine: String(machineId) });
    expect(await json(api(goosed, "/v1/machines/agent01"), 200)).toMatchObject({ state: "provisioned", activeRun: null });
    expect((await problem(agentJson(AgentEndpoint.Enroll, installer, {}), 403)).detail).toBe(`run ${runId} ended succeeded; its tokens no longer work`);
    // The agent keeps its identity after the run.
    expect(await json(agentJson(AgentEndpoint.Heartbeat, agentToken, {}), 200)).toEqual({ heartbeat_seconds: 900 });
  });

  test("the old system's agent cannot end a reinstall run that has not booted yet", async () => {
    // The machine is to be reinstalled; until it reboots into the installer, its old system's agent keeps reporting.
    const next = await json(api(goosed, "/v1/machines/agent01/provision", { body: {} }), 201);
    const reply = await json(agentJson(AgentEndpoint.Facts, agentToken, { facts: { hostname: "agent01.lab" }, postinstall_done: true }), 200);
    expect(reply).toEqual({ run_state: "pending", machine: String(machineId) });
    expect((await json(api(goosed, `/v1/runs/${next.id}`), 200)).state).toBe("pending");
    expect(await json(api(goosed, "/v1/machines/agent01"), 200)).toMatchObject({ state: "provisioning", activeRun: { id: next.id, state: "pending" } });
  });
});

describe("an agent reporting failure", () => {
  test("facts with failed and failure_reason on a fresh run fail the run with that error, and the machine", async () => {
    const { machine, run, installer } = await bootedMachine("agent02", "52:54:00:31:00:02");
    const { agent_token } = await json(agentJson(AgentEndpoint.Enroll, installer, { hostname: "agent02" }), 200);
    const reply = await json(agentJson(AgentEndpoint.Facts, agent_token, { facts: { hostname: "agent02" }, failed: true, failure_reason: "disk full" }), 200);
    expect(reply).toEqual({ run_state: "failed", machine: String(machine.id) });

    const ended = await json(api(goosed, `/v1/runs/${run.id}`), 200);
    expect({ state: ended.state, error: ended.error, finished: typeof ended.finishedAt, last: ended.transitions.at(-1) }).toEqual({
      state: "failed",
      error: "disk full",
      finished: "string",
      last: { at: ended.finishedAt, from: "booting", to: "failed", source: "127.0.0.1", reason: "agent reported failure: disk full" },
    });
    expect(await json(api(goosed, "/v1/machines/agent02"), 200)).toMatchObject({ state: "failed", activeRun: null });
    // A later report does not move the ended run.
    expect(await json(agentJson(AgentEndpoint.Facts, agent_token, { facts: { hostname: "agent02" }, postinstall_done: true }), 200)).toEqual({
      run_state: "failed",
      machine: String(machine.id),
    });
  });

  test("failed without a reason still fails the run, with a reason that says so", async () => {
    const { run, installer } = await bootedMachine("agent03", "52:54:00:31:00:03");
    const { agent_token } = await json(agentJson(AgentEndpoint.Enroll, installer, {}), 200);
    await json(agentJson(AgentEndpoint.Facts, agent_token, { failed: true }), 200);
    expect(await json(api(goosed, `/v1/runs/${run.id}`), 200)).toMatchObject({ state: "failed", error: "no reason given" });
  });
});

describe("last seen, on a core whose clock the test holds", () => {
  test("a heartbeat moves lastSeenAt once a minute has passed since the machine was last seen, not before", async () => {
    await using t = openTestCore();
    const startMs = Date.UTC(2030, 0, 1, 8, 0, 0);
    let clockMs = startMs;
    const agents = new AgentService({
      db: t.core.store.db,
      bus: t.core.bus,
      runs: t.core.runs,
      bootPath: t.core.bootPath,
      settings: t.config.agents,
      now: () => clockMs,
    });
    t.core.profiles.create({ name: "p", osFamily: "rhel", kernel: "k" }, SYSTEM_ACTOR);
    const machine = t.core.machines.create({ hostname: "seen01", profile: "p", interfaces: [{ mac: "52:54:00:32:00:01" }] }, SYSTEM_ACTOR);
    const run = t.core.runs.provision("seen01", {}, SYSTEM_ACTOR);
    const installer = insertMachineToken(t.core.store.db, "installer", { machineId: machine.id, runId: run.id, mac: null, expiresAt: null }, startMs);

    const { agentToken } = agents.enroll(installer, "192.0.2.10");
    const seen = () => {
      const m = t.core.machines.get("seen01");
      return { lastSeenAt: m.lastSeenAt, lastSource: m.lastSource };
    };
    expect(seen()).toEqual({ lastSeenAt: startMs, lastSource: "192.0.2.10" });

    clockMs = startMs + 30_000;
    agents.heartbeat(agentToken, "192.0.2.11");
    expect(seen()).toEqual({ lastSeenAt: startMs, lastSource: "192.0.2.10" });

    clockMs = startMs + 61_000;
    agents.heartbeat(agentToken, "192.0.2.12");
    expect(seen()).toEqual({ lastSeenAt: startMs + 61_000, lastSource: "192.0.2.12" });

    clockMs = startMs + 3_600_000;
    agents.heartbeat(agentToken, "192.0.2.12");
    expect(seen()).toEqual({ lastSeenAt: startMs + 3_600_000, lastSource: "192.0.2.12" });
  });
});
