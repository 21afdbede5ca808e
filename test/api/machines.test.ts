// /v1/machines over real HTTP against a real goosed: MAC spellings and lookups, ownership conflicts, validation,
// scopes, the audit trail of every mutation, all-or-nothing CSV and JSON import, retire, PATCH and list filters.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { api, type RunningGoosed, startGoosed, tempDir } from "../support/goosed.ts";
import { json, problem } from "../support/http.ts";

const MAC_SPELLINGS = "aa:bb:cc:dd:ee:ff, AA-BB-CC-DD-EE-FF, aabb.ccdd.eeff or aabbccddeeff";

const dir = tempDir();
let goosed: RunningGoosed;
let adminActor = "";

beforeAll(async () => {
  goosed = await startGoosed({ dataDir: dir.path });
  const { items } = await json(api(goosed, "/v1/tokens"), 200);
  adminActor = `token:${items[0].id} (${items[0].name})`;
  await json(api(goosed, "/v1/profiles", { body: { name: "rocky9", osFamily: "rhel", kernel: "rocky9/vmlinuz" } }), 201);
  await json(api(goosed, "/v1/groups", { body: { name: "web" } }), 201);
});

afterAll(async () => {
  expect(await goosed.stop()).toBe(0);
  await dir[Symbol.asyncDispose]();
});

async function addMachine(body: Record<string, unknown>) {
  return json(api(goosed, "/v1/machines", { body }), 201);
}

async function auditOf(query: string) {
  return (await json(api(goosed, `/v1/audit?${query}`), 200)).items as Array<Record<string, any>>;
}

async function allHostnames(): Promise<Array<string | null>> {
  return (await json(api(goosed, "/v1/machines?limit=500"), 200)).items.map((m: { hostname: string | null }) => m.hostname);
}

const hostnamesOf = (items: Array<{ hostname: string | null }>) => items.map((m) => m.hostname);

describe("MAC spellings and lookups", () => {
  test("a new machine has exactly this shape, and POST returns what GET returns", async () => {
    const response = await api(goosed, "/v1/machines", {
      body: { hostname: "Shape01", serial: "SN-1", arch: "x86_64", labels: { rack: "r1" }, group: "web", profile: "rocky9", interfaces: [{ mac: "52:54:00:01:00:01", ip: "10.1.0.1" }] },
    });
    const created = await json(response, 201);
    expect(created).toEqual({
      id: expect.any(Number),
      hostname: "shape01",
      serial: "SN-1",
      arch: "x86_64",
      labels: { rack: "r1" },
      group: "web",
      profile: "rocky9",
      state: "ready",
      bootPolicy: null,
      vars: {},
      interfaces: [{ mac: "52:54:00:01:00:01", ip: "10.1.0.1" }],
      activeRun: null,
      lastSeenAt: null,
      lastSource: null,
      createdAt: expect.any(String),
      updatedAt: created.createdAt,
    });
    expect(response.headers.get("location")).toBe(`/v1/machines/${created.id}`);
    expect(await json(api(goosed, `/v1/machines/${created.id}`), 200)).toEqual(created);
  });

  const spellings = [
    { name: "lowercase with colons", spelling: "52:54:00:0a:0b:01", canonical: "52:54:00:0a:0b:01", hostname: "spell-colons" },
    { name: "uppercase with dashes", spelling: "52-54-00-0A-0B-02", canonical: "52:54:00:0a:0b:02", hostname: "spell-dashes" },
    { name: "Cisco dotted quads", spelling: "5254.000A.0b03", canonical: "52:54:00:0a:0b:03", hostname: "spell-dotted" },
    { name: "bare hex", spelling: "5254000A0B04", canonical: "52:54:00:0a:0b:04", hostname: "spell-bare" },
  ];
  test.each(spellings)("$name: stored canonical and found by every spelling, by id and by hostname", async ({ spelling, canonical, hostname }) => {
    const created = await addMachine({ hostname, interfaces: [{ mac: spelling }] });
    expect(created.interfaces).toEqual([{ mac: canonical, ip: null }]);
    const hex = canonical.replaceAll(":", "");
    const refs = [
      canonical,
      canonical.toUpperCase(),
      canonical.replaceAll(":", "-").toUpperCase(),
      canonical.replaceAll(":", "-"),
      `${hex.slice(0, 4)}.${hex.slice(4, 8)}.${hex.slice(8)}`,
      hex,
      hex.toUpperCase(),
      String(created.id),
      hostname,
      hostname.toUpperCase(),
    ];
    for (const ref of refs) expect({ ref, machine: await json(api(goosed, `/v1/machines/${encodeURIComponent(ref)}`), 200) }).toEqual({ ref, machine: created });
  });

  test("an unknown reference is 404 problem+json", async () => {
    const body = await problem(api(goosed, "/v1/machines/52:54:00:ff:ff:ff"), 404);
    expect(body).toEqual({
      type: "/problems/machine-not-found",
      title: "Machine not found",
      status: 404,
      detail: "no machine with id 52:54:00:ff:ff:ff",
      instance: "/v1/machines/52:54:00:ff:ff:ff",
      requestId: expect.any(String),
    });
  });
});

