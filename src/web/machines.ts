// GET /machines: every machine, searchable by hostname, serial, MAC or IP and filtered by state, group and label.
import type { LeaseService, MachineRecord } from "../core/index.ts";
import { MACHINE_STATES, type MachineState } from "../db/index.ts";
import { none, pager, stateCell, timeCell } from "./format.ts";
import { html, raw, type SafeHtml } from "./html.ts";
import type { PageContent, PageContext } from "./page.ts";

const PAGE_SIZE = 100;

/** The address a machine answers on: its static one, else the address of its newest active lease. */
export function addressOf(machine: MachineRecord, leases: LeaseService): string | null {
  for (const nic of machine.interfaces) if (nic.ip) return nic.ip;
  for (const nic of machine.interfaces) {
    const lease = leases.list({ mac: nic.mac, active: true, limit: 1 }).items[0];
    if (lease) return lease.ip;
  }
  return null;
}

const selected = (yes: boolean) => (yes ? raw(" selected") : "");

function filtersForm(query: URLSearchParams, groups: string[]): SafeHtml {
  const state = query.get("state") ?? "";
  const group = query.get("group") ?? "";
  return html`<section><form class="filters" method="get" action="/machines" role="search">
<label>Search<input type="search" name="q" value="${query.get("q") ?? ""}" placeholder="hostname, MAC, IP or serial"></label>
<label>State<select name="state"><option value="">any</option>${MACHINE_STATES.map((s) => html`<option${selected(s === state)}>${s}</option>`)}</select></label>
<label>Group<select name="group"><option value="">any</option>${groups.map((g) => html`<option${selected(g === group)}>${g}</option>`)}</select></label>
<label>Label<input type="text" name="label" value="${query.get("label") ?? ""}" placeholder="key or key=value"></label>
<button type="submit">Filter</button> <a href="/machines">Clear</a>
</form></section>`;
}

function row(machine: MachineRecord, ctx: PageContext): SafeHtml {
  const name = machine.hostname ?? `machine ${machine.id}`;
  const ip = addressOf(machine, ctx.deps.core.leases);
  return html`<tr data-machine="${machine.id}"><td class="mono">${machine.interfaces.map((nic) => nic.mac).join(" ")}</td><td><a href="/machines/${machine.id}">${name}</a></td><td class="mono">${ip ?? ""}</td><td>${machine.profile ?? html`<span class="muted">${machine.group ? `from group ${machine.group}` : "none"}</span>`}</td>${stateCell(machine.state)}<td>${machine.activeRun ? html`run ${machine.activeRun.id}: <span class="state-${machine.activeRun.state}">${machine.activeRun.state}</span>` : ""}</td>${timeCell(machine.lastSeenAt, ctx.now)}</tr>`;
}

export function renderMachinesPage(ctx: PageContext): PageContent {
  const query = ctx.url.searchParams;
  const stateText = query.get("state") ?? "";
  const state = (MACHINE_STATES as readonly string[]).includes(stateText) ? (stateText as MachineState) : undefined;
  const beforeText = query.get("before") ?? "";
  const page = ctx.deps.core.machines.list({
    search: query.get("q") ?? undefined,
    state,
    group: query.get("group") || undefined,
    label: query.get("label") || undefined,
    before: /^\d+$/.test(beforeText) ? Number(beforeText) : undefined,
    limit: PAGE_SIZE,
  });
  const filtered = ["q", "state", "group", "label"].some((key) => query.get(key));
  const table =
    page.items.length === 0
      ? none(filtered ? "no machine matches these filters" : "no machines yet: a machine appears when it first network-boots, or add one with goosed machine add")
      : html`<table id="machines-table"><thead><tr><th>MAC</th><th>Hostname</th><th>IP</th><th>Profile</th><th>State</th><th>Run</th><th>Last seen</th></tr></thead><tbody>${page.items.map((m) => row(m, ctx))}</tbody></table>
${pager(ctx.url, "before", page.next, { first: "newest", next: "older machines" })}`;
  return {
    title: "Machines",
    body: html`${filtersForm(query, ctx.deps.core.groups.list().map((g) => g.name))}
<section data-live="machines">${table}</section>`,
  };
}
