// GET /artifacts: the named artifacts machines fetch at /artifacts/<name>, with what the object store holds.
import { ARTIFACT_KINDS, type ArtifactKind } from "../db/index.ts";
import type { ArtifactRecord } from "../objects/index.ts";
import { formatBytes, none, timeCell } from "./format.ts";
import { html, type SafeHtml } from "./html.ts";
import type { PageContent, PageContext } from "./page.ts";

// Enough of a sha256 to tell artifacts apart by eye; the whole digest is in the cell's title.
const DIGEST_SHOWN = 12;

function filterForm(kind: ArtifactKind | undefined, problem: string | null): SafeHtml {
  return html`<section id="artifact-filters"><form class="filters" method="get" action="/artifacts">
<label>Kind<select name="kind"><option value="">any</option>${ARTIFACT_KINDS.map((k) => html`<option value="${k}"${k === kind ? html` selected` : ""}>${k}</option>`)}</select></label>
<button type="submit">Filter</button>${kind ? html` <a href="/artifacts">clear</a>` : ""}
</form>${problem ? html`<p class="error" role="alert">${problem}</p>` : ""}</section>`;
}

function artifactRow(artifact: ArtifactRecord, now: number): SafeHtml {
  return html`<tr data-artifact="${artifact.name}"><td class="mono"><a href="/artifacts/${artifact.name}" download>${artifact.name}</a></td><td>${artifact.kind}</td><td class="num" title="${artifact.sizeBytes} bytes">${formatBytes(artifact.sizeBytes)}</td><td class="mono" title="${artifact.digest}">${artifact.digest.slice(0, DIGEST_SHOWN)}…</td><td class="mono">${artifact.source}</td>${timeCell(artifact.createdAt, now)}</tr>`;
}

export function renderArtifactsPage(ctx: PageContext): PageContent {
  const objects = ctx.deps.objects;
  if (!objects) {
    return { title: "Artifacts", body: html`<section id="artifacts" data-live="artifacts"><h2>Artifacts</h2>${none("not configured: the object store did not open; the appliance log says why")}</section>` };
  }
  const kindText = ctx.url.searchParams.get("kind") ?? "";
  const kind = (ARTIFACT_KINDS as readonly string[]).includes(kindText) ? (kindText as ArtifactKind) : undefined;
  const problem = kindText !== "" && !kind ? `kind: "${kindText}" is not one of ${ARTIFACT_KINDS.join(", ")}` : null;
  const all = objects.catalog.listArtifacts();
  const shown = problem ? [] : kind ? all.filter((a) => a.kind === kind) : all;
  const totals = objects.catalog.totals();
  const artifactBytes = all.reduce((sum, a) => sum + a.sizeBytes, 0);
  // Artifacts and S3 objects share content by digest, so the two byte figures may count the same blob twice.
  const summary = html`<p id="artifacts-summary">${all.length} ${all.length === 1 ? "artifact" : "artifacts"}, ${formatBytes(artifactBytes)}; the S3 API holds ${totals.objects} ${totals.objects === 1 ? "object" : "objects"}, ${formatBytes(totals.bytes)}.</p>`;
  const content =
    shown.length === 0
      ? all.length === 0
        ? html`<p class="none">no artifacts yet: add one with <code>goosed artifact add NAME FILE</code></p>`
        : none(problem ? "no artifacts shown: fix the filter above" : "no artifacts match")
      : html`<table id="artifacts-table"><thead><tr><th>Name</th><th>Kind</th><th>Size</th><th>sha256</th><th>Source</th><th>Added</th></tr></thead><tbody>${shown.map((a) => artifactRow(a, ctx.now))}</tbody></table>`;
  return {
    title: "Artifacts",
    status: problem ? 422 : undefined,
    body: html`${filterForm(kind, problem)}
<section id="artifacts" data-live="artifacts"><h2>Artifacts</h2>${summary}${content}</section>`,
  };
}
