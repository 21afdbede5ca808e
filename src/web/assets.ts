// The status page's style sheet and script, embedded in the binary and served from /assets: the page's Content
// Security Policy allows nothing inline and nothing from elsewhere, so a lab with no internet loses nothing.
import { createHash } from "node:crypto";

// System fonts only: an appliance on an isolated network cannot fetch web fonts. Sized for a 1024-px-wide screen.
const STYLE = `
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1d2430;background:#f4f6f8}
header{display:flex;align-items:center;gap:1.2rem;padding:.6rem 1.2rem;background:#1d2430;color:#fff}
header .brand{font-weight:700;letter-spacing:.03em}
nav{display:flex;gap:.2rem;flex-wrap:wrap;flex:1}
nav a{color:#c9d3e0;text-decoration:none;padding:.3rem .6rem;border-radius:4px}
nav a:hover,nav a[aria-current=page]{background:#34405a;color:#fff}
header form{margin:0}
header button{background:none;border:1px solid #5b6780;color:#c9d3e0;border-radius:4px;padding:.25rem .6rem;cursor:pointer}
#live-state{font-size:.8rem;color:#8b97aa}
#live-state[data-state=live]{color:#7fd19b}
main{max-width:1000px;margin:1rem auto;padding:0 1rem}
h1{font-size:1.4rem;margin:.4rem 0 1rem}
section{background:#fff;border:1px solid #d9dee5;border-radius:6px;padding:.8rem 1rem;margin-bottom:1rem;overflow-x:auto}
h2{font-size:1.05rem;margin:0 0 .6rem}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #eceff3;vertical-align:top}
th{font-weight:600;color:#4a5568}
td.num{text-align:right;font-variant-numeric:tabular-nums}
code,.mono{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:.92em}
.ok,.state-succeeded,.state-provisioned,.state-ready,.state-bound{color:#1f7a3a;font-weight:600}
.down,.state-failed,.state-declined{color:#b3261e;font-weight:600}
.state-booting,.state-installing,.state-running,.state-pending,.state-queued,.state-provisioning{color:#1f56b3;font-weight:600}
.state-discovered{color:#8a5a00;font-weight:600}
.state-retired,.state-cancelled,.state-expired,.state-released{color:#6b7686}
td.time,.time{white-space:nowrap}
td.data{word-break:break-all}
.none{color:#6b7686;font-style:italic}
.muted{color:#6b7686}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:1rem}
.grid{margin-bottom:1rem}
.grid section{margin-bottom:0}
progress,meter{width:100%;height:.8rem}
.error{background:#fdecea;border:1px solid #f1b0ab;color:#8c1d18;padding:.5rem .8rem;border-radius:4px}
.warning{background:#fff4e5;border:1px solid #f0c27b;color:#7a4b00;padding:.5rem .8rem;border-radius:4px}
form.login{display:flex;flex-direction:column;gap:.6rem;max-width:28rem}
form.login input{font:inherit;padding:.4rem}
form.login button{font:inherit;padding:.4rem;width:8rem}
form.filters{display:flex;gap:.6rem;flex-wrap:wrap;align-items:end;margin:0}
form.filters label{display:flex;flex-direction:column;font-size:.85rem;color:#4a5568}
form.filters input,form.filters select,form.action select{font:inherit;padding:.25rem .4rem}
form.action{display:inline-flex;gap:.4rem;align-items:center;margin:0 .8rem .4rem 0}
button{font:inherit;padding:.25rem .7rem;cursor:pointer}
button.danger{color:#8c1d18}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:0}
dl.facts dt{font-weight:600;color:#4a5568}
dl.facts dd{margin:0}
ol.timeline{list-style:none;margin:0;padding:0}
ol.timeline li{padding:.2rem 0 .2rem 1rem;border-left:3px solid #d9dee5}
.pager{margin-top:.6rem}
`;

