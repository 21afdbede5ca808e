// Install runs over real HTTP against a real goosed: which profile a run installs, one active run per machine,
// cancel, transitions with time and source, the run variable layer and the deadline job. The deadline itself is
// driven on an in-process core whose clock the test holds.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Actor, RunService, SYSTEM_ACTOR } from "../../src/core/index.ts";
import { BootChanges } from "../../src/core/boot-changes.ts";
import { openTestCore } from "../support/core.ts";
import { api, type RunningGoosed, startGoosed, tempDir } from "../support/goosed.ts";
import { json, problem, text } from "../support/http.ts";

const dir = tempDir();
let goosed: RunningGoosed;
let adminActor = "";

beforeAll(async () => {
  goosed = await startGoosed({ dataDir: dir.path });
  const { items } = await json(api(goosed, "/v1/tokens"), 200);
  adminActor = `token:${items[0].id} (${items[0].name})`;
  for (const name of ["own", "grouped", "named"]) {
    await json(api(goosed, "/v1/profiles", { body: { name, osFamily: "rhel", kernel: `${name}/vmlinuz`, vars: { timezone: "Europe/Berlin" } } }), 201);
  }
  await json(api(goosed, "/v1/groups", { body: { name: "with-profile", profile: "grouped" } }), 201);
  await json(api(goosed, "/v1/groups", { body: { name: "without-profile" } }), 201);
});

afterAll(async () => {
  expect(await goosed.stop()).toBe(0);
  await dir[Symbol.asyncDispose]();
});

const addMachine = (body: Record<string, unknown>) => json(api(goosed, "/v1/machines", { body }), 201);
const provision = (ref: string, body: Record<string, unknown> = {}) => api(goosed, `/v1/machines/${ref}/provision`, { body });
const machineState = async (ref: string) => (await json(api(goosed, `/v1/machines/${ref}`), 200)).state;

async function runsOf(ref: string) {
  return (await json(api(goosed, `/v1/runs?machine=${ref}`), 200)).items as Array<{ id: number; state: string; profile: string }>;
}

describe("which profile a run installs", () => {
  const cases = [
    { name: "the machine's own profile, over its group's", machine: { profile: "own", group: "with-profile" }, body: {}, profile: "own" },
    { name: "the group's default profile when the machine has none", machine: { group: "with-profile" }, body: {}, profile: "grouped" },
    { name: "the profile the request names, over the machine's", machine: { profile: "own", group: "with-profile" }, body: { profile: "named" }, profile: "named" },
  ];
  test.each(cases.map((c, i) => ({ ...c, i })))("$name", async ({ i, machine, body, profile }) => {
    const created = await addMachine({ hostname: `pick${i}`, interfaces: [{ mac: `52:54:00:21:00:0${i}` }], ...machine });
    const response = await provision(`pick${i}`, body);
    const run = await json(response, 201);
    expect(response.headers.get("location")).toBe(`/v1/runs/${run.id}`);
    expect(run).toEqual({
      id: expect.any(Number),
      machine: { id: created.id, hostname: `pick${i}` },
      profile,
      state: "pending",
      vars: {},
      deadlineAt: expect.any(String),
      error: null,
      createdBy: adminActor,
      createdAt: expect.any(String),
      updatedAt: run.createdAt,
      finishedAt: null,
      transitions: [{ at: run.createdAt, from: null, to: "pending", source: "127.0.0.1", reason: `started by ${adminActor}` }],
    });
    expect(await json(api(goosed, `/v1/machines/pick${i}`), 200)).toMatchObject({ state: "provisioning", activeRun: { id: run.id, state: "pending" } });
  });

  const none = [
    { name: "a machine in no group", machine: { hostname: "orphan1", interfaces: [{ mac: "52:54:00:22:00:01" }] } },
    { name: "a machine whose group has no profile", machine: { hostname: "orphan2", group: "without-profile", interfaces: [{ mac: "52:54:00:22:00:02" }] } },
  ];
  test.each(none)("$name and no profile of its own is 422 no-profile; no run starts", async ({ machine }) => {
    await addMachine(machine);
    const response = await provision(machine.hostname);
    expect(await problem(response, 422)).toEqual({
      type: "/problems/no-profile",
      title: "No profile to install",
      status: 422,
      detail: `machine ${machine.hostname} has no profile and its group has none; pass --profile or set one on the machine or its group`,
      instance: `/v1/machines/${machine.hostname}/provision`,
      requestId: response.headers.get("x-request-id"),
    });
    expect(await machineState(machine.hostname)).toBe("ready");
    expect(await runsOf(machine.hostname)).toEqual([]);
  });

  test("a named profile that does not exist is 422 naming the field; no run starts", async () => {
    await addMachine({ hostname: "misnamed", profile: "own", interfaces: [{ mac: "52:54:00:22:00:03" }] });
    const body = await problem(provision("misnamed", { profile: "nope" }), 422);
    expect(body.errors).toEqual([{ path: "/profile", message: "no profile named nope; see goosed profile list" }]);
    expect(await runsOf("misnamed")).toEqual([]);
  });

  test("an unknown provision field and a deadline out of range are 422 naming both", async () => {
    await addMachine({ hostname: "badbody", profile: "own", interfaces: [{ mac: "52:54:00:22:00:04" }] });
    const body = await problem(provision("badbody", { deadlineMinutes: 0, profiles: "own" }), 422);
    expect(body.errors.map((e: { path: string }) => e.path).sort()).toEqual(["/deadlineMinutes", "/profiles"]);
    expect(await runsOf("badbody")).toEqual([]);
  });
});

