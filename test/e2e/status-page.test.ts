// The status page in a real browser (Debian's chromium, driven by playwright-core) against a real goosed: login,
// every page without a console error or a request leaving the appliance, live updates without reloads (a USB bundle
// appearing, an import's progress, a machine enrolling, its run moving on), provisioning from the machine page, and
// the refusals: a wrong token, an action without the CSRF token, a read-only token acting, a revoked token's session.
// Screenshots of every page land in test-artifacts/status-page/.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { launchChromium, type WatchedPage, watchedPage } from "../support/browser.ts";
import { api, type RunningGoosed, runGoosed, startGoosed, tempDir, type TempDir } from "../support/goosed.ts";
import { json, text } from "../support/http.ts";

setDefaultTimeout(120_000);

// Big enough that an import takes seconds here, so its progress bar is seen at several values.
const PAYLOAD_BYTES = 512 * 1024 * 1024;
const MAC = "52:54:00:0e:00:01";

let dir: TempDir;
let goosed: RunningGoosed;
let browser: Browser;
let admin: WatchedPage;
let media: string;
let bundle: string;

beforeAll(async () => {
  dir = tempDir("goosed-web-");
  expect((await runGoosed(["keys", "generate", join(dir.path, "lab")])).code).toBe(0);
  const src = join(dir.path, "src");
  mkdirSync(join(src, "lab"), { recursive: true });
  mkdirSync(join(src, "profiles"), { recursive: true });
  writeFileSync(join(src, "lab", "linux"), randomBytes(4 * 1024 * 1024));
  writeFileSync(join(src, "lab", "initrd.gz"), randomBytes(PAYLOAD_BYTES));
  writeFileSync(join(src, "profiles", "lab.yaml"), "name: lab\ndescription: the lab image\nosFamily: debian\nkernel: lab/linux\ninitrd: [lab/initrd.gz]\n");
  bundle = join(dir.path, "lab-1.0.tar.zst");
  const built = await runGoosed(["bundle", "build", src, "--name", "lab", "--bundle-version", "1.0", "--key", join(dir.path, "lab.sec"), "--out", bundle]);
  expect(built.code).toBe(0);

  media = join(dir.path, "media");
  mkdirSync(media);
  goosed = await startGoosed({ dataDir: join(dir.path, "data"), args: ["--bundles-watch-dir", media] });
  expect((await runGoosed(["keys", "trust", join(dir.path, "lab.pub"), "--name", "lab-release", "--api", goosed.url, "--token", goosed.token])).code).toBe(0);
  browser = await launchChromium();
  admin = await watchedPage(browser, goosed.url);
});

afterAll(async () => {
  await browser?.close();
  if (goosed) expect(await goosed.stop()).toBe(0);
  await dir?.[Symbol.asyncDispose]();
});

async function logIn(page: Page, token: string): Promise<void> {
  await page.goto(`${goosed.url}/login`);
  await page.fill("#token", token);
  await Promise.all([page.waitForURL(`${goosed.url}/`), page.click("form.login button")]);
}

/** Marks the document; the mark survives live updates and is gone after any reload or navigation. */
const mark = (page: Page) => page.evaluate("window.notReloaded = true");
const stillMarked = (page: Page) => page.evaluate("window.notReloaded === true");

interface ImportSample {
  value: number | null;
  message: string | null;
  imported: boolean;
}
// Read in the page in one go (the tests' TypeScript has no DOM types, so the browser side is plain script).
const SAMPLE_IMPORT = `(() => {
  const bar = document.querySelector("#imports-table progress");
  const message = document.querySelector("#imports-table [data-job-message]");
  return { value: bar ? bar.value : null, message: message ? message.textContent : null, imported: document.querySelector('#imported-table tr[data-bundle="lab@1.0"]') !== null };
})()`;
const live = (page: Page) => page.waitForSelector("#live-state[data-state=live]", { timeout: 10_000 });

describe("login", () => {
  test("a wrong token cannot log in: the form says why and no session cookie is set", async () => {
    const { context, page, offAppliance, screenshot } = await watchedPage(browser, goosed.url);
    await page.goto(`${goosed.url}/machines`);
    expect(new URL(page.url()).pathname).toBe("/login");
    await page.fill("#token", "gsd_wrong_0123456789abcdef");
    const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === "POST"), page.click("form.login button")]);
    expect(response.status()).toBe(401);
    expect(await page.textContent("[role=alert]")).toBe("That token is unknown, revoked or expired.");
    expect((await context.cookies()).filter((c) => c.name === "goosed_session")).toEqual([]);
    await screenshot("login-refused");
    expect(offAppliance).toEqual([]);
    await context.close();
  });

  test("the admin token logs in to the Overview, whose live stream connects", async () => {
    await logIn(admin.page, goosed.token);
    expect(await admin.page.textContent("h1")).toBe("Overview");
    await live(admin.page);
    const cookie = (await admin.context.cookies()).find((c) => c.name === "goosed_session")!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Strict" });
    expect(await admin.page.locator("#services tr[data-service=s3] td").nth(4).textContent()).toBe(`${goosed.port} (/s3)`);
    expect(admin.errors).toEqual([]);
  });
});