describe("conflicts and validation", () => {
  test("a MAC owned by another machine is 409 problem+json naming the owner's id and hostname; nothing is created", async () => {
    const owner = await addMachine({ hostname: "owner01", interfaces: [{ mac: "52:54:00:02:00:01" }] });
    const body = await problem(api(goosed, "/v1/machines", { body: { hostname: "thief01", interfaces: [{ mac: "5254.0002.0001" }] } }), 409);
    expect(body).toEqual({
      type: "/problems/already-owned",
      title: "Already owned by another machine",
      status: 409,
      detail: `machine was not created: MAC 52:54:00:02:00:01 belongs to machine ${owner.id} (owner01)`,
      instance: "/v1/machines",
      requestId: expect.any(String),
    });
    await problem(api(goosed, "/v1/machines/thief01"), 404);
  });

  test("PATCH that takes another machine's MAC is 409 naming the owner; the machine keeps its MACs", async () => {
    const owner = await addMachine({ hostname: "owner02", interfaces: [{ mac: "52:54:00:02:00:02" }] });
    const other = await addMachine({ hostname: "other02", interfaces: [{ mac: "52:54:00:02:00:03" }] });
    const body = await problem(api(goosed, "/v1/machines/other02", { method: "PATCH", body: { interfaces: [{ mac: "52-54-00-02-00-02" }] } }), 409);
    expect(body.detail).toBe(`machine other02 was not changed: MAC 52:54:00:02:00:02 belongs to machine ${owner.id} (owner02)`);
    expect(await json(api(goosed, "/v1/machines/other02"), 200)).toEqual(other);
  });

  test("a bad MAC and a bad hostname in one body are one 422 naming both fields", async () => {
    const body = await problem(api(goosed, "/v1/machines", { body: { hostname: "bad_host!", interfaces: [{ mac: "52:54:00:zz:00:01" }] } }), 422);
    expect(body).toEqual({
      type: "/problems/validation-failed",
      title: "Validation failed",
      status: 422,
      detail: "machine was not created; see errors",
      instance: "/v1/machines",
      requestId: expect.any(String),
      errors: [
        { path: "/hostname", message: '"bad_host!" is not a valid host name (letters, digits, hyphens, dots)' },
        { path: "/interfaces/0/mac", message: `"52:54:00:zz:00:01" is not a MAC address; write it as ${MAC_SPELLINGS}` },
      ],
    });
  });

  test("an unknown body field is 422 naming it", async () => {
    const body = await problem(api(goosed, "/v1/machines", { body: { hostname: "extra01", macs: ["52:54:00:02:00:09"] } }), 422);
    expect(body.errors).toEqual([{ path: "/macs", message: "Property 'macs' should not be provided" }]);
    await problem(api(goosed, "/v1/machines/extra01"), 404);
  });

  test("one IP on two interfaces of one body is 422 naming the second; nothing is created", async () => {
    const body = await problem(
      api(goosed, "/v1/machines", {
        body: { hostname: "twoip01", interfaces: [{ mac: "52:54:00:02:00:21", ip: "10.2.0.1" }, { mac: "52:54:00:02:00:22", ip: "10.2.0.1" }] },
      }),
      422,
    );
    expect(body.errors.map((e: { path: string }) => e.path)).toEqual(["/interfaces/1/ip"]);
    await problem(api(goosed, "/v1/machines/twoip01"), 404);
  });

  test("an IP reserved for another machine is 409 naming the owner", async () => {
    const owner = await addMachine({ hostname: "ipowner", interfaces: [{ mac: "52:54:00:02:00:23", ip: "10.2.0.2" }] });
    const body = await problem(api(goosed, "/v1/machines", { body: { hostname: "ipthief", interfaces: [{ mac: "52:54:00:02:00:24", ip: "10.2.0.2" }] } }), 409);
    expect(body.detail).toBe(`machine was not created: 10.2.0.2 is reserved for machine ${owner.id}`);
  });

  test("a bootPolicy outside its words is 422 listing them", async () => {
    const body = await problem(api(goosed, "/v1/machines", { body: { hostname: "policy01", bootPolicy: "pxe" } }), 422);
    // The field is nullable: the message names the words as well as null.
    expect(body.errors).toEqual([{ path: "/bootPolicy", message: "expected one of local, menu, profile, null" }]);
  });
});

