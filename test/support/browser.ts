// Debian's chromium, driven by playwright-core, watching everything a page does: console errors, uncaught
// exceptions, and any request aimed anywhere but the appliance under test (refused before it leaves).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { REPO_ROOT } from "./goosed.ts";
import { requireTool } from "./tools.ts";

/** Screenshots the browser tests save, kept after the run for a person to look at. */
export const SCREENSHOT_DIR = join(REPO_ROOT, "test-artifacts", "status-page");

export async function launchChromium(): Promise<Browser> {
  const executablePath = requireTool("chromium");
  // Tests run as root in CI, where chromium's sandbox cannot start.
  return chromium.launch({ executablePath, args: ["--no-sandbox"], timeout: 30_000 });
}

export interface WatchedPage {
  context: BrowserContext;
  page: Page;
  /** "console.error" lines and uncaught exceptions, with the page URL they happened on. */
  errors: string[];
  /** Requests to anywhere but `origin`; each was aborted. */
  offAppliance: string[];
  screenshot(name: string): Promise<string>;
}

/** A fresh context (its own cookies) at a 1024-px-wide window, the narrowest screen the status page is built for. */
export async function watchedPage(browser: Browser, origin: string, options: { javaScript?: boolean } = {}): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: { width: 1024, height: 768 }, javaScriptEnabled: options.javaScript ?? true });
  const errors: string[] = [];
  const offAppliance: string[] = [];
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (new URL(url).origin === origin) return route.continue();
    offAppliance.push(url);
    return route.abort("blockedbyclient");
  });
  const page = await context.newPage();
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`${page.url()}: ${message.text()}`);
  });
  page.on("pageerror", (error) => errors.push(`${page.url()}: uncaught ${error.message}`));
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return {
    context,
    page,
    errors,
    offAppliance,
    async screenshot(name) {
      const path = join(SCREENSHOT_DIR, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
  };
}
