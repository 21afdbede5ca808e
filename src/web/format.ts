// How the status page writes sizes, durations, times and empty sections, the same on every page.
import { html, type SafeHtml } from "./html.ts";

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

export function formatElapsed(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${seconds % 60}s`;
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

/** A time as UTC to the second: lab machines' clocks are compared with logs, which are in UTC. */
export const iso = (ms: number | null | undefined): string => (ms === null || ms === undefined ? "" : new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z"));

/** A time cell: UTC, then how long ago (or how long until, for an expiry). */
export const timeCell = (ms: number | null | undefined, now: number): SafeHtml =>
  ms === null || ms === undefined
    ? html`<td class="muted">never</td>`
    : html`<td class="mono"><span class="time">${iso(ms)}</span> <span class="muted time">(${ms > now ? `in ${formatElapsed(ms - now)}` : `${formatElapsed(now - ms)} ago`})</span></td>`;

/** A time alone, UTC, kept on one line. */
export const isoCell = (ms: number | null | undefined): SafeHtml => html`<td class="mono time">${iso(ms)}</td>`;

export const none = (text = "none"): SafeHtml => html`<p class="none">${text}</p>`;

/** A state word with the class that colours it. */
export const stateCell = (state: string): SafeHtml => html`<td class="state-${state}">${state}</td>`;

/** This page's URL with its cursor set to `value`, or removed for the first page; the filters stay as they are. */
function withCursor(url: URL, cursor: string, value: string | number | null): string {
  const params = new URLSearchParams(url.searchParams);
  if (value === null) params.delete(cursor);
  else params.set(cursor, String(value));
  const query = params.toString();
  return query === "" ? url.pathname : `${url.pathname}?${query}`;
}

/**
 * The links under a list paged by a cursor (`before` an id, or `after` an address): back to the first page when on a
 * later one, and on to the next when there is one; nothing when everything fits on one page.
 */
export function pager(url: URL, cursor: "before" | "after", next: string | number | null, labels: { first: string; next: string }): SafeHtml | "" {
  const paged = url.searchParams.get(cursor);
  if (next === null && !paged) return "";
  return html`<p class="pager">${paged ? html`<a href="${withCursor(url, cursor, null)}">${labels.first}</a> ` : ""}${next !== null ? html`<a rel="next" href="${withCursor(url, cursor, next)}">${labels.next}</a>` : ""}</p>`;
}

/** How a lease reads to an operator: a bound lease past its expiry is "expired", whatever the row still says. */
export const leaseState = (lease: { state: string; active: boolean }): string => (lease.active ? lease.state : lease.state === "bound" ? "expired" : lease.state);