describe("live updates", () => {
  test("a bundle on an inserted stick appears without a reload; its import shows moving progress, then lands", async () => {
    const { page } = admin;
    await page.goto(`${goosed.url}/bundles`);
    await live(page);
    await mark(page);
    mkdirSync(join(media, "usb0"));
    copyFileSync(bundle, join(media, "usb0", "lab-1.0.tar.zst"));
    const row = page.locator("#found-table tr", { hasText: "lab 1.0" });
    await row.waitFor({ timeout: 20_000 });
    expect(await stillMarked(page)).toBe(true);
    expect(await row.locator("td").nth(3).textContent()).toBe("trusted");
    await admin.screenshot("bundles-found");

    await Promise.all([page.waitForURL(`${goosed.url}/bundles`), row.locator("button", { hasText: "Import" }).click()]);
    await live(page);
    await mark(page);
    const seen: number[] = [];
    const messages = new Set<string>();
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      const sample = (await page.evaluate(SAMPLE_IMPORT)) as ImportSample;
      if (sample.value !== null && seen.at(-1) !== sample.value) seen.push(sample.value);
      if (sample.message) messages.add(sample.message);
      if (seen.length === 2) await admin.screenshot("bundles-importing");
      if (sample.imported) break;
      await Bun.sleep(50);
    }
    expect(await stillMarked(page)).toBe(true);
    // The bar moved: several values, each past the last, all short of done while the import ran.
    const moving = seen.filter((v) => v > 0 && v < 1);
    expect(moving.length).toBeGreaterThanOrEqual(2);
    expect([...moving].sort((a, b) => a - b)).toEqual(moving);
    expect([...messages].some((m) => /[\d.]+ of [\d.]+ MiB, [\d.]+ MiB\/s, \d+ s left/.test(m))).toBe(true);
    const imported = page.locator('#imported-table tr[data-bundle="lab@1.0"]');
    expect(await imported.locator("td").nth(2).textContent()).toBe("lab-release");
    expect(await page.locator("#imports-table").count()).toBe(0);
    await admin.screenshot("bundles-imported");
    expect(admin.errors).toEqual([]);
    console.log(`import progress seen at ${moving.map((v) => v.toFixed(2)).join(", ")}; last message: ${[...messages].at(-1)}`);
  });

  test("a machine that enrolls appears on the Machines page without a reload", async () => {
    const { page } = admin;
    await page.goto(`${goosed.url}/machines`);
    await live(page);
    await mark(page);
    expect(await page.locator(`#machines-table tr`, { hasText: MAC }).count()).toBe(0);
    await text(`${goosed.url}/boot/boot.ipxe?mac=${MAC}&arch=x86_64`);
    const row = page.locator("#machines-table tr", { hasText: MAC });
    await row.waitFor({ timeout: 10_000 });
    expect(await stillMarked(page)).toBe(true);
    expect(await row.locator("td").nth(4).textContent()).toBe("discovered");
    await admin.screenshot("machines");
  });
});

