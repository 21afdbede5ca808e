import { expect, test } from "bun:test";
import type { RunState } from "../../src/db/index.ts";
import { machineStateFor, type RunEvent, stepRun } from "../../src/core/runs/step.ts";

type Case = [string, RunState, RunEvent, RunState | null, boolean];

// [name, from, event, to (null: refused), changed]
const cases: Case[] = [
  ["boot script moves a pending run to booting", "pending", { type: "boot-served" }, "booting", true],
  ["a second boot script leaves booting alone", "booting", { type: "boot-served" }, "booting", false],
  ["a reboot mid-install never goes back to booting", "installing", { type: "boot-served" }, "installing", false],
  ["install template fetched", "booting", { type: "install-fetched" }, "installing", true],
  ["install template fetched without a boot script (manual boot)", "pending", { type: "install-fetched" }, "installing", true],
  ["install template fetched again", "installing", { type: "install-fetched" }, "installing", false],
  ["agent done", "installing", { type: "agent-done" }, "succeeded", true],
  ["agent failed", "installing", { type: "agent-failed", reason: "disk full" }, "failed", true],
  ["deadline", "booting", { type: "deadline-passed" }, "failed", true],
  ["cancel", "pending", { type: "cancel" }, "cancelled", true],
  ["nothing moves a succeeded run", "succeeded", { type: "cancel" }, null, false],
  ["nothing moves a cancelled run", "cancelled", { type: "boot-served" }, null, false],
  ["nothing moves a failed run", "failed", { type: "agent-done" }, null, false],
];

test.each(cases)("%s", (_name, from, event, to, changed) => {
  const step = stepRun(from, event);
  if (to === null) {
    expect(step).toEqual({ ok: false, reason: `the run already ended ${from}` });
    return;
  }
  expect(step.ok).toBe(true);
  if (step.ok) expect({ state: step.state, changed: step.changed }).toEqual({ state: to, changed });
});

test("failures carry an error for the run row", () => {
  expect(stepRun("installing", { type: "agent-failed", reason: "disk full" })).toMatchObject({ error: "disk full" });
  expect(stepRun("booting", { type: "deadline-passed" })).toMatchObject({ error: "the run did not finish before its deadline" });
});

test.each([
  ["pending", "ready", "provisioning"],
  ["installing", "discovered", "provisioning"],
  ["succeeded", "ready", "provisioned"],
  ["failed", "ready", "failed"],
  ["cancelled", "discovered", "discovered"],
  ["cancelled", "provisioned", "provisioned"],
] as const)("machine follows a %s run (was %s): %s", (run, before, machine) => {
  expect(machineStateFor(run, before)).toBe(machine);
});
