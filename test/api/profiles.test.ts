// /v1/profiles over real HTTP against a real goosed: defaults per OS family, templates checked before a profile is
// saved (422 naming template, line and problem), artifact keys, PATCH, and /render with layered variables.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { api, type RunningGoosed, startGoosed, tempDir } from "../support/goosed.ts";
import { json, problem } from "../support/http.ts";

const TEMPLATE_NAMES =
  "ipxe-install, ipxe-local, ipxe-menu, ipxe-message, cmdline, kickstart, preseed, autoinstall, cloud-init-user-data, cloud-init-meta-data, cloud-init-vendor-data, unattend";

const dir = tempDir();
let goosed: RunningGoosed;

beforeAll(async () => {
  goosed = await startGoosed({ dataDir: dir.path });
});

afterAll(async () => {
  expect(await goosed.stop()).toBe(0);
  await dir[Symbol.asyncDispose]();
});

const createProfile = (body: Record<string, unknown>) => api(goosed, "/v1/profiles", { body });

async function profileNames(): Promise<string[]> {
  return (await json(api(goosed, "/v1/profiles"), 200)).items.map((p: { name: string }) => p.name);
}

/** A 422 for a profile that was not saved: the whole problem, and proof that nothing was stored. */
async function expectNotSaved(body: Record<string, unknown>, errors: Array<{ path: string; message: unknown }>) {
  const before = await profileNames();
  const response = await createProfile(body);
  expect(await problem(response, 422)).toEqual({
    type: "/problems/validation-failed",
    title: "Validation failed",
    status: 422,
    detail: `profile ${body.name} was not saved; see errors`,
    instance: "/v1/profiles",
    requestId: response.headers.get("x-request-id"),
    errors,
  });
  await problem(api(goosed, `/v1/profiles/${body.name}`), 404);
  expect(await profileNames()).toEqual(before);
}

describe("defaults per OS family", () => {
  const families = [
    { name: "rhel installs with kickstart", osFamily: "rhel", installTemplate: "kickstart" },
    { name: "debian installs with preseed", osFamily: "debian", installTemplate: "preseed" },
    { name: "ubuntu installs with autoinstall", osFamily: "ubuntu", installTemplate: "autoinstall" },
    { name: "windows installs with unattend", osFamily: "windows", installTemplate: "unattend" },
    { name: "custom installs with nothing", osFamily: "custom", installTemplate: "none" },
  ];
  test.each(families)("$name", async ({ osFamily, installTemplate }) => {
    const response = await createProfile({ name: `default-${osFamily}`, osFamily, kernel: `${osFamily}/vmlinuz` });
    const created = await json(response, 201);
    expect(created).toEqual({
      id: expect.any(Number),
      name: `default-${osFamily}`,
      description: "",
      osFamily,
      kernel: `${osFamily}/vmlinuz`,
      initrd: [],
      artifacts: {},
      cmdline: null,
      installTemplate,
      templates: {},
      vars: {},
      createdAt: expect.any(String),
      updatedAt: created.createdAt,
    });
    expect(response.headers.get("location")).toBe(`/v1/profiles/default-${osFamily}`);
    expect(await json(api(goosed, `/v1/profiles/default-${osFamily}`), 200)).toEqual(created);
    expect(await json(api(goosed, `/v1/profiles/${created.id}`), 200)).toEqual(created);
  });

  test("an osFamily outside the list is 422 naming the families", async () => {
    const body = await problem(createProfile({ name: "bsd", osFamily: "freebsd", kernel: "k" }), 422);
    expect(body.errors).toEqual([{ path: "/osFamily", message: "expected one of rhel, debian, ubuntu, windows, custom" }]);
  });

  test("a second profile with a taken name is 409", async () => {
    const body = await problem(createProfile({ name: "default-rhel", osFamily: "rhel", kernel: "k" }), 409);
    expect(body.detail).toBe("a profile named default-rhel exists; change it with PATCH /v1/profiles/default-rhel");
  });
});

