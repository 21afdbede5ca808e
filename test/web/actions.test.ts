// The status page's forms and the machine page over real HTTP against a real goosed: provision, cancel and retire
// posted as a browser posts them (form fields, session cookie, the page's CSRF token), the refusals shown as pages,
// a run's timeline and an agent's facts with what changed, and a failed bundle import with its reason.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { AgentEndpoint } from "../../src/agents/index.ts";
import { api, type RunningGoosed, startGoosed, tempDir } from "../support/goosed.ts";
import { json, statusPageCookie, text } from "../support/http.ts";

const dir = tempDir();
let goosed: RunningGoosed;
let cookie = "";

beforeAll(async () => {
  goosed = await startGoosed({ dataDir: dir.path });
  await json(api(goosed, "/v1/profiles", { body: { name: "rocky9", osFamily: "rhel", kernel: "rocky9/vmlinuz", initrd: ["rocky9/initrd.img"] } }), 201);
  cookie = await statusPageCookie(goosed.url, goosed.token);
});

afterAll(async () => {
  expect(await goosed.stop()).toBe(0);
  await dir[Symbol.asyncDispose]();
});

const page = async (path: string) => {
  const response = await fetch(`${goosed.url}${path}`, { headers: { cookie }, redirect: "manual" });
  return { status: response.status, body: await response.text() };
};
const csrfOf = (body: string) => /name="_csrf" value="([^"]+)"/.exec(body)![1]!;
const post = (path: string, fields: Record<string, string>) =>
  fetch(`${goosed.url}${path}`, {
    method: "POST",
    redirect: "manual",
    headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields).toString(),
  });
const alertOf = (body: string) => /role="alert">([^<]*)</.exec(body)?.[1];

describe("machine actions", () => {
  test("provision, cancel and retire through the forms; each lands back on the machine page and is audited", async () => {
    const machine = await json(api(goosed, "/v1/machines", { body: { hostname: "web-01", interfaces: [{ mac: "52:54:00:0a:00:01" }] } }), 201);
    const csrf = csrfOf((await page(`/machines/${machine.id}`)).body);

    const provisioned = await post(`/actions/machines/${machine.id}/provision`, { _csrf: csrf, profile: "rocky9" });
    expect(provisioned.status).toBe(303);
    expect(provisioned.headers.get("location")).toBe(`/machines/${machine.id}`);
    const [run] = (await json(api(goosed, `/v1/runs?machine=${machine.id}`), 200)).items;
    expect(run).toMatchObject({ profile: "rocky9", state: "pending", createdBy: expect.stringMatching(/^token:\w+ \(admin\) via status page$/) });
    expect((await page(`/machines/${machine.id}`)).body).toContain(`id="cancel-form"`);

    expect((await post(`/actions/machines/${machine.id}/cancel`, { _csrf: csrf })).status).toBe(303);
    expect((await json(api(goosed, `/v1/runs/${run.id}`), 200)).state).toBe("cancelled");

    expect((await post(`/actions/machines/${machine.id}/retire`, { _csrf: csrf })).status).toBe(303);
    const after = await page(`/machines/${machine.id}`);
    expect(after.body).toContain('id="machine-state">retired<');
    expect(after.body).toContain("Retired machines take no actions.");
    for (const action of ["machine.retire", "run.cancel", "run.create"]) expect(after.body).toContain(`<td>${action}</td>`);
  });

  test("a refused action shows its reason as a page with a way back, and changes nothing", async () => {
    const machine = await json(api(goosed, "/v1/machines", { body: { hostname: "web-02", interfaces: [{ mac: "52:54:00:0a:00:02" }] } }), 201);
    const csrf = csrfOf((await page(`/machines/${machine.id}`)).body);

    const unknown = await post(`/actions/machines/${machine.id}/provision`, { _csrf: csrf, profile: "nope" });
    expect(unknown.status).toBe(422);
    const body = await unknown.text();
    expect(unknown.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(alertOf(body)).toContain("no profile named nope");
    expect(body).toContain(">Back</a>");

    expect((await post(`/actions/machines/${machine.id}/cancel`, { _csrf: csrf })).status).toBe(409);
    const noMachine = await post("/actions/machines/999/retire", { _csrf: csrf });
    expect(noMachine.status).toBe(404);
    expect(alertOf(await noMachine.text())).toBe("no machine with id 999");

    const wrong = await post(`/actions/machines/${machine.id}/retire`, { _csrf: `${csrf.slice(1)}x` });
    expect(wrong.status).toBe(403);
    expect(alertOf(await wrong.text())).toContain("CSRF token");
    // A JSON body is not a form: refused before any handler runs.
    const asJson = await fetch(`${goosed.url}/actions/machines/${machine.id}/retire`, { method: "POST", headers: { cookie, "content-type": "application/json" }, body: JSON.stringify({ _csrf: csrf }) });
    expect(asJson.status).toBe(415);
    // Without a session, an action goes to the login form.
    const anonymous = await fetch(`${goosed.url}/actions/machines/${machine.id}/retire`, { method: "POST", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `_csrf=${csrf}` });
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get("location")).toBe("/login");

    expect((await json(api(goosed, `/v1/machines/${machine.id}`), 200)).state).toBe("ready");
    expect((await json(api(goosed, `/v1/runs?machine=${machine.id}`), 200)).items).toEqual([]);
  });

  test("an unknown machine's page is a 404 page naming it; the page resolves a hostname or a MAC as well as an id", async () => {
    const missing = await page("/machines/no-such-host");
    expect(missing.status).toBe(404);
    expect(alertOf(missing.body)).toBe("no machine with id no-such-host");
    expect((await page("/machines/web-02")).body).toContain("<title>web-02 · goosed</title>");
    expect((await page("/machines/52-54-00-0A-00-02")).body).toContain("<title>web-02 · goosed</title>");
  });
});

