// GET /events: the event log newest first, filtered by type prefix (machine, job.failed), paged to older events.
import type { AppEvent, EventBus } from "../core/index.ts";
import { none, pager, timeCell } from "./format.ts";
import { html, type SafeHtml } from "./html.ts";
import type { PageContent, PageContext } from "./page.ts";

const PAGE_SIZE = 100;
// The bus reads forward from an id; a filtered page reads back in windows of this many events.
const SCAN_WINDOW = 500;
// A rare type must not make one page read the whole log: after this many events the page stops and offers "older".
const SCAN_BUDGET = 10_000;
// Event data is JSON of any size; the cell shows this much and the title holds all of it.
const DATA_SHOWN = 200;

interface EventQuery {
  type: string;
  before?: number;
  problems: string[];
}

function readQuery(url: URL): EventQuery {
  const params = url.searchParams;
  const beforeText = params.get("before") ?? "";
  const before = /^[1-9]\d{0,15}$/.test(beforeText) ? Number(beforeText) : undefined;
  return { type: (params.get("type") ?? "").trim(), before, problems: beforeText !== "" && before === undefined ? [`before: "${beforeText}" is not an event id`] : [] };
}

/**
 * Up to `limit` events older than `before` (newest first) whose type starts with `type`, and where to continue: the
 * bus has no "before" read, so this walks back in windows with since(), which events pruned meanwhile only shorten.
 */
function eventsBefore(bus: EventBus, type: string, before: number | undefined, limit: number): { items: AppEvent[]; next: number | null } {
  const matches = (e: AppEvent) => e.type.startsWith(type);
  if (before === undefined && type === "") {
    const rows = bus.recent(limit + 1);
    return { items: rows.slice(0, limit), next: rows.length > limit ? rows[limit - 1]!.id : null };
  }
  let cursor = before ?? (bus.recent(1)[0]?.id ?? 0) + 1;
  const oldest = bus.oldestId() ?? cursor;
  const found: AppEvent[] = [];
  let scanned = 0;
  while (cursor > oldest && found.length <= limit && scanned < SCAN_BUDGET) {
    const from = Math.max(0, cursor - SCAN_WINDOW - 1);
    const window = bus.since(from, SCAN_WINDOW).filter((e) => e.id < cursor);
    scanned += window.length;
    for (let i = window.length - 1; i >= 0; i--) if (matches(window[i]!)) found.push(window[i]!);
    cursor = from + 1;
  }
  if (found.length > limit) return { items: found.slice(0, limit), next: found[limit - 1]!.id };
  // Out of budget before the log's start: the next page resumes where this one stopped reading.
  return { items: found, next: cursor > oldest ? cursor : null };
}

/** This page's address with the filter kept and `before` replaced. */
function filterForm(q: EventQuery): SafeHtml {
  return html`<section id="event-filters"><form class="filters" method="get" action="/events">
<label>Type starts with<input name="type" value="${q.type}" placeholder="machine" spellcheck="false"></label>
<button type="submit">Filter</button>${q.type ? html` <a href="/events">clear</a>` : ""}
</form>${q.problems.map((p) => html`<p class="error" role="alert">${p}</p>`)}</section>`;
}

/** machine:12 links to its machine page; other subjects are shown as they are. */
function subjectCell(subject: string): SafeHtml {
  const machine = /^machine:(\d+)$/.exec(subject);
  return machine ? html`<td class="mono"><a href="/machines/${machine[1]}">${subject}</a></td>` : html`<td class="mono">${subject}</td>`;
}

function dataCell(data: Record<string, unknown>): SafeHtml {
  const full = JSON.stringify(data);
  if (full.length <= DATA_SHOWN) return html`<td class="mono data">${full}</td>`;
  return html`<td class="mono data" title="${full}">${full.slice(0, DATA_SHOWN)}…</td>`;
}

function eventRow(event: AppEvent, now: number): SafeHtml {
  return html`<tr data-event="${event.id}"><td class="num">${event.id}</td>${timeCell(event.at, now)}<td class="mono">${event.type}</td>${subjectCell(event.subject)}${dataCell(event.data)}</tr>`;
}

export function renderEventsPage(ctx: PageContext): PageContent {
  const q = readQuery(ctx.url);
  const page = q.problems.length > 0 ? { items: [], next: null } : eventsBefore(ctx.deps.core.bus, q.type, q.before, PAGE_SIZE);
  const filtered = q.type !== "" || q.before !== undefined;
  const content =
    page.items.length === 0
      ? none(q.problems.length > 0 ? "no events shown: fix the filter above" : filtered ? "no events match" : "no events yet")
      : html`<table id="events-table"><thead><tr><th>Id</th><th>Time</th><th>Type</th><th>Subject</th><th>Data</th></tr></thead><tbody>${page.items.map((event) => eventRow(event, ctx.now))}</tbody></table>`;
  const links = pager(ctx.url, "before", page.next, { first: "newest", next: "older events" });
  return {
    title: "Events",
    status: q.problems.length > 0 ? 422 : undefined,
    body: html`${filterForm(q)}
<section id="events" data-live="events"><h2>${q.type ? html`Events of type ${q.type}…` : "Events"}</h2>${content}${links}</section>`,
  };
}