// Live updates without reloads: every event on the stream schedules a re-fetch of this page (at most one a second),
// and each [data-live] region is swapped for its fresh copy. Forms sit outside the regions, so typing is never lost.
// A job's progress, four times a second during an import, moves its bar in place without fetching anything.
const SCRIPT = `"use strict";
(() => {
  const state = document.getElementById("live-state");
  const regions = () => document.querySelectorAll("[data-live]");
  if (!state || regions().length === 0) return;
  const show = (text, name) => { state.textContent = text; state.dataset.state = name; };
  let timer = null, last = 0, busy = false, again = false;
  const schedule = () => {
    if (timer === null) timer = setTimeout(refresh, Math.max(100, 1000 - (Date.now() - last)));
  };
  async function refresh() {
    timer = null;
    if (busy) { again = true; return; }
    busy = true;
    last = Date.now();
    try {
      const response = await fetch(location.href, { credentials: "same-origin", headers: { accept: "text/html" } });
      if (new URL(response.url).pathname === "/login") { location.assign("/login"); return; }
      // A page with a bad filter answers 422 and still renders: only a response that is not a page is a failure.
      if (!(response.headers.get("content-type") || "").startsWith("text/html")) { show("refresh failed (" + response.status + ")", "down"); return; }
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
      for (const region of regions()) {
        const next = fresh.querySelector('[data-live="' + region.dataset.live + '"]');
        if (next && next.innerHTML !== region.innerHTML) region.replaceWith(document.importNode(next, true));
      }
      document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes || 0) + 1);
      if (source && source.readyState === EventSource.OPEN) show("live", "live");
    } catch (error) {
      show("refresh failed", "down");
    } finally {
      busy = false;
      if (again) { again = false; schedule(); }
    }
  }
  /** True when the page shows this job's progress and it was updated in place. */
  const progressed = (data) => {
    const bars = document.querySelectorAll('[data-job-progress="' + Number(data.id) + '"]');
    for (const bar of bars) {
      bar.value = data.fraction;
      bar.setAttribute("value", String(data.fraction));
      bar.textContent = Math.round(data.fraction * 100) + "%";
    }
    if (data.message) for (const line of document.querySelectorAll('[data-job-message="' + Number(data.id) + '"]')) line.textContent = data.message;
    return bars.length > 0;
  };
  let source = null;
  const connect = () => {
    source = new EventSource("/events/stream");
    // Whatever happened between this page being rendered and the stream opening is fetched once.
    source.onopen = () => { show("live", "live"); schedule(); };
    source.onmessage = (message) => {
      let event = null;
      try { event = JSON.parse(message.data); } catch (error) { event = null; }
      if (event && event.type === "job.progress" && event.data && progressed(event.data)) return;
      schedule();
    };
    source.onerror = () => {
      show("reconnecting…", "down");
      if (source.readyState !== EventSource.CLOSED) return;
      // The browser gave up on this stream (the session ended, or the appliance answered with something else):
      // a refresh goes to the login form if the session is gone; otherwise try a new stream shortly.
      refresh();
      setTimeout(connect, 5000);
    };
  };
  connect();
})();
`;

// A goose-grey disc with a "g": browsers ask for an icon on every page, and a missing one is a console error.
const ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><circle cx="16" cy="16" r="15" fill="#1d2430"/><text x="16" y="22" font-family="sans-serif" font-size="18" font-weight="700" fill="#fff" text-anchor="middle">g</text></svg>`;

export interface Asset {
  path: string;
  body: string;
  contentType: string;
  etag: string;
}

const asset = (path: string, body: string, contentType: string): Asset => ({
  path,
  body,
  contentType,
  etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 16)}"`,
});

export const STYLE_ASSET = asset("/assets/status.css", STYLE, "text/css; charset=utf-8");
export const SCRIPT_ASSET = asset("/assets/status.js", SCRIPT, "text/javascript; charset=utf-8");
export const ICON_ASSET = asset("/assets/icon.svg", ICON, "image/svg+xml");

/** An embedded asset; browsers revalidate with If-None-Match, so an upgraded appliance never serves a stale script. */
export function assetResponse(asset: Asset, request: Request): Response {
  const headers = { etag: asset.etag, "cache-control": "no-cache", "content-type": asset.contentType, "x-content-type-options": "nosniff" };
  if (request.headers.get("if-none-match") === asset.etag) return new Response(null, { status: 304, headers });
  return new Response(asset.body, { headers });
}