describe("one active run per machine, and cancel", () => {
  test("a second provision is 409 naming the active run and how to cancel it", async () => {
    await addMachine({ hostname: "twice", profile: "own", interfaces: [{ mac: "52:54:00:23:00:01" }] });
    const first = await json(provision("twice"), 201);
    const body = await problem(provision("52-54-00-23-00-01"), 409);
    expect(body).toEqual({
      type: "/problems/run-active",
      title: "Conflict",
      status: 409,
      detail: `machine 52-54-00-23-00-01 already has run ${first.id} (pending); cancel it first with goosed machine cancel 52-54-00-23-00-01`,
      instance: "/v1/machines/52-54-00-23-00-01/provision",
      requestId: expect.any(String),
    });
    expect((await runsOf("twice")).map((r) => r.id)).toEqual([first.id]);
  });

  test("cancel ends the run cancelled and gives a ready machine back its state", async () => {
    await addMachine({ hostname: "cancel1", profile: "own", interfaces: [{ mac: "52:54:00:23:00:02" }] });
    const run = await json(provision("cancel1"), 201);
    const cancelled = await json(api(goosed, "/v1/machines/cancel1/cancel", { body: {} }), 200);
    expect(cancelled).toEqual({
      ...run,
      state: "cancelled",
      updatedAt: expect.any(String),
      finishedAt: cancelled.updatedAt,
      transitions: [...run.transitions, { at: cancelled.finishedAt, from: "pending", to: "cancelled", source: "127.0.0.1", reason: "cancelled" }],
    });
    expect(await json(api(goosed, "/v1/machines/cancel1"), 200)).toMatchObject({ state: "ready", activeRun: null });
    // The machine may be provisioned again at once.
    expect((await json(provision("cancel1"), 201)).state).toBe("pending");
  });

  test("cancel gives a discovered machine back `discovered`, not `ready`", async () => {
    const script = await text(`${goosed.url}/boot/boot.ipxe?mac=52:54:00:23:00:03&arch=x86_64`);
    expect(script).toMatch(/^exit\b/m);
    expect(await machineState("52:54:00:23:00:03")).toBe("discovered");
    const run = await json(provision("52:54:00:23:00:03", { profile: "own" }), 201);
    expect(await machineState("52:54:00:23:00:03")).toBe("provisioning");
    const cancelled = await json(api(goosed, `/v1/runs/${run.id}/cancel`, { body: {} }), 200);
    expect(cancelled.state).toBe("cancelled");
    expect(await machineState("52:54:00:23:00:03")).toBe("discovered");
  });

  test("a retired machine cannot be provisioned: 409", async () => {
    await addMachine({ hostname: "gone", profile: "own", interfaces: [{ mac: "52:54:00:23:00:05" }] });
    await json(api(goosed, "/v1/machines/gone/retire", { body: {} }), 200);
    expect((await problem(provision("gone"), 409)).detail).toBe("machine gone is retired; it cannot be provisioned");
    expect(await runsOf("gone")).toEqual([]);
  });

  test("cancelling a machine with no active run, or a run that ended, is 409", async () => {
    await addMachine({ hostname: "idle", profile: "own", interfaces: [{ mac: "52:54:00:23:00:04" }] });
    expect((await problem(api(goosed, "/v1/machines/idle/cancel", { body: {} }), 409)).detail).toBe("machine idle has no run in progress");
    const run = await json(provision("idle"), 201);
    await json(api(goosed, `/v1/runs/${run.id}/cancel`, { body: {} }), 200);
    expect((await problem(api(goosed, `/v1/runs/${run.id}/cancel`, { body: {} }), 409)).detail).toBe(`run ${run.id}: the run already ended cancelled`);
  });
});

