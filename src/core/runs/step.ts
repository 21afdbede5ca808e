// The run state machine as a pure step function: no I/O, no clock, so every path is testable without waiting.
import type { MachineState, RunState } from "../../db/index.ts";

export type RunEvent =
  | { type: "boot-served" }
  | { type: "install-fetched" }
  | { type: "agent-done" }
  | { type: "agent-failed"; reason: string }
  | { type: "deadline-passed" }
  | { type: "cancel" };

export const ACTIVE_RUN_STATES: ReadonlySet<RunState> = new Set(["pending", "booting", "installing"]);

export type RunStep =
  /** `changed` is false when the event is legal but leaves the run where it was (a second boot script fetch). */
  | { ok: true; state: RunState; changed: boolean; reason: string; error: string | null }
  | { ok: false; reason: string };

const ORDER: Record<RunState, number> = { pending: 0, booting: 1, installing: 2, succeeded: 3, failed: 3, cancelled: 3 };

export function stepRun(state: RunState, event: RunEvent): RunStep {
  if (!ACTIVE_RUN_STATES.has(state)) return { ok: false, reason: `the run already ended ${state}` };
  const to = (next: RunState, reason: string, error: string | null = null): RunStep => ({
    ok: true,
    state: next,
    changed: next !== state,
    reason,
    error,
  });
  switch (event.type) {
    // A machine may fetch its boot script again (a reboot mid-install); the run never goes backwards.
    case "boot-served":
      return ORDER[state] >= ORDER.booting ? to(state, "boot script served again") : to("booting", "boot script served");
    case "install-fetched":
      return state === "installing" ? to(state, "install template fetched again") : to("installing", "install template fetched");
    case "agent-done":
      return to("succeeded", "agent reported postinstall_done");
    case "agent-failed":
      return to("failed", `agent reported failure: ${event.reason}`, event.reason || "agent reported failure");
    case "deadline-passed":
      return to("failed", "deadline passed", "the run did not finish before its deadline");
    case "cancel":
      return to("cancelled", "cancelled");
  }
}

/** The machine's state follows its run; a cancelled run gives the machine back the state it had before. */
export function machineStateFor(run: RunState, before: MachineState): MachineState {
  switch (run) {
    case "pending":
    case "booting":
    case "installing":
      return "provisioning";
    case "succeeded":
      return "provisioned";
    case "failed":
      return "failed";
    case "cancelled":
      return before;
  }
}