describe("actions", () => {
  test("provisioning from the machine page starts a run, whose stages then arrive live", async () => {
    const { page } = admin;
    await Promise.all([page.waitForURL(/\/machines\/\d+$/), page.locator("#machines-table tr", { hasText: MAC }).locator("a").click()]);
    await page.selectOption("#profile", "lab");
    await Promise.all([page.waitForURL(/\/machines\/\d+$/), page.click("#provision-form button")]);
    await live(page);
    await mark(page);
    const run = page.locator("article[data-run]").first();
    expect(await run.locator("h3").textContent()).toContain("lab, pending");
    const runs = await json(api(goosed, `/v1/runs?machine=${MAC}`), 200);
    expect(runs.items[0]).toMatchObject({ profile: "lab", state: "pending" });
    expect(await page.textContent("#machine-state")).toBe("provisioning");

    // The machine network-boots: its run moves to booting on the page, with no reload.
    const chain = /chain --replace (\S+)/.exec(await text(`${goosed.url}/boot/boot.ipxe?mac=${MAC}&arch=x86_64`))![1]!.replace("${mac}", MAC);
    expect(await text(chain)).toContain("/artifacts/lab/linux");
    await page.locator("article[data-run] h3", { hasText: "booting" }).waitFor({ timeout: 10_000 });
    expect(await stillMarked(page)).toBe(true);
    expect(await page.locator("section[data-live=audit]").textContent()).toContain("run.create");
    await admin.screenshot("machine");
    expect(admin.errors).toEqual([]);
  });

  test("an action without the session's CSRF token is refused and changes nothing", async () => {
    const { page } = admin;
    await page.locator("#cancel-form input[name=_csrf]").evaluate((input) => input.remove());
    const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === "POST"), page.click("#cancel-form button")]);
    expect(response.status()).toBe(403);
    expect(await page.textContent("h1")).toBe("Action refused");
    expect(await page.textContent("[role=alert]")).toContain("CSRF token");
    const runs = await json(api(goosed, `/v1/runs?machine=${MAC}`), 200);
    expect(runs.items[0].state).toBe("booting");
    // The 403 is the refusal itself, logged by the browser as a failed load; nothing else may have failed.
    expect(admin.errors.filter((e) => !e.includes("status of 403"))).toEqual([]);
    admin.errors.length = 0;
  });

  test("a read-only token reads every page but cannot act, and revoking it ends its session, open page and all", async () => {
    const created = await json(api(goosed, "/v1/tokens", { body: { name: "viewer", scopes: ["read"] } }), 201);
    const viewer = await watchedPage(browser, goosed.url);
    await logIn(viewer.page, created.token);
    await viewer.page.goto(`${goosed.url}/machines/${MAC}`);
    expect(await viewer.page.locator("#provision-form").count()).toBe(0);
    expect(await viewer.page.textContent("main")).toContain("may only read");
    // A post made by hand is refused for want of the write scope, and the machine stays as it was.
    const refused = await viewer.page.evaluate(async (mac) => {
      const response = await fetch(`/actions/machines/${mac}/retire`, { method: "POST", body: new URLSearchParams({ _csrf: "" }) });
      return { status: response.status, page: await response.text() };
    }, MAC);
    expect(refused.status).toBe(403);
    expect(refused.page).toContain("may only read");
    expect((await json(api(goosed, `/v1/machines/${MAC}`), 200)).state).toBe("provisioning");

    // Revoked while its page is open and live: the page finds itself logged out and goes to the login form.
    await viewer.page.goto(`${goosed.url}/machines`);
    await live(viewer.page);
    await json(api(goosed, `/v1/tokens/${created.id}`, { method: "DELETE" }), 200);
    await viewer.page.waitForURL(`${goosed.url}/login`, { timeout: 30_000 });
    await viewer.page.goto(`${goosed.url}/machines`);
    expect(new URL(viewer.page.url()).pathname).toBe("/login");
    expect(viewer.offAppliance).toEqual([]);
    await viewer.context.close();
  });
});

describe("every page", () => {
  test("without JavaScript the pages still log in and read; they just do not update by themselves", async () => {
    const plain = await watchedPage(browser, goosed.url, { javaScript: false });
    await logIn(plain.page, goosed.token);
    await plain.page.goto(`${goosed.url}/machines`);
    expect(await plain.page.locator("#machines-table tr", { hasText: MAC }).count()).toBe(1);
    expect(await plain.page.textContent("#live-state")).toBe("static");
    await plain.page.goto(`${goosed.url}/bundles`);
    expect(await plain.page.locator('#imported-table tr[data-bundle="lab@1.0"]').count()).toBe(1);
    expect(plain.errors).toEqual([]);
    expect(plain.offAppliance).toEqual([]);
    await plain.context.close();
  });

  for (const [name, path] of [
    ["overview", "/"],
    ["machines", "/machines"],
    ["machine", `/machines/${MAC}`],
    ["leases", "/leases"],
    ["artifacts", "/artifacts"],
    ["jobs", "/jobs"],
    ["events", "/events"],
    ["bundles", "/bundles"],
  ] as const) {
    test(`${path} loads with its live stream, no console error and no request leaving the appliance`, async () => {
      const response = await admin.page.goto(`${goosed.url}${path}`);
      expect(response!.status()).toBe(200);
      expect(response!.headers()["content-security-policy"]).toContain("default-src 'none'");
      await live(admin.page);
      // The page fits a 1024-px-wide screen: nothing scrolls sideways.
      expect(await admin.page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(1024);
      await admin.screenshot(`page-${name}`);
      expect(admin.errors).toEqual([]);
      expect(admin.offAppliance).toEqual([]);
    });
  }
});
