// GET /jobs: placeholder until the page is written.
import { html } from "./html.ts";
import type { PageContent, PageContext } from "./page.ts";

export function renderJobsPage(_ctx: PageContext): PageContent {
  return { title: "Jobs", body: html`<section data-live="jobs"></section>` };
}
