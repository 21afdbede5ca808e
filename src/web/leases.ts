// GET /leases: the DHCP leases goosed handed out, by address, filtered by MAC or to the ones bound now.
import type { LeaseRecord } from "../core/index.ts";
import { parseIpv4 } from "../lib/ipv4.ts";
import { parseMac } from "../lib/mac.ts";
import { leaseState, none, pager, stateCell, timeCell } from "./format.ts";
import { html, type SafeHtml } from "./html.ts";
import type { PageContent, PageContext } from "./page.ts";

const PAGE_SIZE = 100;

interface LeaseQuery {
  active: boolean;
  /** As typed, for the form. */
  macText: string;
  mac?: string;
  after?: string;
  problems: string[];
}

function readQuery(url: URL): LeaseQuery {
  const params = url.searchParams;
  const problems: string[] = [];
  const macText = (params.get("mac") ?? "").trim();
  let mac: string | undefined;
  if (macText !== "") {
    mac = parseMac(macText) ?? undefined;
    if (!mac) problems.push(`mac: "${macText}" is not a MAC address`);
  }
  const afterText = params.get("after") ?? "";
  const after = afterText === "" ? undefined : (parseIpv4(afterText) ?? undefined);
  if (afterText !== "" && !after) problems.push(`after: "${afterText}" is not an IPv4 address`);
  return { active: params.get("active") === "1", macText, mac, after, problems };
}

/** This page's address with the filters kept and `after` replaced. */
function filterForm(q: LeaseQuery): SafeHtml {
  return html`<section id="lease-filters"><form class="filters" method="get" action="/leases">
<label>MAC<input name="mac" value="${q.macText}" placeholder="52:54:00:12:34:56" spellcheck="false"></label>
<label>Show<select name="active"><option value="">all leases</option><option value="1"${q.active ? html` selected` : ""}>active only</option></select></label>
<button type="submit">Filter</button>${q.active || q.macText ? html` <a href="/leases">clear</a>` : ""}
</form>${q.problems.map((p) => html`<p class="error" role="alert">${p}</p>`)}</section>`;
}

function leaseRow(lease: LeaseRecord, now: number): SafeHtml {
  return html`<tr data-ip="${lease.ip}"><td class="mono">${lease.ip}</td><td class="mono"><a href="/machines/${lease.mac}">${lease.mac}</a></td><td>${lease.hostname ?? html`<span class="muted">none</span>`}</td><td class="mono">${lease.subnet}</td>${stateCell(leaseState(lease))}${timeCell(lease.startsAt, now)}${timeCell(lease.expiresAt, now)}</tr>`;
}

export function renderLeasesPage(ctx: PageContext): PageContent {
  const q = readQuery(ctx.url);
  const dhcpOff = ctx.deps.config?.dhcp.mode === "off";
  const filtered = q.active || q.mac !== undefined;
  const page = q.problems.length > 0 ? { items: [], next: null } : ctx.deps.core.leases.list({ active: q.active, mac: q.mac, after: q.after, limit: PAGE_SIZE });
  const offNote = "DHCP is off on this appliance (dhcp.mode); leases appear when goosed serves DHCP";
  let content: SafeHtml;
  if (page.items.length === 0) {
    content = q.problems.length > 0 ? none("no leases shown: fix the filter above") : filtered || q.after ? none("no leases match") : none(dhcpOff ? offNote : "no leases yet");
  } else {
    content = html`${dhcpOff ? html`<p class="muted">${offNote}; these were handed out before.</p>` : ""}<table id="leases-table"><thead><tr><th>IP</th><th>MAC</th><th>Hostname</th><th>Subnet</th><th>State</th><th>Starts</th><th>Expires</th></tr></thead><tbody>${page.items.map((lease) => leaseRow(lease, ctx.now))}</tbody></table>`;
  }
  const links = pager(ctx.url, "after", page.next, { first: "first page", next: "next page" });
  return {
    title: "Leases",
    status: q.problems.length > 0 ? 422 : undefined,
    body: html`${filterForm(q)}
<section id="leases" data-live="leases"><h2>${q.active ? "Active leases" : "Leases"}</h2>${content}${links}</section>`,
  };
}