describe("transitions and run variables", () => {
  test("GET /v1/runs/:id lists every transition with its time, source and reason", async () => {
    await addMachine({ hostname: "trail", profile: "own", interfaces: [{ mac: "52:54:00:24:00:01" }] });
    const run = await json(provision("trail"), 201);
    const script = await text(`${goosed.url}/boot/boot.ipxe?mac=52:54:00:24:00:01&arch=x86_64`);
    const bootToken = /token=(gb_[0-9a-f_]+)/.exec(script)![1]!;
    const install = await text(`${goosed.url}/boot/install.ipxe?mac=52:54:00:24:00:01&token=${bootToken}`);
    const installer = /token=(gi_[0-9a-f_]+)/.exec(install)![1]!;
    await text(`${goosed.url}/v1/render/kickstart?token=${installer}`);
    await json(api(goosed, "/v1/machines/trail/cancel", { body: {} }), 200);

    const fetched = await json(api(goosed, `/v1/runs/${run.id}`), 200);
    expect(fetched.transitions).toEqual([
      { at: run.createdAt, from: null, to: "pending", source: "127.0.0.1", reason: `started by ${adminActor}` },
      { at: expect.any(String), from: "pending", to: "booting", source: "127.0.0.1", reason: "boot script served" },
      { at: expect.any(String), from: "booting", to: "installing", source: "127.0.0.1", reason: "install template fetched" },
      { at: fetched.finishedAt, from: "installing", to: "cancelled", source: "127.0.0.1", reason: "cancelled" },
    ]);
    const times = fetched.transitions.map((t: { at: string }) => Date.parse(t.at));
    expect(times.every((t: number) => Number.isFinite(t))).toBe(true);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    // The list leaves transitions out; the run itself is the same.
    const listed = (await json(api(goosed, "/v1/runs?machine=trail"), 200)).items;
    expect(listed).toEqual([{ ...fetched, transitions: [] }]);
  });

  test("a run's vars win over the machine's in the install document", async () => {
    await addMachine({ hostname: "runvars", profile: "own", vars: { timezone: "Asia/Kolkata" }, interfaces: [{ mac: "52:54:00:24:00:02" }] });
    const run = await json(provision("runvars", { vars: { timezone: "Pacific/Auckland" } }), 201);
    expect(run.vars).toEqual({ timezone: "Pacific/Auckland" });
    const script = await text(`${goosed.url}/boot/boot.ipxe?mac=52:54:00:24:00:02`);
    const install = await text(`${goosed.url}/boot/install.ipxe?mac=52:54:00:24:00:02&token=${/token=(gb_[0-9a-f_]+)/.exec(script)![1]}`);
    const kickstart = await text(`${goosed.url}/v1/render/kickstart?token=${/token=(gi_[0-9a-f_]+)/.exec(install)![1]}`);
    expect(kickstart.split("\n").filter((line) => line.startsWith("timezone "))).toEqual(["timezone 'Pacific/Auckland' --utc"]);
  });

  test("an unknown run is 404; a run id that is not a number is 422", async () => {
    expect((await problem(api(goosed, "/v1/runs/999999"), 404)).detail).toBe("no run with id 999999");
    await problem(api(goosed, "/v1/runs/abc"), 422);
  });
});

describe("the deadline job", () => {
  const cases = [
    { name: "the given deadlineMinutes", hostname: "deadline45", body: { deadlineMinutes: 45 }, minutes: 45 },
    { name: "the configured default (120 minutes)", hostname: "deadline-default", body: {}, minutes: 120 },
  ];
  test.each(cases.map((c, i) => ({ ...c, i })))("provisioning enqueues a runs.deadline job due at the deadline: $name", async ({ i, hostname, body, minutes }) => {
    await addMachine({ hostname, profile: "own", interfaces: [{ mac: `52:54:00:25:00:0${i}` }] });
    const run = await json(provision(hostname, body), 201);
    expect(Date.parse(run.deadlineAt) - Date.parse(run.createdAt)).toBe(minutes * 60_000);
    const { items } = await json(api(goosed, "/v1/jobs?type=runs.deadline&limit=500"), 200);
    const jobs = items.filter((j: { payload: { runId: number } }) => j.payload.runId === run.id);
    expect(jobs.map((j: any) => ({ type: j.type, state: j.state, payload: j.payload, runAt: j.runAt, createdBy: j.createdBy }))).toEqual([
      { type: "runs.deadline", state: "queued", payload: { runId: run.id }, runAt: run.deadlineAt, createdBy: adminActor },
    ]);
  });
});

