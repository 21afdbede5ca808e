// The status page against a real goosed: login with an API token, the session cookie, the Overview's sections,
// no request leaving the appliance, and hostile text escaped.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { generateKeyPair } from "../../src/bundles/signify.ts";
import { api, type RunningGoosed, startGoosed, tempDir } from "../support/goosed.ts";
import { json, statusPageCookie } from "../support/http.ts";

const dir = tempDir();
let goosed: RunningGoosed;

beforeAll(async () => {
  goosed = await startGoosed({ dataDir: dir.path });
});

afterAll(async () => {
  expect(await goosed.stop()).toBe(0);
  await dir[Symbol.asyncDispose]();
});

const get = (path: string, cookie?: string) => fetch(`${goosed.url}${path}`, { redirect: "manual", headers: cookie ? { cookie } : {} });
const login = (token: string) =>
  fetch(`${goosed.url}/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token }).toString(),
  });

const session = () => statusPageCookie(goosed.url, goosed.token);

/** Every absolute URL in the page, and every script source. */
function externalReferences(page: string): string[] {
  const urls = [...page.matchAll(/https?:\/\/[^\s"'<>)]+/g)].map((m) => m[0]).filter((u) => !u.startsWith(goosed.url));
  const scripts = [...page.matchAll(/<script[^>]*\bsrc\s*=\s*["']?([^"' >]+)/gi)].map((m) => m[1]!).filter((s) => !s.startsWith("/"));
  return [...urls, ...scripts];
}

describe("login and session", () => {
  test("without a session, / sends the browser to /login, which shows the form", async () => {
    const response = await get("/");
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/login");
    const form = await get("/login");
    expect(form.status).toBe(200);
    expect(form.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(await form.text()).toContain('<form class="login" method="post" action="/login">');
  });

  test("a wrong token gets 401 and the form again with a clear message, and no cookie", async () => {
    const response = await login("not-a-token");
    expect(response.status).toBe(401);
    expect(response.headers.get("set-cookie")).toBeNull();
    const page = await response.text();
    expect(page).toContain('role="alert">That token is unknown, revoked or expired.</p>');
    expect(page).toContain('name="token"');
  });

  test("a JSON body to /login is refused: the form is the only way in", async () => {
    const response = await fetch(`${goosed.url}/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token: goosed.token }) });
    expect(response.status).toBe(415);
  });

  test("the right token gets 303 / and an HttpOnly SameSite=Strict cookie; logout ends the session", async () => {
    const response = await login(goosed.token);
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/");
    const cookie = response.headers.get("set-cookie")!;
    expect(cookie).toMatch(/^goosed_session=[A-Za-z0-9_-]{43}; /);
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Strict");
    expect(cookie).toContain("Path=/");
    const pair = cookie.split(";")[0]!;
    expect((await get("/", pair)).status).toBe(200);

    const out = await get("/logout", pair);
    expect(out.status).toBe(303);
    expect(out.headers.get("location")).toBe("/login");
    expect(out.headers.get("set-cookie")).toContain("Max-Age=0");
    expect((await get("/", pair)).status).toBe(303);
  });

  test("POST /logout ends a session too, and a made-up session id is no session", async () => {
    const pair = await session();
    expect((await fetch(`${goosed.url}/logout`, { method: "POST", redirect: "manual", headers: { cookie: pair } })).status).toBe(303);
    expect((await get("/", pair)).status).toBe(303);
    expect((await get("/", "goosed_session=AAAA")).status).toBe(303);
  });
});

