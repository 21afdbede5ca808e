// Discovery policies over real HTTP: what a machine nobody added boots on its first PXE boot.
import { describe, expect, test } from "bun:test";
import { api, startGoosed, tempDir } from "../support/goosed.ts";
import { json, text } from "../support/http.ts";

async function addProfile(goosed: { url: string; token: string }, name: string, description: string) {
  const response = await api(goosed, "/v1/profiles", { body: { name, description, osFamily: "rhel", kernel: `${name}/vmlinuz` } });
  expect(response.status).toBe(201);
}

describe("discovery policy", () => {
  test("menu: an unknown machine gets the profiles at its console; a choice starts that run and boots it", async () => {
    await using dir = tempDir();
    await using goosed = await startGoosed({ dataDir: dir.path, args: ["--boot-discovery-policy", "menu"] });
    await addProfile(goosed, "rocky9", "Rocky Linux 9");
    await addProfile(goosed, "alma9", "AlmaLinux 9");
    const mac = "52:54:00:00:03:01";

    const menu = await text(`${goosed.url}/boot/boot.ipxe?mac=${mac}&arch=x86_64`);
    expect(menu.startsWith("#!ipxe\n")).toBe(true);
    expect(menu).toMatch(/^menu /m);
    expect(menu).toContain("AlmaLinux 9");
    expect(menu).toContain("Rocky Linux 9");
    const choice = /^chain (\S+choice=rocky9)\b/m.exec(menu)?.[1];
    expect(choice).toBe(`${goosed.url}/boot/menu.ipxe?mac=${mac}&choice=rocky9`);

    const chosen = await text(choice!);
    expect(chosen).toBe(`#!ipxe\nchain --replace ${goosed.url}/boot/boot.ipxe?mac=\${mac}&arch=\${buildarch}\n`);
    const machine = await json(api(goosed, `/v1/machines/${mac}`), 200);
    expect({ state: machine.state, run: machine.activeRun?.state }).toEqual({ state: "provisioning", run: "pending" });
    const runs = await json(api(goosed, `/v1/runs?machine=${mac}`), 200);
    expect(runs.items.map((r: { profile: string; createdBy: string }) => [r.profile, r.createdBy])).toEqual([["rocky9", "console"]]);

    const boot = await text(`${goosed.url}/boot/boot.ipxe?mac=${mac}&arch=x86_64`);
    expect(boot).toMatch(/\/boot\/install\.ipxe\?mac=\$\{mac\}&token=gb_/);
  });

  test("menu choices are refused for a machine whose policy is not menu", async () => {
    await using dir = tempDir();
    await using goosed = await startGoosed({ dataDir: dir.path });
    await addProfile(goosed, "rocky9", "Rocky Linux 9");
    const mac = "52:54:00:00:03:02";
    expect(await text(`${goosed.url}/boot/boot.ipxe?mac=${mac}`)).toMatch(/^exit$/m);
    const refused = await text(`${goosed.url}/boot/menu.ipxe?mac=${mac}&choice=rocky9`);
    expect(refused).toContain("boot policy is not menu");
    const machine = await json(api(goosed, `/v1/machines/${mac}`), 200);
    expect({ state: machine.state, run: machine.activeRun }).toEqual({ state: "discovered", run: null });
  });

  test("profile: an unknown machine is enrolled and its install starts on the same boot", async () => {
    await using dir = tempDir();
    await using goosed = await startGoosed({
      dataDir: dir.path,
      args: ["--boot-discovery-policy", "profile", "--boot-discovery-profile", "inventory"],
    });
    await addProfile(goosed, "inventory", "Inventory live image");
    const mac = "52:54:00:00:03:03";
    const boot = await text(`${goosed.url}/boot/boot.ipxe?mac=${mac}&arch=x86_64`);
    expect(boot).toMatch(/\/boot\/install\.ipxe\?mac=\$\{mac\}&token=gb_/);
    const runs = await json(api(goosed, `/v1/runs?machine=${mac}`), 200);
    expect(runs.items.map((r: { profile: string; state: string; createdBy: string }) => [r.profile, r.state, r.createdBy])).toEqual([
      ["inventory", "booting", "discovery"],
    ]);
  });

  test("a retired machine frees its MAC: the next boot from it enrolls a new machine, which boots the local disk", async () => {
    await using dir = tempDir();
    await using goosed = await startGoosed({ dataDir: dir.path });
    const mac = "52:54:00:00:03:04";
    const created = await json(api(goosed, "/v1/machines", { body: { hostname: "old", interfaces: [{ mac }] } }), 201);
    expect((await api(goosed, `/v1/machines/${created.id}/retire`, { body: {} })).status).toBe(200);
    // Retiring frees the MAC: the next boot enrolls a new, discovered machine in its place.
    expect(await text(`${goosed.url}/boot/boot.ipxe?mac=${mac}`)).toMatch(/^exit$/m);
    const now = await json(api(goosed, `/v1/machines/${mac}`), 200);
    expect(now.id).not.toBe(created.id);
    expect(now.state).toBe("discovered");
  });
});