describe("scopes", () => {
  test("a read-scope token can GET machines but gets 403 on POST, and nothing is created", async () => {
    const { token } = await json(api(goosed, "/v1/tokens", { body: { name: "machine-reader", scopes: ["read"] } }), 201);
    const listed = await json(api(goosed, "/v1/machines", { token }), 200);
    expect(listed.items).toBeArray();
    expect(await json(api(goosed, "/v1/machines/owner01", { token }), 200)).toMatchObject({ hostname: "owner01" });
    const body = await problem(api(goosed, "/v1/machines", { token, body: { hostname: "reader01" } }), 403);
    expect(body.detail).toBe("POST /v1/machines needs the write scope; this token has read");
    await problem(api(goosed, "/v1/machines/owner01/retire", { token, body: {} }), 403);
    await problem(api(goosed, "/v1/machines/reader01"), 404);
    expect((await json(api(goosed, "/v1/machines/owner01"), 200)).state).toBe("ready");
  });
});

describe("the audit trail", () => {
  test("create, update, provision, cancel and retire each write an audit row with actor, source and request id", async () => {
    const createResponse = await api(goosed, "/v1/machines", { body: { hostname: "audit01", interfaces: [{ mac: "52-54-00-03-00-01" }] } });
    const machine = await json(createResponse, 201);
    const updateResponse = await api(goosed, "/v1/machines/audit01", { method: "PATCH", body: { profile: "rocky9" } });
    await json(updateResponse, 200);
    const provisionResponse = await api(goosed, "/v1/machines/audit01/provision", { body: {} });
    const run = await json(provisionResponse, 201);
    const cancelResponse = await api(goosed, "/v1/machines/audit01/cancel", { body: {} });
    await json(cancelResponse, 200);
    const retireResponse = await api(goosed, "/v1/machines/audit01/retire", { body: {} });
    await json(retireResponse, 200);

    const row = (action: string, object: string, response: Response, details: unknown) => ({
      id: expect.any(Number),
      at: expect.any(String),
      actor: adminActor,
      action,
      object,
      details,
      source: "127.0.0.1",
      requestId: response.headers.get("x-request-id"),
    });
    expect(await auditOf(`object=machine:${machine.id}`)).toEqual([
      row("machine.retire", `machine:${machine.id}`, retireResponse, { macs: ["52:54:00:03:00:01"] }),
      row("machine.update", `machine:${machine.id}`, updateResponse, {
        before: { hostname: "audit01", group: null, profile: null, state: "ready", macs: ["52:54:00:03:00:01"] },
        changes: { profile: "rocky9" },
      }),
      row("machine.create", `machine:${machine.id}`, createResponse, { hostname: "audit01", interfaces: [{ mac: "52-54-00-03-00-01" }] }),
    ]);
    expect(await auditOf(`object=run:${run.id}`)).toEqual([
      row("run.cancel", `run:${run.id}`, cancelResponse, {}),
      row("run.create", `run:${run.id}`, provisionResponse, { machine: machine.id, profileId: expect.any(Number), vars: {}, deadlineAt: Date.parse(run.deadlineAt) }),
    ]);
  });

  test("an import writes one audit row naming every machine it created", async () => {
    const content = "hostname,mac\naudit02,52:54:00:03:00:02\naudit03,52:54:00:03:00:03\n";
    const response = await api(goosed, "/v1/machines/import", { body: { format: "csv", content } });
    const result = await json(response, 201);
    const ids = result.machines.map((m: { id: number }) => m.id);
    const rows = await auditOf(`action=machine.import&object=machines:2`);
    expect(rows.find((r) => r.requestId === response.headers.get("x-request-id"))).toEqual({
      id: expect.any(Number),
      at: expect.any(String),
      actor: adminActor,
      action: "machine.import",
      object: "machines:2",
      details: { count: 2, ids },
      source: "127.0.0.1",
      requestId: response.headers.get("x-request-id"),
    });
  });
});

