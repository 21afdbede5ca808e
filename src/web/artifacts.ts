// GET /artifacts: placeholder until the page is written.
import { html } from "./html.ts";
import type { PageContent, PageContext } from "./page.ts";

export function renderArtifactsPage(_ctx: PageContext): PageContent {
  return { title: "Artifacts", body: html`<section data-live="artifacts"></section>` };
}
