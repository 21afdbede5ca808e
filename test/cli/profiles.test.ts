import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type CliHarness, lines, startCli } from "./harness.ts";

let h: CliHarness;

beforeAll(async () => {
  h = await startCli();
});
afterAll(async () => {
  await h[Symbol.asyncDispose]();
});

describe("goosed profile", () => {
  test("add from options", async () => {
    const added = await h.cli("profile", "add", "rocky9", "--os", "rhel", "--kernel", "rocky9/vmlinuz", "--initrd", "rocky9/initrd.img", "--install", "kickstart");
    expect(added).toEqual({ stdout: "profile rocky9 added (rhel, install kickstart)\n", stderr: "", code: 0 });
    expect(await h.json("profile", "show", "rocky9")).toEqual({
      id: 1,
      name: "rocky9",
      description: "",
      osFamily: "rhel",
      kernel: "rocky9/vmlinuz",
      initrd: ["rocky9/initrd.img"],
      artifacts: {},
      cmdline: null,
      installTemplate: "kickstart",
      templates: {},
      vars: {},
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
  });

  test("a template that does not render: exit 1 naming the template and its line", async () => {
    const ks = h.file("broken.ks", "text\nlang en_US.UTF-8\nrootpw {{ vars.nope }}\n");
    const result = await h.cli("profile", "add", "broken", "--os", "rhel", "--kernel", "rocky9/vmlinuz", "--install", "kickstart", "--template", `kickstart=${ks}`);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(lines(result.stderr)).toHaveLength(1);
    expect(result.stderr).toContain("kickstart");
    expect(result.stderr).toContain("line 3");
    expect((await h.json<Array<{ name: string }>>("profile", "list")).map((p) => p.name)).toEqual(["rocky9"]);
  });

  test("a --template file that cannot be read names the file", async () => {
    const result = await h.cli("profile", "add", "nofile", "--os", "rhel", "--kernel", "k/vmlinuz", "--template", "kickstart=/nonexistent/ks.cfg");
    expect(result).toEqual({ stdout: "", stderr: "goosed: cannot read template kickstart: /nonexistent/ks.cfg (ENOENT)\n", code: 1 });
  });

  test("render prints what one machine gets from the profile's own template", async () => {
    const ks = h.file("tiny.ks", "text\n# {{ machine.hostname }} {{ machine.mac }} {{ vars.answer }}\n");
    const added = await h.cli("profile", "add", "tiny", "--os", "rhel", "--kernel", "k/vmlinuz", "--install", "kickstart", "--template", `kickstart=${ks}`, "--var", "answer=42");
    expect(added.code).toBe(0);
    expect((await h.cli("machine", "add", "--mac", "52:54:00:00:00:01", "--hostname", "node01")).code).toBe(0);
    const rendered = await h.cli("profile", "render", "tiny", "--machine", "52-54-00-00-00-01", "--template", "kickstart");
    expect(rendered).toEqual({ stdout: "text\n# node01 52:54:00:00:00:01 42\n", stderr: "", code: 0 });
  });

  test("add --file reads a YAML profile in the API's shape", async () => {
    const file = h.file(
      "deb12.yaml",
      ["name: deb12", "osFamily: debian", "kernel: debian12/linux", "initrd: [debian12/initrd.gz]", "installTemplate: preseed", "description: Debian 12 servers", "vars:", "  locale: en_GB.UTF-8"].join("\n"),
    );
    expect(await h.cli("profile", "add", "--file", file)).toEqual({ stdout: "profile deb12 added (debian, install preseed)\n", stderr: "", code: 0 });
    const shown = await h.cli("profile", "show", "deb12");
    expect(lines(shown.stdout).filter((l) => !/^(created|updated|id) /.test(l))).toEqual([
      "name        deb12",
      "description Debian 12 servers",
      "os          debian",
      "install     preseed",
      "kernel      debian12/linux",
      "initrd      debian12/initrd.gz",
      "cmdline     (the default for its OS)",
      'vars        {"locale":"en_GB.UTF-8"}',
    ]);
  });

  test("set changes only what it is given, and a template that would break is refused with the profile unchanged", async () => {
    const before = await h.json<Record<string, unknown>>("profile", "show", "deb12");
    expect(await h.cli("profile", "set", "deb12", "--var", "mirror_host=10.0.0.5")).toEqual({
      stdout: "profile deb12 changed (debian, install preseed)\n",
      stderr: "",
      code: 0,
    });
    const after = await h.json<Record<string, unknown>>("profile", "show", "deb12");
    expect(after).toEqual({ ...before, vars: { mirror_host: "10.0.0.5" }, updatedAt: expect.any(String) });

    const broken = h.file("broken.preseed", "d-i foo string {{ vars.nope }}\n");
    const refused = await h.cli("profile", "set", "deb12", "--template", `preseed=${broken}`);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("preseed line 1");
    expect(await h.json("profile", "show", "deb12")).toEqual(after);
  });

  test("set with nothing to change is a usage error", async () => {
    expect(await h.cli("profile", "set", "deb12")).toEqual({
      stdout: "",
      stderr: "goosed: nothing to change; give at least one option or --file\nsee goosed profile set --help\n",
      code: 2,
    });
  });

  test("list prints a table", async () => {
    const table = await h.cli("profile", "list");
    expect(lines(table.stdout)).toEqual([
      "NAME    OS      INSTALL    KERNEL          INITRD              OWN TEMPLATES  DESCRIPTION",
      "deb12   debian  preseed    debian12/linux  debian12/initrd.gz  -              Debian 12 servers",
      "rocky9  rhel    kickstart  rocky9/vmlinuz  rocky9/initrd.img   -              -",
      "tiny    rhel    kickstart  k/vmlinuz       -                   kickstart      -",
    ]);
  });
});