describe("CSV import", () => {
  // Line 1 is the header. Line 3 has a bad MAC; line 5 repeats line 2's MAC (in another spelling) and names a group
  // that does not exist.
  const bad = [
    "hostname,mac,group,labels",
    "csv01,52:54:00:04:00:01,web,rack=r1",
    "csv02,52:54:00:zz:00:02,web,",
    "csv03,52:54:00:04:00:03,,",
    "csv04,52-54-00-04-00-01,nope,",
    "csv05,5254.0004.0005 52:54:00:04:00:06,web,rack=r2;role=db",
    "",
  ].join("\n");
  const good = [
    "hostname,mac,group,labels",
    "csv01,52:54:00:04:00:01,web,rack=r1",
    "csv03,52:54:00:04:00:03,,",
    "csv05,5254.0004.0005 52:54:00:04:00:06,web,rack=r2;role=db",
    "",
  ].join("\n");

  test("a file with 3 good and 2 bad rows is 422 naming every bad line and problem; nothing is imported", async () => {
    const before = await allHostnames();
    const body = await problem(api(goosed, "/v1/machines/import", { body: { format: "csv", content: bad } }), 422);
    expect(body).toEqual({
      type: "/problems/validation-failed",
      title: "Validation failed",
      status: 422,
      detail: "2 of 5 row(s) are bad; nothing was imported",
      instance: "/v1/machines/import",
      requestId: expect.any(String),
      errors: [
        { path: "line 3", message: `interfaces/0/mac: "52:54:00:zz:00:02" is not a MAC address; write it as ${MAC_SPELLINGS}` },
        { path: "line 5", message: "group: no group named nope; create it with goosed group add" },
        { path: "line 5", message: "interfaces: MAC 52:54:00:04:00:01 is also on line 2" },
      ],
    });
    expect(await allHostnames()).toEqual(before);
  });

  test("dryRun on a good file reports the row count and imports nothing", async () => {
    const before = await allHostnames();
    expect(await json(api(goosed, "/v1/machines/import", { body: { format: "csv", content: good, dryRun: true } }), 200)).toEqual({
      dryRun: true,
      rows: 3,
      created: 0,
      machines: [],
    });
    expect(await allHostnames()).toEqual(before);
  });

  test("the real import creates every row with canonical MACs, groups and labels", async () => {
    const result = await json(api(goosed, "/v1/machines/import", { body: { format: "csv", content: good } }), 201);
    expect({ ...result, machines: result.machines.map((m: any) => ({ hostname: m.hostname, group: m.group, labels: m.labels, interfaces: m.interfaces, state: m.state })) }).toEqual({
      dryRun: false,
      rows: 3,
      created: 3,
      machines: [
        { hostname: "csv01", group: "web", labels: { rack: "r1" }, interfaces: [{ mac: "52:54:00:04:00:01", ip: null }], state: "ready" },
        { hostname: "csv03", group: null, labels: {}, interfaces: [{ mac: "52:54:00:04:00:03", ip: null }], state: "ready" },
        {
          hostname: "csv05",
          group: "web",
          labels: { rack: "r2", role: "db" },
          interfaces: [
            { mac: "52:54:00:04:00:05", ip: null },
            { mac: "52:54:00:04:00:06", ip: null },
          ],
          state: "ready",
        },
      ],
    });
    for (const m of result.machines) expect(await json(api(goosed, `/v1/machines/${m.hostname}`), 200)).toEqual(m);
  });

  test("two rows reserving the same IP are 422 naming the second line; nothing is imported", async () => {
    const before = await allHostnames();
    const content = "hostname,mac,ip\ncsvip1,52:54:00:04:00:11,10.4.0.1\ncsvip2,52:54:00:04:00:12,10.4.0.1\n";
    const body = await problem(api(goosed, "/v1/machines/import", { body: { format: "csv", content } }), 422);
    expect(body.detail).toBe("1 of 2 row(s) are bad; nothing was imported");
    expect(body.errors.map((e: { path: string }) => e.path)).toEqual(["line 3"]);
    expect(body.errors[0].message).toContain("10.4.0.1");
    expect(await allHostnames()).toEqual(before);
  });

  test("importing the same file again is 422 naming each line whose MAC and hostname are taken", async () => {
    const body = await problem(api(goosed, "/v1/machines/import", { body: { format: "csv", content: good } }), 422);
    expect(body.detail).toBe("3 of 3 row(s) are bad; nothing was imported");
    expect([...new Set(body.errors.map((e: { path: string }) => e.path))]).toEqual(["line 2", "line 3", "line 4"]);
  });
});

