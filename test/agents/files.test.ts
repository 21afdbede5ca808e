// The agent files goosed serves: the ones in agents/, embedded as they are, and loadable where they run.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AGENT_FILES } from "../../src/agents/index.ts";
import { REPO_ROOT } from "../support/goosed.ts";
import { requireTool } from "../support/tools.ts";

test("every served agent file is the file in agents/ under the same name", () => {
  expect([...AGENT_FILES.keys()].sort()).toEqual([
    "/agents/linux/goosed-agent",
    "/agents/linux/goosed-agent.service",
    "/agents/linux/goosed-agent.timer",
    "/agents/windows/goosed-agent.ps1",
  ]);
  for (const [path, file] of AGENT_FILES) {
    expect({ path, body: file.body }).toEqual({ path, body: readFileSync(join(REPO_ROOT, path), "utf8") });
  }
});

test("the PowerShell agent is ASCII: Windows PowerShell 5.1 reads a file without a BOM as ANSI", () => {
  const bytes = readFileSync(join(REPO_ROOT, "agents/windows/goosed-agent.ps1"));
  const offsets = [...bytes.entries()].filter(([, byte]) => byte > 0x7e || (byte < 0x20 && byte !== 0x0a && byte !== 0x0d)).map(([offset]) => offset);
  expect(offsets).toEqual([]);
});

test("the FirstLogonCommands snippet is well-formed and runs the documented command", async () => {
  const xmllint = requireTool("xmllint", "libxml2-utils");
  const path = join(REPO_ROOT, "agents/windows/FirstLogonCommands.xml");
  const proc = Bun.spawn([xmllint, "--xpath", 'string(//*[local-name()="CommandLine"])', path], { stdout: "pipe", stderr: "pipe" });
  const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
  expect(stdout.replace(/\n$/, "")).toBe(
    'powershell -NoProfile -ExecutionPolicy Bypass -Command "Invoke-WebRequest -UseBasicParsing -Uri GOOSED_URL/agents/windows/goosed-agent.ps1 ' +
      '-OutFile C:\\Windows\\Temp\\goosed-agent.ps1; & C:\\Windows\\Temp\\goosed-agent.ps1 -Install -Url GOOSED_URL -Token INSTALLER_TOKEN"',
  );
});
