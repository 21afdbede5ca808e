// The Leases, Artifacts, Jobs and Events pages: against a real goosed for what the API can create (artifacts, jobs,
// machines and their events), and rendered from an in-process core for what only DHCP or a job handler can make
// (leases, a job caught mid-run). Empty states, hostile text escaped, filters, paging, and the session check.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { defineJob, type LeaseRow } from "../../src/core/index.ts";
import type { PageContext, WebDeps } from "../../src/web/page.ts";
import { renderEventsPage } from "../../src/web/events.ts";
import { renderJobsPage } from "../../src/web/jobs.ts";
import { renderLeasesPage } from "../../src/web/leases.ts";
import { Type } from "@sinclair/typebox";
import { openTestCore, type TestCore, testLease } from "../support/core.ts";
import { api, type RunningGoosed, startGoosed, tempDir } from "../support/goosed.ts";
import { json, statusPageCookie } from "../support/http.ts";
import { dataOf, SseReader } from "../support/sse.ts";

const HOSTILE = `<script>alert("x")</script>`;
const ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;";

const dir = tempDir();
let goosed: RunningGoosed;
let cookie: string;

beforeAll(async () => {
  goosed = await startGoosed({ dataDir: dir.path });
  cookie = await statusPageCookie(goosed.url, goosed.token);
});

afterAll(async () => {
  expect(await goosed.stop()).toBe(0);
  await dir[Symbol.asyncDispose]();
});

async function page(path: string, status = 200): Promise<string> {
  const response = await fetch(`${goosed.url}${path}`, { redirect: "manual", headers: { cookie } });
  const body = await response.text();
  if (response.status !== status) throw new Error(`GET ${path}: expected ${status}, got ${response.status}: ${body}`);
  expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
  return body;
}

/** The markup of the data-live region named `name`: what the live refresh swaps. */
function region(body: string, name: string): string {
  const start = body.indexOf(`data-live="${name}"`);
  expect(start).toBeGreaterThan(-1);
  return body.slice(start, body.indexOf("</section>", start));
}

const rowsOf = (body: string, attribute: string): string[] => [...body.matchAll(new RegExp(`<tr ${attribute}="([^"]*)"`, "g"))].map((m) => m[1]!);

const PAGES = [
  ["/leases", "Leases"],
  ["/artifacts", "Artifacts"],
  ["/jobs", "Jobs"],
  ["/events", "Events"],
] as const;

describe("the session check", () => {
  test.each(PAGES)("without a session, %s answers 303 to /login", async (path) => {
    const response = await fetch(`${goosed.url}${path}`, { redirect: "manual" });
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/login");
  });
});

describe("on an empty appliance", () => {
  test.each(PAGES)("%s renders 200 with its title and the filter form outside the live region", async (path, title) => {
    const body = await page(path);
    expect(body).toContain(`<h1>${title}</h1>`);
    expect(body).toContain(`<a href="${path}" aria-current="page">${title}</a>`);
    expect(body).toMatch(new RegExp(`<form class="filters" method="get" action="${path}">`));
    const live = body.indexOf(`data-live="${path.slice(1)}"`);
    expect(body.indexOf('<form class="filters"')).toBeLessThan(live);
    expect(body).not.toMatch(/style=|<script>|onerror=/);
  });

  test("Leases says DHCP is off, not that something failed", async () => {
    expect(region(await page("/leases"), "leases")).toContain('<p class="none">DHCP is off on this appliance (dhcp.mode); leases appear when goosed serves DHCP</p>');
  });

  test("Artifacts says how to add one, and the store's totals", async () => {
    const live = region(await page("/artifacts"), "artifacts");
    expect(live).toContain('<p id="artifacts-summary">0 artifacts, 0 B; the S3 API holds 0 objects, 0 B.</p>');
    expect(live).toContain('<p class="none">no artifacts yet: add one with <code>goosed artifact add NAME FILE</code></p>');
  });

  test("Jobs shows zero of every state and 'no jobs yet'", async () => {
    const live = region(await page("/jobs"), "jobs");
    expect(live).toContain('<a href="/jobs?state=queued" class="state-queued">queued</a> <span data-count="queued">0</span>');
    expect(live).toContain('<p class="none">no jobs yet</p>');
  });

  test("Events with a filter nothing matches says so", async () => {
    expect(region(await page("/events?type=nothing.like.this"), "events")).toContain('<p class="none">no events match</p>');
  });
});