describe("JSON import", () => {
  test("one bad item fails the whole file, naming the item; nothing is imported", async () => {
    const before = await allHostnames();
    const items = [
      { hostname: "json01", interfaces: [{ mac: "52:54:00:05:00:01" }] },
      { hostname: "json02", interfaces: [{ mac: "not-a-mac" }] },
      { hostname: "json03", group: "web", interfaces: [{ mac: "5254.0005.0003" }] },
    ];
    const body = await problem(api(goosed, "/v1/machines/import", { body: { format: "json", content: JSON.stringify(items) } }), 422);
    expect({ detail: body.detail, errors: body.errors }).toEqual({
      detail: "1 of 3 row(s) are bad; nothing was imported",
      errors: [{ path: "item 1", message: `interfaces/0/mac: "not-a-mac" is not a MAC address; write it as ${MAC_SPELLINGS}` }],
    });
    expect(await allHostnames()).toEqual(before);
  });

  test("dryRun then the real import of a good file", async () => {
    const items = [
      { hostname: "json01", interfaces: [{ mac: "52:54:00:05:00:01" }] },
      { hostname: "json03", group: "web", interfaces: [{ mac: "5254.0005.0003" }] },
    ];
    const content = JSON.stringify(items);
    const before = await allHostnames();
    expect(await json(api(goosed, "/v1/machines/import", { body: { format: "json", content, dryRun: true } }), 200)).toEqual({ dryRun: true, rows: 2, created: 0, machines: [] });
    expect(await allHostnames()).toEqual(before);
    const result = await json(api(goosed, "/v1/machines/import", { body: { format: "json", content } }), 201);
    expect(result.machines.map((m: any) => [m.hostname, m.group, m.interfaces])).toEqual([
      ["json01", null, [{ mac: "52:54:00:05:00:01", ip: null }]],
      ["json03", "web", [{ mac: "52:54:00:05:00:03", ip: null }]],
    ]);
  });

  // A JSON item is a machine as POST /v1/machines takes it: the same body schema must judge it.
  const malformed = [
    { name: "an unknown field (macs instead of interfaces)", item: { hostname: "jbad01", macs: ["52:54:00:05:00:11"] }, message: "macs: Unexpected property" },
    {
      name: "a bootPolicy outside local, menu, profile",
      item: { hostname: "jbad02", bootPolicy: "bogus", interfaces: [{ mac: "52:54:00:05:00:12" }] },
      message: "bootPolicy: expected one of local, menu, profile, null",
    },
    { name: "an item that is not an object", item: null, message: expect.stringContaining("Expected object") },
    { name: "interfaces that are not a list", item: { hostname: "jbad04", interfaces: "52:54:00:05:00:14" }, message: "interfaces: Expected array" },
    {
      name: "labels whose values are not strings",
      item: { hostname: "jbad05", labels: { rack: 7 }, interfaces: [{ mac: "52:54:00:05:00:15" }] },
      message: "labels/rack: Expected string",
    },
  ];
  test.each(malformed)("$name is 422 naming item 0 and the field; nothing is imported", async ({ item, message }) => {
    const before = await allHostnames();
    const body = await problem(api(goosed, "/v1/machines/import", { body: { format: "json", content: JSON.stringify([item]) } }), 422);
    expect({ detail: body.detail, errors: body.errors }).toEqual({ detail: "1 of 1 row(s) are bad; nothing was imported", errors: [{ path: "item 0", message }] });
    expect(await allHostnames()).toEqual(before);
  });
});

