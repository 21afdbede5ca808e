// Usage mistakes exit 2 before any request: the API address points at nothing that listens.
import { describe, expect, test } from "bun:test";
import { runGoosed } from "../support/goosed.ts";

const NOWHERE = ["--api", "http://127.0.0.1:9", "--token", "unused"];

describe("usage errors exit 2 and point at --help", () => {
  test.each([
    ["machine add without --mac", ["machine", "add", "--hostname", "n1"], "give at least one --mac", "machine add"],
    ["an unknown boot policy", ["machine", "add", "--mac", "52:54:00:00:00:01", "--boot-policy", "never"], "--boot-policy must be one of local, menu, profile, got never", "machine add"],
    ["a --var without '='", ["machine", "add", "--mac", "52:54:00:00:00:01", "--var", "novalue"], "--var expects key=value, got novalue", "machine add"],
    [
      "more --ip than --mac",
      ["machine", "add", "--mac", "52:54:00:00:00:01", "--ip", "10.0.0.1", "--ip", "10.0.0.2"],
      "2 --ip for 1 --mac; each --ip goes with the --mac in the same position",
      "machine add",
    ],
    ["--hostname twice", ["machine", "add", "--mac", "52:54:00:00:00:01", "--hostname", "a", "--hostname", "b"], "--hostname may be given once", "machine add"],
    ["an unknown machine state", ["machine", "list", "--state", "bogus"], "--state must be one of discovered, ready, provisioning, provisioned, failed, retired, got bogus", "machine list"],
    ["a zero --limit", ["machine", "list", "--limit", "0"], "--limit expects a whole number above 0, got 0", "machine list"],
    ["an import file of unknown kind", ["machine", "import", "machines.txt"], "cannot tell the format of machines.txt from its name; pass --format csv or --format json", "machine import"],
    ["an unknown --format", ["machine", "import", "machines.txt", "--format", "xml"], "--format must be one of csv, json, got xml", "machine import"],
    ["a deadline that is not a number", ["machine", "provision", "n1", "--deadline-minutes", "soon"], "--deadline-minutes expects a whole number above 0, got soon", "machine provision"],
    ["profile add without --os", ["profile", "add", "p1", "--kernel", "k/vmlinuz"], "a profile needs --os and --kernel", "profile add"],
    ["an unknown OS family", ["profile", "add", "p1", "--os", "beos", "--kernel", "k/vmlinuz"], "--os must be one of rhel, debian, ubuntu, windows, custom, got beos", "profile add"],
    ["an unknown install kind", ["profile", "add", "p1", "--os", "rhel", "--kernel", "k", "--install", "ghost"], "--install must be one of kickstart, preseed, autoinstall, cloud-init, unattend, none, got ghost", "profile add"],
    ["profile add without name or --file", ["profile", "add", "--os", "rhel", "--kernel", "k"], "give the profile a name, or --file", "profile add"],
    ["--file with profile options", ["profile", "add", "--file", "p.yaml", "--os", "rhel"], "--file holds the whole profile; drop --os or put it in the file", "profile add"],
    ["a --template without a file", ["profile", "add", "p1", "--os", "rhel", "--kernel", "k", "--template", "kickstart"], "--template expects NAME=FILE, got kickstart", "profile add"],
    ["render without --template", ["profile", "render", "p1", "--machine", "n1"], "give --machine and --template", "profile render"],
    ["a run id that is not a number", ["run", "show", "abc"], "run id must be a number, got abc", "run show"],
    ["an unknown run state", ["run", "list", "--state", "done"], "--state must be one of pending, booting, installing, succeeded, failed, cancelled, got done", "run list"],
  ])("%s", async (_name, args, message, command) => {
    expect(await runGoosed([...args, ...NOWHERE])).toEqual({ stdout: "", stderr: `goosed: ${message}\nsee goosed ${command} --help\n`, code: 2 });
  });

  test("render with an unknown template lists the names", async () => {
    const result = await runGoosed(["profile", "render", "p1", "--machine", "n1", "--template", "nope", ...NOWHERE]);
    expect(result.code).toBe(2);
    expect(result.stderr).toStartWith("goosed: --template must be one of ipxe-install, ");
  });

  test.each([
    ["an unknown machine subcommand", ["machine", "frob"], "goosed: unknown command machine frob\nsee goosed --help\n"],
    ["a missing machine ref", ["machine", "show"], "goosed: missing required args for command `machine show <ref>`\nsee goosed --help\n"],
    ["an unknown option", ["group", "add", "g1", "--colour", "red"], "goosed: Unknown option `--colour`\nsee goosed --help\n"],
  ])("%s", async (_name, args, stderr) => {
    expect(await runGoosed([...args, ...NOWHERE])).toEqual({ stdout: "", stderr, code: 2 });
  });

  test("a group word alone prints the help and exits 2", async () => {
    const result = await runGoosed(["run", ...NOWHERE]);
    expect(result.code).toBe(2);
    expect(result.stdout).toContain("run show <id>");
  });
});
