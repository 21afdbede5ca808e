// The token writer's promise is the promise that a token is durable: it must not resolve before its commit.
import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { join } from "node:path";
import { openTestCore } from "../support/core.ts";

test("write() resolves only once its batch has committed: a lock held elsewhere holds the promise back", async () => {
  await using t = openTestCore();
  const { core } = t;
  await core.tokenWriter.opened();
  core.profiles.create({ name: "p", osFamily: "rhel", kernel: "k" }, { id: "test" });
  const machine = core.machines.create({ profile: "p", interfaces: [{ mac: "52:54:00:00:02:01" }] }, { id: "test" });
  const run = core.runs.provision(String(machine.id), {}, { id: "test" });

  // A third connection takes the write lock, so the writer thread cannot commit until it lets go.
  const blocker = new Database(join(t.dataDir, "goosed.db"));
  blocker.run("BEGIN IMMEDIATE");
  let resolved = false;
  const row = { id: "0000000000000001", secret: "s".repeat(32), machineId: machine.id, runId: run.id, mac: "52:54:00:00:02:01", createdAt: 1, expiresAt: 2 };
  const written = core.tokenWriter.write(row, null, null).then(() => {
    resolved = true;
  });
  // Give the writer thread ample turns to have committed, if it could.
  for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 5));
  expect(resolved).toBe(false);

  blocker.run("COMMIT");
  await written;
  const seen = blocker.query("SELECT id, kind, machine_id AS machineId FROM machine_tokens WHERE id = ?").get(row.id);
  blocker.close();
  expect(seen).toEqual({ id: row.id, kind: "boot", machineId: machine.id });
});

test("a run's first boot script moves it to booting in the same commit as its token, and the event is delivered", async () => {
  await using t = openTestCore();
  const { core } = t;
  await core.tokenWriter.opened();
  core.profiles.create({ name: "p", osFamily: "rhel", kernel: "k" }, { id: "test" });
  const machine = core.machines.create({ profile: "p", interfaces: [{ mac: "52:54:00:00:02:02" }] }, { id: "test" });
  const run = core.runs.provision(String(machine.id), {}, { id: "test" });
  const found = core.bootPath.lookup("52:54:00:00:02:02")!;
  expect(found.runState).toBe("pending");
  // Two boot scripts at once: one transition, two tokens.
  await Promise.all([core.bootPath.issueBootToken(found, "52:54:00:00:02:02", () => "10.0.0.9"), core.bootPath.issueBootToken(found, "52:54:00:00:02:02", () => "10.0.0.9")]);
  const record = core.runs.get(run.id);
  expect(record.transitions.map((x) => [x.from, x.to, x.source])).toEqual([
    [null, "pending", null],
    ["pending", "booting", "10.0.0.9"],
  ]);
  const booting = await t.waitForEvent((e) => e.type === "run.booting");
  expect(booting).toMatchObject({ subject: `run:${run.id}`, data: { machine: machine.id, from: "pending", source: "10.0.0.9" } });
  // The cached lookup was dropped when the run moved: the next one reads booting.
  expect(core.bootPath.lookup("52:54:00:00:02:02")!.runState).toBe("booting");
  const tokens = core.store.sqlite.query("SELECT count(*) AS n FROM machine_tokens WHERE kind = 'boot' AND run_id = ?").get(run.id);
  expect(tokens).toEqual({ n: 2 });
});