describe("retire", () => {
  test("retiring frees the machine's MACs and hostname for a new machine; the old record keeps its history", async () => {
    const old = await addMachine({ hostname: "reuse01", interfaces: [{ mac: "52:54:00:06:00:01" }, { mac: "52:54:00:06:00:02" }] });
    const retired = await json(api(goosed, "/v1/machines/reuse01/retire", { body: {} }), 200);
    expect(retired).toEqual({ ...old, state: "retired", interfaces: [], updatedAt: expect.any(String) });

    const byMac = await addMachine({ hostname: "fresh01", interfaces: [{ mac: "52-54-00-06-00-01" }] });
    const byName = await addMachine({ hostname: "reuse01", interfaces: [{ mac: "52:54:00:06:00:03" }] });
    expect((await json(api(goosed, "/v1/machines/52:54:00:06:00:01"), 200)).id).toBe(byMac.id);
    expect((await json(api(goosed, "/v1/machines/reuse01"), 200)).id).toBe(byName.id);
    expect(await json(api(goosed, `/v1/machines/${old.id}`), 200)).toEqual(retired);
    // The second MAC is free as well.
    expect((await addMachine({ interfaces: [{ mac: "5254.0006.0002" }] })).interfaces).toEqual([{ mac: "52:54:00:06:00:02", ip: null }]);
  });

  test("a machine with a run in progress cannot be retired: 409 saying how to cancel", async () => {
    await addMachine({ hostname: "busy01", profile: "rocky9", interfaces: [{ mac: "52:54:00:06:00:10" }] });
    const run = await json(api(goosed, "/v1/machines/busy01/provision", { body: {} }), 201);
    const body = await problem(api(goosed, "/v1/machines/busy01/retire", { body: {} }), 409);
    expect(body.detail).toBe(`machine busy01 has run ${run.id} in progress; cancel it first with goosed machine cancel busy01`);
    expect((await json(api(goosed, "/v1/machines/busy01"), 200)).state).toBe("provisioning");
  });
});

describe("PATCH", () => {
  test("a PATCH that leaves out bootPolicy (and every other field) does not change it", async () => {
    const before = await addMachine({ hostname: "patch01", bootPolicy: "menu", labels: { a: "1" }, group: "web", profile: "rocky9", vars: { x: 1 }, interfaces: [{ mac: "52:54:00:07:00:01" }] });
    const after = await json(api(goosed, "/v1/machines/patch01", { method: "PATCH", body: { labels: { a: "2" } } }), 200);
    expect(after).toEqual({ ...before, labels: { a: "2" }, updatedAt: expect.any(String) });
    expect(await json(api(goosed, "/v1/machines/patch01"), 200)).toEqual(after);
  });

  test("an explicit null clears bootPolicy, group and profile", async () => {
    const before = await addMachine({ hostname: "patch02", bootPolicy: "local", group: "web", profile: "rocky9", interfaces: [{ mac: "52:54:00:07:00:02" }] });
    const after = await json(api(goosed, "/v1/machines/patch02", { method: "PATCH", body: { bootPolicy: null, group: null, profile: null } }), 200);
    expect(after).toEqual({ ...before, bootPolicy: null, group: null, profile: null, updatedAt: expect.any(String) });
  });

  test("interfaces, when given, replace the old list", async () => {
    await addMachine({ hostname: "patch03", interfaces: [{ mac: "52:54:00:07:00:03" }, { mac: "52:54:00:07:00:04" }] });
    const after = await json(api(goosed, "/v1/machines/patch03", { method: "PATCH", body: { interfaces: [{ mac: "52:54:00:07:00:04" }, { mac: "5254.0007.0005" }] } }), 200);
    expect(after.interfaces).toEqual([
      { mac: "52:54:00:07:00:04", ip: null },
      { mac: "52:54:00:07:00:05", ip: null },
    ]);
    await problem(api(goosed, "/v1/machines/52:54:00:07:00:03"), 404);
  });
});