describe("templates are rendered before a profile is saved", () => {
  test("{{ vars.nope }} on line 3 of a kickstart override is 422 naming kickstart, line 3 and vars.nope", async () => {
    await expectNotSaved(
      { name: "ks-nope", osFamily: "rhel", kernel: "rocky9/vmlinuz", templates: { kickstart: "# custom kickstart\ntext\ntimezone {{ vars.nope }} --utc\nreboot\n" } },
      [{ path: "/templates/kickstart", message: "line 3, col 13: undefined variable: vars.nope" }],
    );
  });

  const broken = [
    { name: "an if that is never closed", source: "text\nreboot\n{% if vars.timezone %}\n", message: "line 3, col 1: tag {% if vars.timezone %} not closed" },
    { name: "an output that is never closed", source: "text\n{{ vars.timezone \n", message: 'line 2, col 1: output "{{ vars.timezone \\n" not closed' },
    { name: "an unknown filter", source: "text\n\n\n{{ vars.timezone | nofilter }}\n", message: "line 4, col 1: undefined filter: nofilter" },
    { name: "an unknown tag", source: "text\n{% frobnicate %}\n", message: 'line 2, col 1: tag "frobnicate" not found' },
    {
      name: "a tag that would load a file",
      source: "text\nreboot\n{% include 'ks.cfg' %}\n",
      message: "line 3, col 1: {% include %} is not available: a goosed template cannot load other templates or files",
    },
  ];
  test.each(broken)("$name is 422 naming its line", async ({ name, source, message }) => {
    const profile = `broken-${name.replaceAll(" ", "-")}`;
    await expectNotSaved({ name: profile, osFamily: "rhel", kernel: "k", templates: { kickstart: source } }, [{ path: "/templates/kickstart", message }]);
  });

  test("every template the profile uses is checked and every failure reported, the command line too", async () => {
    await expectNotSaved({ name: "two-broken", osFamily: "rhel", kernel: "k", cmdline: "inst.ks={{ urls.nope }}", templates: { kickstart: "text\n{{ vars.nope }}\n" } }, [
      { path: "/templates/cmdline", message: "line 1, col 12: undefined variable: urls.nope" },
      { path: "/templates/kickstart", message: "line 2, col 4: undefined variable: vars.nope" },
    ]);
  });

  test("an unknown template name is 422 listing the names there are", async () => {
    await expectNotSaved({ name: "unknown-template", osFamily: "rhel", kernel: "k", templates: { kickstrat: "text\n" } }, [
      { path: "/templates/kickstrat", message: `unknown template; expected one of ${TEMPLATE_NAMES}` },
    ]);
  });

  test("an iPXE install script that does not start with #!ipxe is 422", async () => {
    await expectNotSaved({ name: "no-magic", osFamily: "rhel", kernel: "k", templates: { "ipxe-install": "kernel {{ profile.kernel_url }}\nboot\n" } }, [
      { path: "/templates/ipxe-install", message: "line 1: an iPXE script must start with #!ipxe" },
    ]);
  });

  test("a bad artifact key and a broken template are reported together", async () => {
    await expectNotSaved({ name: "all-at-once", osFamily: "rhel", kernel: "k", artifacts: { repo: "../repo" }, templates: { kickstart: "text\n{{ vars.nope }}\n" } }, [
      { path: "/artifacts/repo", message: '"../repo" is not an artifact key' },
      { path: "/templates/kickstart", message: "line 2, col 4: undefined variable: vars.nope" },
    ]);
  });
});

describe("artifact keys", () => {
  const keys = [
    { name: "an artifact with .. in the middle", body: { artifacts: { repo: "rocky9/../../etc" } }, path: "/artifacts/repo", key: "rocky9/../../etc" },
    { name: "an artifact that starts with ..", body: { artifacts: { repo: "../secrets" } }, path: "/artifacts/repo", key: "../secrets" },
    { name: "an absolute artifact path", body: { artifacts: { repo: "/etc/passwd" } }, path: "/artifacts/repo", key: "/etc/passwd" },
    { name: "an initrd with ..", body: { initrd: ["ok/initrd.img", "a/../b"] }, path: "/initrd/1", key: "a/../b" },
  ];
  test.each(keys)("$name is 422", async ({ body, path, key }) => {
    await expectNotSaved({ name: `keys-${path.replaceAll("/", "")}-${key.length}`, osFamily: "custom", kernel: "k", ...body }, [{ path, message: `${JSON.stringify(key)} is not an artifact key` }]);
  });

  test("a kernel with .. is 422 saying what a key is", async () => {
    await expectNotSaved({ name: "kernel-dotdot", osFamily: "custom", kernel: "../vmlinuz" }, [
      { path: "/kernel", message: `"../vmlinuz" is not an artifact key (relative path, no '..')` },
    ]);
  });
});