describe("the Overview", () => {
  test("on an empty appliance: services up or down with where they listen, and 'none' for every empty section", async () => {
    const cookie = await session();
    const response = await get("/", cookie);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const page = await response.text();
    expect(page).toMatch(/<tr data-service="database"><td>database<\/td><td class="ok">up<\/td>/);
    // Network services say where they answer: address and port in their own columns.
    expect(page).toMatch(new RegExp(`<tr data-service="http"><td>http</td><td class="ok">up</td><td></td><td class="mono">127.0.0.1</td><td class="mono">${goosed.port}</td><td>listening on `));
    expect(page).toContain(`<tr data-service="s3"><td>s3</td><td class="ok">up</td><td></td><td class="mono">127.0.0.1</td><td class="mono">${goosed.port} (/s3)</td>`);
    expect(page).toContain('<section id="machines" data-live="machines"><h2>Machines by state</h2><p class="none">none</p>');
    expect(page).toContain('<section id="runs" data-live="runs"><h2>Active runs</h2><p class="none">none</p>');
    expect(page).toContain('<section id="signers" data-live="signers"><h2>Trusted signers</h2><p class="none">none trusted</p>');
    expect(page).toMatch(/<section id="disk" data-live="disk"><h2>Data directory<\/h2><p><code>[^<]+<\/code>: [\d.]+ \w+ used of [\d.]+ \w+ \(\d+%\)/);
    for (const label of ["Overview", "Machines", "Leases", "Artifacts", "Jobs", "Events", "Bundles"]) expect(page).toContain(`>${label}</a>`);
    expect(externalReferences(page)).toEqual([]);
    // Style sheet, script and icon come from the appliance itself, and the policy forbids anything else.
    expect([...page.matchAll(/<(?:link|script)[^>]+(?:href|src)="([^"]+)"/g)].map((m) => m[1])).toEqual(["/assets/icon.svg", "/assets/status.css", "/assets/status.js"]);
    const policy = (await get("/", cookie)).headers.get("content-security-policy")!;
    expect(policy).toContain("default-src 'none'");
    expect(policy).not.toContain("unsafe-inline");
  });

  test("a machine added through the API is counted by state, and its event is listed", async () => {
    await json(api(goosed, "/v1/machines", { body: { hostname: "web-01", interfaces: [{ mac: "52:54:00:12:34:56" }] } }), 201);
    const page = await (await get("/", await session())).text();
    expect(page).toContain('<tr data-state="ready"><td><a href="/machines?state=ready">ready</a></td><td class="num">1</td></tr>');
    expect(page).toContain('<tr data-state="failed"><td><a href="/machines?state=failed">failed</a></td><td class="num">0</td></tr>');
    expect(page).toMatch(/<td>machine\.created<\/td><td class="mono">machine:\d+<\/td><td class="mono data">\{&quot;hostname&quot;:&quot;web-01&quot;/);
  });

  test("a provisioned machine's run shows under active runs with its stage and elapsed time", async () => {
    await json(api(goosed, "/v1/profiles", { body: { name: "rocky9", osFamily: "rhel", kernel: "rocky9/vmlinuz" } }), 201);
    await json(api(goosed, "/v1/machines", { body: { hostname: "db-01", profile: "rocky9", interfaces: [{ mac: "52:54:00:aa:bb:cc" }] } }), 201);
    const run = await json(api(goosed, "/v1/machines/db-01/provision", { body: {} }), 201);
    const page = await (await get("/", await session())).text();
    expect(page).toMatch(new RegExp(`<tr><td class="num">${run.id}</td><td><a href="/machines/\\d+">db-01</a></td><td>rocky9</td><td class="state-pending">pending</td><td class="num">\\d+s</td></tr>`));
    expect(page).toContain('<tr data-state="provisioning">');
  });

  test("a signer with a hostile name is listed, escaped", async () => {
    const hostile = `<script>alert("x")</script> & 'q'`;
    const pair = generateKeyPair("test");
    await json(api(goosed, "/v1/keys", { body: { publicKey: pair.publicKeyFile, name: hostile } }), 201);
    const page = await (await get("/", await session())).text();
    expect(page).toContain(`<td>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;</td><td class="mono">${pair.keyId}</td>`);
    expect(page).not.toContain("<script>");
    expect(externalReferences(page)).toEqual([]);
  });
});
