// GET /bundles: imports in progress with their progress bars, bundles found on an inserted USB stick with an import
// button, imported bundles with signer, version and time, and imports that failed with their reason.
import { type FoundBundle, IMPORT_BUNDLE_JOB, listImportedBundles } from "../bundles/index.ts";
import type { JobRow } from "../core/index.ts";
import { formatBytes, isoCell, none, stateCell, timeCell } from "./format.ts";
import { html, type SafeHtml } from "./html.ts";
import { ACTIONS_PATH, type ActionContext, canWrite, csrfField, type PageContent, type PageContext } from "./page.ts";
import { AppError } from "../lib/errors.ts";

const FAILURES_SHOWN = 10;

const pathOf = (job: JobRow) => String((job.payload as { path?: unknown }).path ?? "");
/** Uploads land under <data>/bundles/incoming with a random name; the operator knows them as uploads. */
const shownPath = (job: JobRow) => (pathOf(job).includes("/bundles/incoming/") ? "uploaded with goosed bundle import" : pathOf(job));

function activeSection(jobs: JobRow[]): SafeHtml {
  return html`<section data-live="imports"><h2>Imports in progress</h2>${
    jobs.length === 0
      ? none()
      : html`<table id="imports-table"><thead><tr><th>Job</th><th>Bundle</th><th>State</th><th>Progress</th></tr></thead><tbody>${jobs.map(
          (job) =>
            html`<tr data-job="${job.id}"><td class="num">${job.id}</td><td class="mono">${shownPath(job)}</td>${stateCell(job.state)}<td><progress max="1" value="${job.progress}" aria-label="import ${job.id}" data-job-progress="${job.id}">${Math.round(job.progress * 100)}%</progress>
<div class="muted" data-job-message="${job.id}">${job.progressMessage ?? (job.state === "queued" ? "waiting for a worker" : "starting")}</div></td></tr>`,
        )}</tbody></table>`
  }</section>`;
}

function foundSection(ctx: PageContext, found: FoundBundle[] | null, importing: Set<string>): SafeHtml {
  if (found === null) {
    return html`<section data-live="found"><h2>On USB sticks</h2><p class="none">not configured: set bundles.watchDir (e.g. /media) and goosed offers the bundles on any stick mounted below it</p></section>`;
  }
  const writable = canWrite(ctx.session);
  const button = (bundle: FoundBundle): SafeHtml => {
    if (bundle.problem) return html`<span class="down">${bundle.problem}</span>`;
    if (bundle.signer !== "trusted") return html`<span class="down">signer ${bundle.signerKeyId ?? ""} is ${bundle.signer}; trust it with goosed keys trust</span>`;
    if (importing.has(bundle.path)) return html`<span class="muted">importing</span>`;
    if (!writable) return html`<span class="muted">needs the write scope</span>`;
    return html`<form class="action" method="post" action="${BUNDLE_IMPORT_ACTION}">${csrfField(ctx.session)}<input type="hidden" name="path" value="${bundle.path}"><button type="submit">Import</button></form>`;
  };
  return html`<section data-live="found"><h2>On USB sticks</h2>${
    found.length === 0
      ? none("no bundle found; insert a stick holding *.tar.zst bundles")
      : html`<table id="found-table"><thead><tr><th>File</th><th>Bundle</th><th>Size</th><th>Signer</th><th></th></tr></thead><tbody>${found.map(
          (b) =>
            html`<tr data-path="${b.path}"><td class="mono">${b.path}</td><td>${b.name ? `${b.name} ${b.version}` : ""}</td><td class="num">${formatBytes(b.sizeBytes)}</td><td class="${b.signer === "trusted" ? "ok" : "down"}">${b.signer}</td><td>${button(b)}</td></tr>`,
        )}</tbody></table>`
  }</section>`;
}

function importedSection(ctx: PageContext): SafeHtml {
  const signers = new Map(ctx.deps.trust.list().map((k) => [k.keyId, k.name]));
  const imported = listImportedBundles(ctx.deps.core.store.db);
  return html`<section data-live="imported"><h2>Imported</h2>${
    imported.length === 0
      ? none("no bundle imported yet")
      : html`<table id="imported-table"><thead><tr><th>Bundle</th><th>Version</th><th>Signer</th><th>Files</th><th>Size (new)</th><th>Imported</th><th>By</th></tr></thead><tbody>${imported.map(
          (b) =>
            html`<tr data-bundle="${b.name}@${b.version}"><td>${b.name}</td><td class="mono">${b.version}</td><td>${signers.get(b.signerKeyId) ?? html`<span class="mono">${b.signerKeyId}</span>`}</td><td class="num">${b.summary.entries}</td><td class="num">${formatBytes(b.summary.bytes)} (${formatBytes(b.summary.newBytes)})</td>${timeCell(b.importedAt, ctx.now)}<td>${b.importedBy}</td></tr>`,
        )}</tbody></table>`
  }</section>`;
}

function failedSection(jobs: JobRow[]): SafeHtml {
  return html`<section data-live="failed"><h2>Failed imports</h2>${
    jobs.length === 0
      ? none()
      : html`<table id="failed-table"><thead><tr><th>Job</th><th>Bundle</th><th>When</th><th>Reason</th></tr></thead><tbody>${jobs.map(
          (job) => html`<tr data-job="${job.id}"><td class="num">${job.id}</td><td class="mono">${shownPath(job)}</td>${isoCell(job.finishedAt ?? job.updatedAt)}<td class="down">${job.error ?? ""}</td></tr>`,
        )}</tbody></table>`
  }</section>`;
}

export function renderBundlesPage(ctx: PageContext): PageContent {
  const { jobs } = ctx.deps.core;
  const active = [...jobs.list({ type: IMPORT_BUNDLE_JOB, state: "running", limit: 50 }).items, ...jobs.list({ type: IMPORT_BUNDLE_JOB, state: "queued", limit: 50 }).items];
  const failed = jobs.list({ type: IMPORT_BUNDLE_JOB, state: "failed", limit: FAILURES_SHOWN }).items;
  const found = ctx.deps.watcher ? ctx.deps.watcher.list() : null;
  return {
    title: "Bundles",
    body: html`${activeSection(active)}
${foundSection(ctx, found, new Set(active.map(pathOf)))}
${importedSection(ctx)}
${failedSection(failed)}`,
  };
}

export const BUNDLE_IMPORT_ACTION = `${ACTIONS_PATH}/bundles/import`;

/** Imports a bundle the watcher found; any other path is refused, so the form cannot be aimed at arbitrary files. */
export function importFoundAction(ctx: ActionContext): string {
  const path = ctx.fields.path ?? "";
  const bundle = ctx.deps.watcher?.list().find((b) => b.path === path);
  if (!bundle) {
    throw new AppError({ code: "bundle-not-found", status: 404, title: "Bundle not found", detail: `no bundle at ${path} on an inserted stick; it may have been removed` });
  }
  const { jobs } = ctx.deps.core;
  const importing = (["queued", "running"] as const).some((state) => jobs.list({ type: IMPORT_BUNDLE_JOB, state, limit: 100 }).items.some((job) => pathOf(job) === path));
  if (importing) throw new AppError({ code: "import-in-progress", status: 409, title: "Already importing", detail: `${path} is being imported already; its progress is on the Bundles page` });
  jobs.enqueue(IMPORT_BUNDLE_JOB, { path }, ctx.actor, { operator: true });
  return "/bundles";
}