describe("list", () => {
  const ids: Record<string, number> = {};
  beforeAll(async () => {
    await json(api(goosed, "/v1/groups", { body: { name: "listing" } }), 201);
    const add = async (hostname: string, mac: string, extra: Record<string, unknown>) => {
      ids[hostname] = (await addMachine({ hostname, interfaces: [{ mac }], ...extra })).id;
    };
    await add("list01", "52:54:00:08:00:01", { group: "listing", labels: { listtier: "gold" } });
    await add("list02", "52:54:00:08:00:02", { group: "listing", labels: { listtier: "silver" } });
    await add("list03", "52:54:00:08:00:03", { group: "listing", labels: {} });
    await add("list04", "52:54:00:08:00:04", { group: "listing", labels: { listtier: "gold" } });
    await add("list05", "52:54:00:08:00:05", { labels: { listtier: "gold" } });
    await json(api(goosed, "/v1/machines/list04/retire", { body: {} }), 200);
    // Label values may hold '=' (CSV import keeps everything after the first one).
    await add("list06", "52:54:00:08:00:06", { labels: { listurl: "a=b" } });
    await add("list07", "52:54:00:08:00:07", { labels: { listurl: "a" } });
  });

  const filters = [
    { name: "by group, newest first", query: "group=listing", hostnames: ["list04", "list03", "list02", "list01"] },
    { name: "by group and state", query: "group=listing&state=retired", hostnames: ["list04"] },
    { name: "by group and another state", query: "group=listing&state=ready", hostnames: ["list03", "list02", "list01"] },
    { name: "by label key", query: "label=listtier", hostnames: ["list05", "list04", "list02", "list01"] },
    { name: "by label key=value", query: "label=listtier%3Dgold", hostnames: ["list05", "list04", "list01"] },
    { name: "by group and label", query: "group=listing&label=listtier%3Dgold&state=ready", hostnames: ["list01"] },
    { name: "by a group that does not exist", query: "group=no-such-group", hostnames: [] },
    { name: "by label key=value whose value holds '='", query: "label=listurl%3Da%3Db", hostnames: ["list06"] },
  ];
  test.each(filters)("$name", async ({ query, hostnames }) => {
    const page = await json(api(goosed, `/v1/machines?${query}`), 200);
    expect({ hostnames: hostnamesOf(page.items), next: page.next }).toEqual({ hostnames, next: null });
  });

  test("pages follow `next` until it is null", async () => {
    const first = await json(api(goosed, "/v1/machines?group=listing&limit=3"), 200);
    expect({ hostnames: hostnamesOf(first.items), next: first.next }).toEqual({ hostnames: ["list04", "list03", "list02"], next: ids.list02 });
    const second = await json(api(goosed, `/v1/machines?group=listing&limit=3&before=${first.next}`), 200);
    expect({ hostnames: hostnamesOf(second.items), next: second.next }).toEqual({ hostnames: ["list01"], next: null });
  });

  test("a state that does not exist is 422 naming the parameter", async () => {
    const body = await problem(api(goosed, "/v1/machines?state=bogus"), 422);
    expect(body.errors.map((e: { path: string }) => e.path)).toEqual(["/state"]);
  });
});

describe("groups", () => {
  test("a group with a default profile and vars has exactly this shape and counts its machines", async () => {
    const response = await api(goosed, "/v1/groups", { body: { name: "db", description: "databases", profile: "rocky9", vars: { timezone: "UTC" } } });
    const created = await json(response, 201);
    expect(created).toEqual({
      id: expect.any(Number),
      name: "db",
      description: "databases",
      profile: "rocky9",
      vars: { timezone: "UTC" },
      machines: 0,
      createdAt: expect.any(String),
      updatedAt: created.createdAt,
    });
    expect(response.headers.get("location")).toBe("/v1/groups/db");
    await addMachine({ hostname: "db01", group: "db", interfaces: [{ mac: "52:54:00:09:00:01" }] });
    expect(await json(api(goosed, `/v1/groups/${created.id}`), 200)).toEqual({ ...created, machines: 1 });
  });

  test("a group with machines cannot be deleted (409); an empty one can (204)", async () => {
    expect((await problem(api(goosed, "/v1/groups/db", { method: "DELETE" }), 409)).detail).toBe("group db still has 1 machine(s); move them first");
    await json(api(goosed, "/v1/groups", { body: { name: "empty" } }), 201);
    expect((await api(goosed, "/v1/groups/empty", { method: "DELETE" })).status).toBe(204);
    await problem(api(goosed, "/v1/groups/empty"), 404);
  });

  test("a group with a taken name is 409, whether created or renamed; the renamed group keeps its name", async () => {
    await json(api(goosed, "/v1/groups", { body: { name: "blue" } }), 201);
    const green = await json(api(goosed, "/v1/groups", { body: { name: "green" } }), 201);
    await problem(api(goosed, "/v1/groups", { body: { name: "blue" } }), 409);
    await problem(api(goosed, "/v1/groups/green", { method: "PATCH", body: { name: "blue" } }), 409);
    expect(await json(api(goosed, "/v1/groups/green"), 200)).toEqual(green);
  });

  test("a group naming a profile that does not exist is 422", async () => {
    const body = await problem(api(goosed, "/v1/groups", { body: { name: "ghost", profile: "nope" } }), 422);
    expect(body.errors).toEqual([{ path: "/profile", message: "no profile named nope" }]);
  });
});
