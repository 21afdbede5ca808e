// GET /leases: placeholder until the page is written.
import { html } from "./html.ts";
import type { PageContent, PageContext } from "./page.ts";

export function renderLeasesPage(_ctx: PageContext): PageContent {
  return { title: "Leases", body: html`<section data-live="leases"></section>` };
}