describe("the machine page's record", () => {
  test("a run's timeline and the agent's facts, with what changed between reports", async () => {
    const mac = "52:54:00:0a:00:03";
    const machine = await json(api(goosed, "/v1/machines", { body: { hostname: "db-01", profile: "rocky9", interfaces: [{ mac }] } }), 201);
    await json(api(goosed, "/v1/machines/db-01/provision", { body: {} }), 201);
    const script = await text(`${goosed.url}/boot/boot.ipxe?mac=${mac}&arch=x86_64`);
    const bootToken = /token=(gb_[0-9a-f_]+)/.exec(script)![1]!;
    const install = await text(`${goosed.url}/boot/install.ipxe?mac=${mac}&token=${bootToken}`);
    const kickstart = /inst\.ks=(\S+)/.exec(install)![1]!;
    const installer = /token=(gi_[0-9a-f_]+)/.exec(kickstart)![1]!;
    expect(await text(kickstart)).toContain("%post");
    const agent = (path: string, token: string, body: unknown) =>
      fetch(`${goosed.url}${path}`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
    const enrolled = await json(agent(AgentEndpoint.Enroll, installer, { hostname: "db-01", machine_id: "0123456789abcdef", agent_version: "1.0.0" }), 200);
    const os = (version: string) => ({ name: "Rocky Linux", version, kernel: "5.14.0", arch: "x86_64" });
    await json(agent(AgentEndpoint.Facts, enrolled.agent_token, { facts: { hostname: "db-01", os: os("9.4"), memory_bytes: "8589934592" } }), 200);
    await json(agent(AgentEndpoint.Facts, enrolled.agent_token, { facts: { hostname: "db-01", os: os("9.5"), memory_bytes: "8589934592" }, postinstall_done: true }), 200);

    const { body } = await page(`/machines/${machine.id}`);
    expect(body).toContain('id="machine-state">provisioned<');
    const timeline = /<ol class="timeline">(.*?)<\/ol>/s.exec(body)![1]!;
    expect([...timeline.matchAll(/<span class="state-(\w+)">/g)].map((m) => m[1])).toEqual(["pending", "booting", "installing", "succeeded"]);
    expect(timeline).toContain("(127.0.0.1)");
    const quoted = (version: string) => JSON.stringify(os(version)).replaceAll('"', "&quot;");
    expect(body).toContain(`<dt>os</dt><dd class="mono data">${quoted("9.5")}</dd>`);
    expect(body).toContain(`<dt>memory_bytes</dt><dd class="mono data">8589934592</dd>`);
    // What changed: the OS, from the first report to the second; the memory stayed, so it has no row of its own then.
    expect(body).toMatch(new RegExp(`<tr><td class="mono time">[^<]+</td><td>os</td><td class="mono data">${quoted("9.4")}</td><td class="mono data">${quoted("9.5")}</td></tr>`));
    // The first report is where the history starts, not a change of every fact from nothing.
    expect(body).not.toContain('<td>hostname</td><td class="mono data">null</td>');
    expect(body.match(/<td>os<\/td>/g)?.length).toBe(1);
    expect(body).toContain("<td>agent.enroll</td>");
  });
});

describe("bundles", () => {
  test("a failed import is listed with its reason; the import button only takes a bundle found on a stick", async () => {
    const job = await json(api(goosed, "/v1/bundles/import", { body: { path: "/nonexistent/lab-1.0.tar.zst" } }), 202);
    for (let i = 0; i < 100 && (await json(api(goosed, `/v1/jobs/${job.id}`), 200)).state !== "failed"; i++) await Bun.sleep(100);
    const { body } = await page("/bundles");
    const row = new RegExp(`<tr data-job="${job.id}"><td class="num">${job.id}</td><td class="mono">/nonexistent/lab-1.0.tar.zst</td><td class="mono time">[^<]+</td><td class="down">([^<]+)</td>`).exec(body);
    expect(row?.[1]).toContain("/nonexistent/lab-1.0.tar.zst");
    expect(body).toContain("not configured: set bundles.watchDir");

    const refused = await post("/actions/bundles/import", { _csrf: csrfOf((await page("/machines/web-02")).body), path: "/etc/passwd" });
    expect(refused.status).toBe(404);
    expect(alertOf(await refused.text())).toContain("no bundle at /etc/passwd on an inserted stick");
  });
});

describe("machine search", () => {
  test("finds a machine by part of its hostname, its MAC in any spelling, or its address; filters combine", async () => {
    await json(api(goosed, "/v1/machines", { body: { hostname: "gpu-17", labels: { rack: "b2" }, interfaces: [{ mac: "52:54:00:12:34:56", ip: "10.20.30.40" }] } }), 201);
    const found = async (query: string) => [...(await page(`/machines?${query}`)).body.matchAll(/<tr data-machine="\d+">.*?<a href="\/machines\/\d+">([^<]+)<\/a>/g)].map((m) => m[1]);
    for (const q of ["gpu", "GPU-1", "52:54:00:12:34:56", "52-54-00-12-34-56", "5254.0012.3456", "525400123456", "12:34", "10.20.30", "10.20.30.40"]) {
      expect({ q, found: await found(`q=${encodeURIComponent(q)}`) }).toEqual({ q, found: ["gpu-17"] });
    }
    expect(await found("q=gpu&label=rack%3Db2")).toEqual(["gpu-17"]);
    expect(await found("q=gpu&label=rack%3Da1")).toEqual([]);
    expect(await found("q=gpu&state=retired")).toEqual([]);
    // LIKE's wildcards are plain characters here.
    expect(await found("q=%25")).toEqual([]);
    expect(await found("q=_")).toEqual([]);
    expect((await page("/machines?q=nothing-like-it")).body).toContain("no machine matches these filters");
  });
});

describe("uploaded content", () => {
  test("an artifact is served sandboxed and unsniffed: an uploaded HTML page cannot act with an operator's session", async () => {
    const upload = await fetch(`${goosed.url}/v1/artifacts/evil.html?kind=other`, {
      method: "PUT",
      headers: { authorization: `Bearer ${goosed.token}`, "content-type": "application/octet-stream" },
      body: "<script>fetch('/actions/machines/1/retire',{method:'POST'})</script>",
    });
    expect(upload.status).toBe(201);
    const served = await fetch(`${goosed.url}/artifacts/evil.html`);
    expect(served.status).toBe(200);
    expect(served.headers.get("content-security-policy")).toBe("sandbox");
    expect(served.headers.get("x-content-type-options")).toBe("nosniff");
  });
});
