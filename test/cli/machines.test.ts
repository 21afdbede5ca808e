import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type CliHarness, lines, startCli } from "./harness.ts";

interface Machine {
  id: number;
  hostname: string | null;
  interfaces: Array<{ mac: string; ip: string | null }>;
}

let h: CliHarness;

beforeAll(async () => {
  h = await startCli();
});
afterAll(async () => {
  await h[Symbol.asyncDispose]();
});

const hostnames = async () => (await h.json<Machine[]>("machine", "list")).map((m) => m.hostname);

describe("goosed machine", () => {
  test("add takes MACs in any spelling and stores them canonical", async () => {
    const added = await h.cli(
      "machine", "add",
      "--mac", "52-54-00-AA-00-01",
      "--mac", "5254.00aa.0002",
      "--ip", "10.0.0.11",
      "--hostname", "node01",
      "--boot-policy", "menu",
      "--label", "rack=r1",
      "--label", "role=web",
      "--var", "disk=sda",
      "--var", "count=3",
      "--var", "tags=[\"a\",\"b\"]",
    );
    expect(added).toEqual({ stdout: "machine 1 added: node01 52:54:00:aa:00:01, 52:54:00:aa:00:02\n", stderr: "", code: 0 });

    expect(await h.json("machine", "list")).toEqual([
      {
        id: 1,
        hostname: "node01",
        serial: null,
        arch: null,
        labels: { rack: "r1", role: "web" },
        group: null,
        profile: null,
        state: "ready",
        bootPolicy: "menu",
        vars: { disk: "sda", count: 3, tags: ["a", "b"] },
        interfaces: [
          { mac: "52:54:00:aa:00:01", ip: "10.0.0.11" },
          { mac: "52:54:00:aa:00:02", ip: null },
        ],
        activeRun: null,
        lastSeenAt: null,
        lastSource: null,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      },
    ]);
  });

  test("number-like values stay as typed: a bare MAC with leading zeros, a serial 000123", async () => {
    const machine = await h.json<Machine & { serial: string }>("machine", "add", "--mac", "001122334455", "--serial", "000123", "--hostname", "node09");
    expect({ serial: machine.serial, interfaces: machine.interfaces }).toEqual({ serial: "000123", interfaces: [{ mac: "00:11:22:33:44:55", ip: null }] });
  });

  test("show finds a machine by a MAC in another spelling", async () => {
    const shown = await h.cli("machine", "show", "5254.00AA.0002");
    expect(shown.code).toBe(0);
    expect(lines(shown.stdout).filter((l) => !/^(created|updated) /.test(l))).toEqual([
      "id          1",
      "hostname    node01",
      "state       ready",
      "serial      -",
      "arch        -",
      "group       -",
      "profile     -",
      "boot policy menu",
      "labels      rack=r1, role=web",
      'vars        {"disk":"sda","count":3,"tags":["a","b"]}',
      "interface   52:54:00:aa:00:01 10.0.0.11",
      "interface   52:54:00:aa:00:02",
      "active run  -",
      "last seen   -",
    ]);
  });

  test("a MAC another machine has: exit 1, one stderr line naming the owner", async () => {
    const taken = await h.cli("machine", "add", "--mac", "52:54:00:aa:00:02", "--hostname", "node02");
    expect(taken.code).toBe(1);
    expect(taken.stdout).toBe("");
    expect(lines(taken.stderr)).toHaveLength(1);
    expect(taken.stderr).toStartWith("goosed: ");
    expect(taken.stderr).toContain("MAC 52:54:00:aa:00:02 belongs to machine 1 (node01)");
  });

  test("import of a CSV with two bad rows names both lines and imports nothing", async () => {
    const csv = h.file(
      "bad.csv",
      ["hostname,mac,ip,labels", "node11,52:54:00:00:01:11,10.0.1.11,rack=r2", "bad_name,52:54:00:00:01:12,,", "node13,not-a-mac,,", "node14,52:54:00:00:01:14,,"].join("\n"),
    );
    const result = await h.cli("machine", "import", csv);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(lines(result.stderr)).toEqual([
      "goosed: 2 of 4 row(s) are bad; nothing was imported",
      '  line 3: hostname: "bad_name" is not a valid host name (letters, digits, hyphens, dots)',
      '  line 4: interfaces/0/mac: "not-a-mac" is not a MAC address; write it as aa:bb:cc:dd:ee:ff, AA-BB-CC-DD-EE-FF, aabb.ccdd.eeff or aabbccddeeff',
    ]);
    expect(await hostnames()).toEqual(["node09", "node01"]);
  });

  const goodCsv = () =>
    h.file(
      "good.csv",
      ["hostname,mac,ip,labels", "node11,52:54:00:00:01:11,10.0.1.11,rack=r2", "node12,52:54:00:00:01:12 52:54:00:00:02:12,,rack=r2;role=db", "node13,52-54-00-00-01-13,,"].join(
        "\n",
      ),
    );

  test("--dry-run of a good CSV checks every row and imports nothing", async () => {
    const result = await h.cli("machine", "import", goodCsv(), "--dry-run");
    expect(result).toEqual({ stdout: "3 rows checked, nothing imported (dry run)\n", stderr: "", code: 0 });
    expect(await hostnames()).toEqual(["node09", "node01"]);
  });

  test("import of the good CSV creates every row", async () => {
    const result = await h.cli("machine", "import", goodCsv());
    expect(result).toEqual({ stdout: "imported 3 machines\n", stderr: "", code: 0 });
    expect(await hostnames()).toEqual(["node13", "node12", "node11", "node09", "node01"]);
    expect((await h.json<Machine[]>("machine", "list", "--label", "role=db")).map((m) => [m.hostname, m.interfaces.map((i) => i.mac)])).toEqual([
      ["node12", ["52:54:00:00:01:12", "52:54:00:00:02:12"]],
    ]);
  });

  test("a JSON file is read as JSON by its extension", async () => {
    const file = h.file("more.json", JSON.stringify([{ hostname: "node21", interfaces: [{ mac: "52:54:00:00:02:21" }] }]));
    expect(await h.cli("machine", "import", file)).toEqual({ stdout: "imported 1 machines\n", stderr: "", code: 0 });
  });

  test("list prints a table for people", async () => {
    const table = await h.cli("machine", "list", "--limit", "2");
    expect(table.code).toBe(0);
    expect(lines(table.stdout)).toEqual([
      "ID  HOSTNAME  STATE  MACS               GROUP  PROFILE  RUN  LAST SEEN",
      "6   node21    ready  52:54:00:00:02:21  -      -        -    -",
      "5   node13    ready  52:54:00:00:01:13  -      -        -    -",
    ]);
    expect(table.stderr).toBe("showing the newest 2; pass --limit to see more\n");
  });

  test("facts before any agent reported: no facts yet", async () => {
    expect(await h.cli("machine", "facts", "node01")).toEqual({ stdout: "no facts yet\n", stderr: "", code: 0 });
  });

  test("retire frees the machine's MACs", async () => {
    expect(await h.cli("machine", "retire", "node13")).toEqual({ stdout: "machine 5 (node13) retired; its MACs are free\n", stderr: "", code: 0 });
    const again = await h.json<Machine>("machine", "add", "--mac", "52:54:00:00:01:13");
    expect(again.interfaces).toEqual([{ mac: "52:54:00:00:01:13", ip: null }]);
  });

  test("set changes only what it is given; '' clears a field", async () => {
    expect((await h.cli("group", "add", "edge")).code).toBe(0);
    expect(await h.cli("machine", "set", "node01", "--group", "edge", "--serial", "SN-9")).toEqual({ stdout: "machine 1 changed: node01\n", stderr: "", code: 0 });
    const changed = await h.json<Machine & { group: string | null; serial: string | null; bootPolicy: string | null; labels: Record<string, string> }>("machine", "show", "node01");
    expect({ group: changed.group, serial: changed.serial, bootPolicy: changed.bootPolicy, labels: changed.labels, macs: changed.interfaces.length }).toEqual({
      group: "edge",
      serial: "SN-9",
      bootPolicy: "menu",
      labels: { rack: "r1", role: "web" },
      macs: 2,
    });
    expect((await h.cli("machine", "set", "node01", "--group", "", "--boot-policy", "")).code).toBe(0);
    const cleared = await h.json<{ group: string | null; bootPolicy: string | null; serial: string | null }>("machine", "show", "node01");
    expect({ group: cleared.group, bootPolicy: cleared.bootPolicy, serial: cleared.serial }).toEqual({ group: null, bootPolicy: null, serial: "SN-9" });
  });

  test("set with nothing to change is a usage error", async () => {
    expect(await h.cli("machine", "set", "node01")).toEqual({
      stdout: "",
      stderr: "goosed: nothing to change; give at least one option\nsee goosed machine set --help\n",
      code: 2,
    });
  });

  test("an unknown machine: exit 1 with the API's detail", async () => {
    expect(await h.cli("machine", "show", "nosuch")).toEqual({ stdout: "", stderr: "goosed: no machine with id nosuch\n", code: 1 });
  });
});
