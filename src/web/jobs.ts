// GET /jobs: the job queue newest first, with counts by state, filters by state and type, and running jobs' progress.
import { JOB_STATES, type JobRow, type JobState } from "../core/index.ts";
import { none, pager, stateCell, timeCell } from "./format.ts";
import { html, type SafeHtml } from "./html.ts";
import type { PageContent, PageContext } from "./page.ts";

const PAGE_SIZE = 50;

interface JobQuery {
  state?: JobState;
  type?: string;
  before?: number;
  problems: string[];
}

function readQuery(url: URL): JobQuery {
  const params = url.searchParams;
  const problems: string[] = [];
  const stateText = params.get("state") ?? "";
  const state = (JOB_STATES as readonly string[]).includes(stateText) ? (stateText as JobState) : undefined;
  if (stateText !== "" && !state) problems.push(`state: "${stateText}" is not one of ${JOB_STATES.join(", ")}`);
  const type = params.get("type") || undefined;
  const beforeText = params.get("before") ?? "";
  const before = /^[1-9]\d{0,15}$/.test(beforeText) ? Number(beforeText) : undefined;
  if (beforeText !== "" && before === undefined) problems.push(`before: "${beforeText}" is not a job id`);
  return { state, type, before, problems };
}

/** This page's address with the filters kept and `before` replaced. */
function filterForm(q: JobQuery, types: string[]): SafeHtml {
  // A type no longer registered (a job from an older version) stays selectable while it is the filter.
  const typeChoices = q.type && !types.includes(q.type) ? [...types, q.type] : types;
  return html`<section id="job-filters"><form class="filters" method="get" action="/jobs">
<label>State<select name="state"><option value="">any</option>${JOB_STATES.map((s) => html`<option value="${s}"${s === q.state ? html` selected` : ""}>${s}</option>`)}</select></label>
<label>Type<select name="type"><option value="">any</option>${typeChoices.map((t) => html`<option value="${t}"${t === q.type ? html` selected` : ""}>${t}</option>`)}</select></label>
<button type="submit">Filter</button>${q.state || q.type ? html` <a href="/jobs">clear</a>` : ""}
</form>${q.problems.map((p) => html`<p class="error" role="alert">${p}</p>`)}</section>`;
}

function countsLine(counts: Record<JobState, number>): SafeHtml {
  return html`<p id="job-counts">${JOB_STATES.map((s, i) => html`${i > 0 ? ", " : ""}<a href="/jobs?state=${s}" class="state-${s}">${s}</a> <span data-count="${s}">${counts[s]}</span>`)}</p>`;
}

function progressCell(job: JobRow): SafeHtml {
  const percent = Math.round(job.progress * 100);
  if (job.state === "running") {
    return html`<td><progress value="${job.progress}" max="1" aria-label="job ${job.id} progress" data-job-progress="${job.id}">${percent}%</progress> <span class="muted" data-job-message="${job.id}">${job.progressMessage ?? ""}</span></td>`;
  }
  return html`<td class="muted">${job.progressMessage ?? ""}</td>`;
}

function jobRow(job: JobRow, now: number): SafeHtml {
  const attempts = html`${job.attempts}/${job.maxAttempts}`;
  return html`<tr data-job="${job.id}"><td class="num">${job.id}</td><td class="mono">${job.type}</td>${stateCell(job.state)}<td class="num">${attempts}</td>${progressCell(job)}${timeCell(job.createdAt, now)}${timeCell(job.updatedAt, now)}<td>${job.error ?? ""}</td></tr>`;
}

export function renderJobsPage(ctx: PageContext): PageContent {
  const { jobs } = ctx.deps.core;
  const q = readQuery(ctx.url);
  const types = jobs.types().map((d) => d.type).sort();
  const page = q.problems.length > 0 ? { items: [], next: null } : jobs.list({ state: q.state, type: q.type, before: q.before, limit: PAGE_SIZE });
  const filtered = q.state !== undefined || q.type !== undefined || q.before !== undefined;
  const content =
    page.items.length === 0
      ? none(q.problems.length > 0 ? "no jobs shown: fix the filter above" : filtered ? "no jobs match" : "no jobs yet")
      : html`<table id="jobs-table"><thead><tr><th>Job</th><th>Type</th><th>State</th><th>Attempts</th><th>Progress</th><th>Created</th><th>Updated</th><th>Error</th></tr></thead><tbody>${page.items.map((job) => jobRow(job, ctx.now))}</tbody></table>`;
  const links = pager(ctx.url, "before", page.next, { first: "newest", next: "older jobs" });
  return {
    title: "Jobs",
    status: q.problems.length > 0 ? 422 : undefined,
    body: html`${filterForm(q, types)}
<section id="jobs" data-live="jobs"><h2>Jobs</h2>${countsLine(jobs.counts())}${content}${links}</section>`,
  };
}