describe("Artifacts", () => {
  const kernel = new Uint8Array(3000).fill(7);
  const digest = createHash("sha256").update(kernel).digest("hex");

  beforeAll(async () => {
    const put = (name: string, query: string, bytes: Uint8Array) =>
      json(fetch(`${goosed.url}/v1/artifacts/${name}?${query}`, { method: "PUT", headers: { authorization: `Bearer ${goosed.token}` }, body: bytes }), 201);
    await put("rocky9/vmlinuz", `kind=kernel&source=${encodeURIComponent(HOSTILE)}`, kernel);
    await put("rocky9/initrd.img", "kind=initrd", new Uint8Array(10));
  });

  test("lists each artifact with its download link, kind, size, short digest and source, escaped", async () => {
    const body = await page("/artifacts");
    const live = region(body, "artifacts");
    expect(rowsOf(live, "data-artifact")).toEqual(["rocky9/initrd.img", "rocky9/vmlinuz"]);
    expect(live).toContain('<p id="artifacts-summary">2 artifacts, 2.9 KiB; the S3 API holds 0 objects, 0 B.</p>');
    expect(live).toContain(
      `<tr data-artifact="rocky9/vmlinuz"><td class="mono"><a href="/artifacts/rocky9/vmlinuz" download>rocky9/vmlinuz</a></td><td>kernel</td><td class="num" title="3000 bytes">2.9 KiB</td><td class="mono" title="${digest}">${digest.slice(0, 12)}…</td><td class="mono">${ESCAPED}</td>`,
    );
    expect(body).not.toContain(HOSTILE);
  });

  test("the kind filter narrows the list; an unknown kind is a 422 that keeps the form", async () => {
    expect(rowsOf(await page("/artifacts?kind=initrd"), "data-artifact")).toEqual(["rocky9/initrd.img"]);
    expect(region(await page("/artifacts?kind=iso"), "artifacts")).toContain('<p class="none">no artifacts match</p>');
    const bad = await page("/artifacts?kind=nope", 422);
    expect(bad).toContain('<p class="error" role="alert">kind: &quot;nope&quot; is not one of');
    expect(bad).toContain('<form class="filters"');
  });
});

