// Group commit must not trade durability for speed: every boot token a machine received is in the database, even
// when goosed is killed in the middle of a storm of boot script requests.
import { expect, test } from "bun:test";
import { api, startGoosed, tempDir } from "../support/goosed.ts";

const MACHINES = 20;
const macOf = (i: number) => `52:54:00:00:01:${i.toString(16).padStart(2, "0")}`;

test("SIGKILL during a boot storm: every boot token that was handed out still works after restart", async () => {
  await using dir = tempDir();
  const first = await startGoosed({ dataDir: dir.path });
  await api(first, "/v1/profiles", { body: { name: "p", osFamily: "rhel", kernel: "k" } });
  for (let i = 0; i < MACHINES; i++) {
    expect((await api(first, "/v1/machines", { body: { profile: "p", interfaces: [{ mac: macOf(i) }] } })).status).toBe(201);
    expect((await api(first, `/v1/machines/${macOf(i)}/provision`, { body: {} })).status).toBe(201);
  }

  // Keep 50 requests in flight until enough answers are in, then kill goosed with more still open.
  const handedOut: Array<{ mac: string; token: string }> = [];
  let killed = false;
  const client = async (worker: number) => {
    for (let n = worker; !killed; n += 50) {
      const mac = macOf(n % MACHINES);
      try {
        const script = await (await fetch(`${first.url}/boot/boot.ipxe?mac=${mac}`)).text();
        const token = /token=(gb_[0-9a-f_]+)/.exec(script)?.[1];
        if (token && !killed) handedOut.push({ mac, token });
      } catch {
        return; // the connection died with the process
      }
      if (handedOut.length >= 2000 && !killed) {
        // At once, with answers to other requests still arriving: nothing a client saw may be missing afterwards.
        killed = true;
        first.proc.kill("SIGKILL");
        await first.proc.exited;
      }
    }
  };
  await Promise.all(Array.from({ length: 50 }, (_, w) => client(w)));
  expect(handedOut.length).toBeGreaterThanOrEqual(2000);

  await using second = await startGoosed({ dataDir: dir.path });
  const refused: string[] = [];
  for (const { mac, token } of handedOut) {
    const response = await fetch(`${second.url}/boot/install.ipxe?mac=${mac}&token=${token}`);
    if (response.status !== 200) refused.push(`${token}: ${response.status} ${await response.text()}`);
  }
  expect(refused).toEqual([]);
});