describe("PATCH", () => {
  test("a PATCH with only description leaves osFamily, installTemplate and everything else unchanged", async () => {
    const before = await json(
      createProfile({ name: "patch-me", osFamily: "ubuntu", kernel: "u/vmlinuz", initrd: ["u/initrd"], installTemplate: "cloud-init", vars: { timezone: "Asia/Tokyo" } }),
      201,
    );
    const after = await json(api(goosed, "/v1/profiles/patch-me", { method: "PATCH", body: { description: "noble, cloud-init" } }), 200);
    expect(after).toEqual({ ...before, description: "noble, cloud-init", updatedAt: expect.any(String) });
    expect(await json(api(goosed, "/v1/profiles/patch-me"), 200)).toEqual(after);
  });

  test("a PATCH that breaks a template is 422 and the profile stays as it was", async () => {
    const before = await json(api(goosed, "/v1/profiles/patch-me"), 200);
    const body = await problem(api(goosed, "/v1/profiles/patch-me", { method: "PATCH", body: { templates: { "cloud-init-user-data": "#cloud-config\n{{ vars.nope }}\n" } } }), 422);
    expect(body.errors).toEqual([{ path: "/templates/cloud-init-user-data", message: "line 2, col 4: undefined variable: vars.nope" }]);
    expect(await json(api(goosed, "/v1/profiles/patch-me"), 200)).toEqual(before);
  });
});

describe("render", () => {
  beforeAll(async () => {
    await json(createProfile({ name: "plain-rhel", osFamily: "rhel", kernel: "rocky9/vmlinuz" }), 201);
    await json(api(goosed, "/v1/machines", { body: { hostname: "render01", interfaces: [{ mac: "52:54:00:11:00:01" }] } }), 201);
  });

  test("a kickstart renders as text/plain for the machine, with a placeholder token", async () => {
    const response = await api(goosed, "/v1/profiles/plain-rhel/render", { body: { machine: "52-54-00-11-00-01", template: "kickstart" } });
    const text = await response.text();
    expect({ status: response.status, type: response.headers.get("content-type") }).toEqual({ status: 200, type: "text/plain; charset=utf-8" });
    expect(text).toStartWith("# goosed: plain-rhel for render01, run 0\n");
    expect(text).toContain("network --bootproto=dhcp --device=link --activate --hostname='render01'\n");
    expect(text).toContain("timezone 'UTC' --utc\n");
    expect(text).toContain("gi_preview");
  });

  test("render for an unknown machine is 404; an unknown template name is 422", async () => {
    await problem(api(goosed, "/v1/profiles/plain-rhel/render", { body: { machine: "nobody", template: "kickstart" } }), 404);
    const body = await problem(api(goosed, "/v1/profiles/plain-rhel/render", { body: { machine: "render01", template: "kickstrat" } }), 422);
    expect(body.errors).toEqual([{ path: "/template", message: `expected one of ${TEMPLATE_NAMES}` }]);
  });

  // Layers: global default → group → profile → machine (→ run, covered with runs): the more specific one wins.
  const layers = [
    { name: "the global default when nobody sets it", group: null, profile: null, machine: null, timezone: "UTC" },
    { name: "the group over the global default", group: "America/Chicago", profile: null, machine: null, timezone: "America/Chicago" },
    { name: "the profile over the group", group: "America/Chicago", profile: "Europe/Paris", machine: null, timezone: "Europe/Paris" },
    { name: "the machine over the profile and the group", group: "America/Chicago", profile: "Europe/Paris", machine: "Asia/Kolkata", timezone: "Asia/Kolkata" },
    { name: "the machine over the group when the profile is silent", group: "America/Chicago", profile: null, machine: "Asia/Kolkata", timezone: "Asia/Kolkata" },
  ];
  test.each(layers.map((layer, i) => ({ ...layer, i })))("timezone comes from $name", async ({ i, group, profile, machine, timezone }) => {
    const tz = (value: string | null) => (value === null ? {} : { timezone: value });
    await json(api(goosed, "/v1/groups", { body: { name: `layer${i}`, vars: { ...tz(group), locale: "de_DE.UTF-8" } } }), 201);
    await json(createProfile({ name: `layer${i}`, osFamily: "rhel", kernel: "rocky9/vmlinuz", vars: tz(profile) }), 201);
    await json(
      api(goosed, "/v1/machines", { body: { hostname: `layer${i}`, group: `layer${i}`, profile: `layer${i}`, vars: tz(machine), interfaces: [{ mac: `52:54:00:12:00:0${i}` }] } }),
      201,
    );
    const response = await api(goosed, `/v1/profiles/layer${i}/render`, { body: { machine: `layer${i}`, template: "kickstart" } });
    const text = await response.text();
    expect(response.status).toBe(200);
    expect(text.split("\n").filter((line) => /^(timezone|lang) /.test(line))).toEqual([`lang 'de_DE.UTF-8'`, `timezone '${timezone}' --utc`]);
    expect(text).toContain(`--hostname='layer${i}'`);
  });
});