describe("Jobs and Events", () => {
  let failedJob: number;
  let verifyJob: number;
  let machineId: number;

  beforeAll(async () => {
    await using stream = await SseReader.open(`${goosed.url}/v1/events`, { authorization: `Bearer ${goosed.token}` });
    failedJob = (await json(api(goosed, "/v1/jobs", { body: { type: "bundles.import", payload: { path: `/nonexistent/${HOSTILE}.bundle` } } }), 201)).id;
    verifyJob = (await json(api(goosed, "/v1/jobs", { body: { type: "blobs.verify" } }), 201)).id;
    await stream.waitFor((f) => f.event === "job.failed" && dataOf(f).subject === `job:${failedJob}`);
    await stream.waitFor((f) => f.event === "job.succeeded" && dataOf(f).subject === `job:${verifyJob}`);
    machineId = (await json(api(goosed, "/v1/machines", { body: { hostname: "web-01", interfaces: [{ mac: "52:54:00:12:34:56" }] } }), 201)).id;
  });

  test("Jobs lists newest first with state, attempts and the failure escaped", async () => {
    const body = await page("/jobs");
    const live = region(body, "jobs");
    expect(rowsOf(live, "data-job")).toEqual([String(verifyJob), String(failedJob)]);
    expect(live).toContain('<span data-count="failed">1</span>');
    expect(live).toContain('<span data-count="succeeded">1</span>');
    expect(live).toMatch(new RegExp(`<tr data-job="${failedJob}"><td class="num">${failedJob}</td><td class="mono">bundles.import</td><td class="state-failed">failed</td><td class="num">1/2</td>`));
    expect(live).toContain(`<td>/nonexistent/${ESCAPED}.bundle does not exist on the appliance; check the path or the mounted stick</td></tr>`);
    expect(body).not.toContain(HOSTILE);
  });

  test("the state and type filters narrow the list, and keep their choices selected", async () => {
    const failed = await page("/jobs?state=failed");
    expect(rowsOf(failed, "data-job")).toEqual([String(failedJob)]);
    expect(failed).toContain('<option value="failed" selected>failed</option>');
    const verify = await page("/jobs?type=blobs.verify");
    expect(rowsOf(verify, "data-job")).toEqual([String(verifyJob)]);
    expect(verify).toContain('<option value="blobs.verify" selected>blobs.verify</option>');
    expect(rowsOf(await page("/jobs?type=blobs.verify&state=failed"), "data-job")).toEqual([]);
    expect(rowsOf(await page(`/jobs?before=${verifyJob}`), "data-job")).toEqual([String(failedJob)]);
    expect(await page("/jobs?state=bogus", 422)).toContain('<p class="error" role="alert">state: &quot;bogus&quot; is not one of queued');
  });

  test("Events lists newest first, links a machine subject, and escapes event data", async () => {
    const body = await page("/events");
    const live = region(body, "events");
    const ids = rowsOf(live, "data-event").map(Number);
    expect(ids.length).toBeGreaterThan(5);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(live).toContain(`<td class="mono">machine.created</td><td class="mono"><a href="/machines/${machineId}">machine:${machineId}</a></td><td class="mono data">{&quot;hostname&quot;:&quot;web-01&quot;,&quot;state&quot;:&quot;ready&quot;}</td>`);
    expect(live).toContain(`&quot;error&quot;:&quot;/nonexistent/${ESCAPED.replaceAll("&quot;", "\\&quot;")}.bundle does not exist`);
    expect(body).not.toContain(HOSTILE);
  });

  test("the type prefix filter narrows the list, and paging walks back through the filtered events", async () => {
    const machines = await page("/events?type=machine");
    expect(rowsOf(machines, "data-event").length).toBe(1);
    expect(machines).toContain('<input name="type" value="machine"');
    const jobEvents = rowsOf(await page(`/events?type=job.`), "data-event").map(Number);
    // queued, started, failed for one job; queued, started, progress…, succeeded for the other.
    expect(jobEvents.length).toBeGreaterThanOrEqual(6);
    const all = rowsOf(await page("/events"), "data-event").map(Number);
    const olderThanSecond = rowsOf(await page(`/events?type=job.&before=${jobEvents[1]}`), "data-event").map(Number);
    expect(olderThanSecond).toEqual(jobEvents.slice(2));
    expect(rowsOf(await page(`/events?before=${all[0]}`), "data-event").map(Number)).toEqual(all.slice(1));
    expect(await page("/events?before=x", 422)).toContain('<p class="error" role="alert">before: &quot;x&quot; is not an event id</p>');
  });
});

/** A page context over an in-process core, for what the API cannot create. */
function contextOf(t: TestCore, path: string, dhcpMode: "off" | "full" = "off"): PageContext {
  const deps = { core: t.core, config: { ...t.config, dhcp: { ...t.config.dhcp, mode: dhcpMode } }, dataDir: t.dataDir } as unknown as WebDeps;
  const url = new URL(`http://goosed.test${path}`);
  return { deps, request: new Request(url.href), url, params: {}, session: {} as PageContext["session"], now: Date.now() };
}