describe("deadline expiry on a core whose clock the test holds", () => {
  const START_MS = Date.UTC(2030, 0, 1, 8, 0, 0);
  const actor: Actor = { id: "test", source: "192.0.2.1" };

  async function setup(hostname: string) {
    const t = openTestCore();
    let clockMs = START_MS;
    const runs = new RunService({
      db: t.core.store.db,
      bus: t.core.bus,
      jobs: t.core.jobs,
      machines: t.core.machines,
      changes: new BootChanges(),
      defaultDeadlineMinutes: 120,
      now: () => clockMs,
    });
    t.core.profiles.create({ name: "p", osFamily: "rhel", kernel: "k" }, SYSTEM_ACTOR);
    t.core.machines.create({ hostname, profile: "p", interfaces: [{ mac: "52:54:00:26:00:01" }] }, SYSTEM_ACTOR);
    const run = runs.provision(hostname, { deadlineMinutes: 30 }, actor);
    return { t, runs, run, setClock: (ms: number) => (clockMs = ms) };
  }

  test("the job is due exactly at the deadline", async () => {
    const { t, run } = await setup("clock0");
    await using _t = t;
    expect(run.deadlineAt).toBe(START_MS + 30 * 60_000);
    expect(t.core.jobs.list({ type: "runs.deadline", limit: 10 }).items.map((j) => ({ runAt: j.runAt, payload: j.payload }))).toEqual([
      { runAt: run.deadlineAt, payload: { runId: run.id } },
    ]);
  });

  const early = [
    { name: "a minute before the deadline", offsetMs: -60_000 },
    { name: "a millisecond before the deadline", offsetMs: -1 },
  ];
  test.each(early)("expire $name does nothing", async ({ offsetMs }) => {
    const { t, runs, run, setClock } = await setup("early");
    await using _t = t;
    setClock(run.deadlineAt + offsetMs);
    expect(runs.expire(run.id)).toBeNull();
    expect(runs.get(run.id)).toEqual(run);
    expect(t.core.machines.get("early").state).toBe("provisioning");
  });

  const states = [
    { name: "pending", events: [] },
    { name: "booting", events: [{ type: "boot-served" }] },
    { name: "installing", events: [{ type: "boot-served" }, { type: "install-fetched" }] },
  ] as const;
  test.each(states)("a run still $name at its deadline fails, and so does its machine", async ({ name, events }) => {
    const { t, runs, run, setClock } = await setup("late");
    await using _t = t;
    t.core.store.db.transaction((tx) => {
      for (const event of events) runs.apply(tx, run.id, event, "192.0.2.1", START_MS);
    });
    setClock(run.deadlineAt);
    expect(runs.expire(run.id)).toBe("failed");
    const ended = runs.get(run.id);
    expect({ state: ended.state, error: ended.error, finishedAt: ended.finishedAt, last: ended.transitions.at(-1) }).toEqual({
      state: "failed",
      error: "the run did not finish before its deadline",
      finishedAt: run.deadlineAt,
      last: { at: run.deadlineAt, from: name, to: "failed", source: null, reason: "deadline passed" },
    });
    expect(t.core.machines.get("late")).toMatchObject({ state: "failed", activeRun: null });
    // A second expiry finds nothing to do.
    setClock(run.deadlineAt + 60_000);
    expect(runs.expire(run.id)).toBeNull();
    expect(runs.get(run.id).transitions.length).toBe(ended.transitions.length);
  });

  test("a run cancelled before its deadline stays cancelled when the deadline job runs", async () => {
    const { t, runs, run, setClock } = await setup("cancelled");
    await using _t = t;
    setClock(START_MS + 60_000);
    runs.cancel(run.id, actor);
    setClock(run.deadlineAt + 1);
    expect(runs.expire(run.id)).toBeNull();
    expect(runs.get(run.id)).toMatchObject({ state: "cancelled", error: null });
    expect(t.core.machines.get("cancelled").state).toBe("ready");
  });
});
