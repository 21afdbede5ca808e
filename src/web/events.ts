// GET /events: placeholder until the page is written.
import { html } from "./html.ts";
import type { PageContent, PageContext } from "./page.ts";

export function renderEventsPage(_ctx: PageContext): PageContent {
  return { title: "Events", body: html`<section data-live="events"></section>` };
}