describe("Leases (rendered from an in-process core: only DHCP grants leases)", () => {
  const HOUR = 3_600_000;
  const lease = (ip: string, mac: string, overrides: Partial<LeaseRow> = {}) => testLease(ip, mac, { startsAt: Date.now() - 60_000, ...overrides });

  test("rows by address with the client's hostname escaped, MAC linked, and filters by MAC and active", async () => {
    await using t = openTestCore();
    await t.core.leases.save(lease("10.9.0.100", "52:54:00:00:00:01", { hostname: HOSTILE }), "granted");
    await t.core.leases.save(lease("10.9.0.101", "52:54:00:00:00:02", { state: "released" }), "released");
    await t.core.leases.save(lease("10.9.0.99", "52:54:00:00:00:03", { hostname: "old", expiresAt: Date.now() - HOUR }), "granted");

    const all = renderLeasesPage(contextOf(t, "/leases", "full")).body.value;
    expect(rowsOf(all, "data-ip")).toEqual(["10.9.0.99", "10.9.0.100", "10.9.0.101"]);
    expect(all).toContain(`<tr data-ip="10.9.0.100"><td class="mono">10.9.0.100</td><td class="mono"><a href="/machines/52:54:00:00:00:01">52:54:00:00:00:01</a></td><td>${ESCAPED}</td><td class="mono">10.9.0.0/24</td><td class="state-bound">bound</td>`);
    expect(all).toMatch(/<td class="state-expired">expired<\/td>.*\(1h 0m ago\)/);
    expect(all).toMatch(/\(in 59m 5\ds\)/);
    expect(all).not.toContain(HOSTILE);
    expect(all).not.toContain("DHCP is off");

    expect(rowsOf(renderLeasesPage(contextOf(t, "/leases?active=1", "full")).body.value, "data-ip")).toEqual(["10.9.0.100"]);
    const byMac = renderLeasesPage(contextOf(t, "/leases?mac=52-54-00-00-00-02", "full")).body.value;
    expect(rowsOf(byMac, "data-ip")).toEqual(["10.9.0.101"]);
    expect(byMac).toContain('<input name="mac" value="52-54-00-00-00-02"');
    const bad = renderLeasesPage(contextOf(t, "/leases?mac=nope"));
    expect(bad.status).toBe(422);
    expect(bad.body.value).toContain('<p class="error" role="alert">mac: &quot;nope&quot; is not a MAC address</p>');
  });

  test("pages by address with `after`, keeping the filter in the link", async () => {
    await using t = openTestCore();
    const ips = Array.from({ length: 102 }, (_, i) => i + 1);
    await Promise.all(ips.map((i) => t.core.leases.save(lease(`10.9.1.${i}`, `52:54:00:00:01:${i.toString(16).padStart(2, "0")}`), "granted")));
    const first = renderLeasesPage(contextOf(t, "/leases?active=1", "full")).body.value;
    expect(rowsOf(first, "data-ip").length).toBe(100);
    expect(first).toContain('<a rel="next" href="/leases?active=1&amp;after=10.9.1.100">next page</a>');
    const second = renderLeasesPage(contextOf(t, "/leases?active=1&after=10.9.1.100", "full")).body.value;
    expect(rowsOf(second, "data-ip")).toEqual(["10.9.1.101", "10.9.1.102"]);
    expect(second).toContain('<a href="/leases?active=1">first page</a>');
  });

  test("with DHCP off and no leases: the note, not an error", async () => {
    await using t = openTestCore();
    expect(renderLeasesPage(contextOf(t, "/leases")).body.value).toContain("DHCP is off on this appliance (dhcp.mode); leases appear when goosed serves DHCP");
    expect(renderLeasesPage(contextOf(t, "/leases", "full")).body.value).toContain('<p class="none">no leases yet</p>');
  });
});

describe("a job caught mid-run (in-process core)", () => {
  test("shows a progress bar with its message; Events truncates long data and keeps it whole in the title", async () => {
    await using t = openTestCore();
    let finish!: () => void;
    const released = new Promise<void>((resolve) => (finish = resolve));
    t.core.jobs.register(
      defineJob({
        type: "test.slow",
        description: "waits for the test",
        payload: Type.Object({ note: Type.String() }),
        concurrency: 1,
        operatorStartable: false,
        async run(_payload, ctx) {
          ctx.progress(0.5, `halfway ${HOSTILE}`);
          await released;
        },
      }),
    );
    t.core.start();
    const job = t.core.jobs.enqueue("test.slow", { note: "x".repeat(300) }, { id: "test" });
    await t.waitForEvent((e) => e.type === "job.progress" && e.subject === `job:${job.id}`);
    const jobs = renderJobsPage(contextOf(t, "/jobs")).body.value;
    expect(jobs).toContain(`<td><progress value="0.5" max="1" aria-label="job 1 progress" data-job-progress="1">50%</progress> <span class="muted" data-job-message="1">halfway ${ESCAPED}</span></td>`);
    expect(jobs).toContain('<td class="state-running">running</td>');

    t.core.bus.publish("test.big", "thing:1", { text: "y".repeat(300) });
    const events = renderEventsPage(contextOf(t, "/events?type=test.")).body.value;
    const full = JSON.stringify({ text: "y".repeat(300) });
    expect(events).toContain(`<td class="mono data" title="${full.replaceAll('"', "&quot;")}">${full.slice(0, 200).replaceAll('"', "&quot;")}…</td>`);
    finish();
    await t.waitForEvent((e) => e.type === "job.succeeded");
  });
});
