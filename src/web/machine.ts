// GET /machines/<id, hostname or MAC>: one machine — its interfaces and leases, profile, run timelines, facts and
// what changed in them, its audit trail — and the actions an operator takes on it: provision, cancel, retire.
import type { AuditEntry, LeaseRecord, MachineRecord, RunRecord } from "../core/index.ts";
import { formatElapsed, iso, isoCell, leaseState, none, stateCell, timeCell } from "./format.ts";
import { html, raw, type SafeHtml } from "./html.ts";
import { ACTIONS_PATH, type ActionContext, canWrite, csrfField, type PageContent, type PageContext } from "./page.ts";

const RUNS_SHOWN = 5;
const LEASES_PER_MAC = 20;
const AUDIT_SHOWN = 50;
const VALUE_CHARS = 300;

export const machineActionPath = (id: number | ":id", action: "provision" | "cancel" | "retire") => `${ACTIONS_PATH}/machines/${id}/${action}`;

/** A fact or audit value as one short line: text as it is, anything else as JSON. */
function brief(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value) ?? "";
  return text.length > VALUE_CHARS ? `${text.slice(0, VALUE_CHARS)}…` : text;
}

function summarySection(m: MachineRecord, ctx: PageContext): SafeHtml {
  const labels = Object.entries(m.labels);
  return html`<section data-live="summary"><dl class="facts">
<dt>State</dt><dd class="state-${m.state}" id="machine-state">${m.state}</dd>
<dt>Id</dt><dd>${m.id}</dd>
<dt>Hostname</dt><dd>${m.hostname ?? html`<span class="muted">not set</span>`}</dd>
<dt>Profile</dt><dd>${m.profile ?? html`<span class="muted">${m.group ? `from group ${m.group}` : "none"}</span>`}</dd>
<dt>Group</dt><dd>${m.group ?? html`<span class="muted">none</span>`}</dd>
<dt>Labels</dt><dd>${labels.length === 0 ? html`<span class="muted">none</span>` : labels.map(([k, v]) => html`<code>${k}=${v}</code> `)}</dd>
<dt>Serial / arch</dt><dd>${m.serial ?? "—"} / ${m.arch ?? "—"}</dd>
<dt>Boot policy</dt><dd>${m.bootPolicy ?? html`<span class="muted">default</span>`}</dd>
<dt>Last seen</dt><dd>${m.lastSeenAt === null ? "never" : html`${iso(m.lastSeenAt)} (${formatElapsed(ctx.now - m.lastSeenAt)} ago${m.lastSource ? `, from ${m.lastSource}` : ""})`}</dd>
<dt>Added</dt><dd>${iso(m.createdAt)}</dd>
</dl></section>`;
}

function actionsSection(m: MachineRecord, ctx: PageContext): SafeHtml {
  if (!canWrite(ctx.session)) {
    return html`<section data-live="actions"><h2>Actions</h2><p class="muted">The token ${ctx.session.tokenName} may only read; log in with a token that has the write scope to provision, cancel or retire.</p></section>`;
  }
  if (m.state === "retired") return html`<section data-live="actions"><h2>Actions</h2><p class="muted">Retired machines take no actions.</p></section>`;
  const profiles = ctx.deps.core.profiles.list();
  const chosen = m.profile;
  const provision =
    profiles.length === 0
      ? html`<p class="muted">No profiles yet: import a bundle or add one with goosed profile add.</p>`
      : html`<form class="action" method="post" action="${machineActionPath(m.id, "provision")}" id="provision-form">${csrfField(ctx.session)}
<label for="profile">Profile</label><select id="profile" name="profile">${m.profile === null && m.group ? html`<option value="">the group's profile</option>` : ""}${profiles.map(
          (p) => html`<option${p.name === chosen ? raw(" selected") : ""}>${p.name}</option>`,
        )}</select>
<button type="submit">Provision</button></form>`;
  return html`<section data-live="actions"><h2>Actions</h2>${provision}
${m.activeRun ? html`<form class="action" method="post" action="${machineActionPath(m.id, "cancel")}" id="cancel-form">${csrfField(ctx.session)}<button type="submit">Cancel run ${m.activeRun.id}</button></form>` : ""}
<form class="action" method="post" action="${machineActionPath(m.id, "retire")}" id="retire-form">${csrfField(ctx.session)}<button type="submit" class="danger">Retire</button></form></section>`;
}

/** The lease a MAC holds now, else the one it was given last (a MAC may have declined or outlived others). */
function currentLease(ctx: PageContext, mac: string): LeaseRecord | undefined {
  const leases = ctx.deps.core.leases.list({ mac, limit: LEASES_PER_MAC }).items;
  return leases.find((lease) => lease.active) ?? leases.sort((a, b) => b.startsAt - a.startsAt)[0];
}

function interfacesSection(m: MachineRecord, ctx: PageContext): SafeHtml {
  if (m.interfaces.length === 0) return html`<section data-live="interfaces"><h2>Interfaces and leases</h2>${none()}</section>`;
  return html`<section data-live="interfaces"><h2>Interfaces and leases</h2><table><thead><tr><th>MAC</th><th>Static IP</th><th>Lease</th><th>Lease state</th><th>Expires</th></tr></thead><tbody>${m.interfaces.map(
    (nic) => {
      const lease = currentLease(ctx, nic.mac);
      return html`<tr><td class="mono">${nic.mac}</td><td class="mono">${nic.ip ?? ""}</td><td class="mono">${lease?.ip ?? html`<span class="muted">none</span>`}</td>${lease ? stateCell(leaseState(lease)) : html`<td></td>`}${lease ? timeCell(lease.expiresAt, ctx.now) : html`<td></td>`}</tr>`;
    },
  )}</tbody></table></section>`;
}

function timeline(run: RunRecord, now: number): SafeHtml {
  const ended = run.finishedAt ?? now;
  return html`<article data-run="${run.id}"><h3>Run ${run.id}: ${run.profile}, <span class="state-${run.state}">${run.state}</span> <span class="muted">(${formatElapsed(ended - run.createdAt)}${run.finishedAt === null ? " so far" : ""}, started by ${run.createdBy})</span></h3>
${run.error ? html`<p class="error">${run.error}</p>` : ""}
<ol class="timeline">${run.transitions.map(
    (t) => html`<li><span class="mono">${iso(t.at)}</span> <span class="state-${t.to}">${t.to}</span>${t.from ? html` <span class="muted">from ${t.from}</span>` : ""} — ${t.reason}${t.source ? html` <span class="muted">(${t.source})</span>` : ""}</li>`,
  )}</ol></article>`;
}

function runsSection(runs: RunRecord[], now: number): SafeHtml {
  return html`<section data-live="runs"><h2>Runs</h2>${runs.length === 0 ? none("never provisioned") : runs.map((run) => timeline(run, now))}</section>`;
}

type FactChanges = Record<string, { from: unknown; to: unknown }>;
const changesOf = (entry: AuditEntry) => (entry.details.changes ?? {}) as FactChanges;
function factsSection(m: MachineRecord, ctx: PageContext, reports: AuditEntry[], firstReportId: number | null): SafeHtml {
  // The first report "changes" every fact from nothing: it is where the history starts, not a row per fact.
  const changes = reports.filter((entry) => entry.id !== firstReportId);
  const latest = ctx.deps.core.machines.latestFacts(String(m.id));
  const current = latest
    ? html`<p class="muted">Reported ${iso(latest.at)} by the on-host agent.</p><dl class="facts">${Object.entries(latest.facts).map(([k, v]) => html`<dt>${k}</dt><dd class="mono data">${brief(v)}</dd>`)}</dl>`
    : none("no facts yet: the on-host agent reports them after the install");
  const history =
    changes.length === 0
      ? ""
      : html`<h3>What changed</h3><table><thead><tr><th>Time</th><th>Fact</th><th>Was</th><th>Now</th></tr></thead><tbody>${changes.flatMap((entry) =>
          Object.entries(changesOf(entry)).map(
            ([key, change]) => html`<tr>${isoCell(entry.at)}<td>${key}</td><td class="mono data">${brief(change.from)}</td><td class="mono data">${brief(change.to)}</td></tr>`,
          ),
        )}</tbody></table>`;
  return html`<section data-live="facts"><h2>Facts</h2>${current}${history}</section>`;
}

function auditSection(entries: AuditEntry[]): SafeHtml {
  return html`<section data-live="audit"><h2>Audit</h2>${
    entries.length === 0
      ? none()
      : html`<table><thead><tr><th>Time</th><th>Action</th><th>Actor</th><th>Details</th></tr></thead><tbody>${entries.map(
          (e) => html`<tr>${isoCell(e.at)}<td>${e.action}</td><td>${e.actor}${e.source ? html` <span class="muted">(${e.source})</span>` : ""}</td><td class="mono data">${brief(e.details)}</td></tr>`,
        )}</tbody></table>`
  }</section>`;
}

export function renderMachinePage(ctx: PageContext): PageContent {
  const { core } = ctx.deps;
  const machine = core.machines.get(ctx.params.ref ?? "");
  const runs = core.runs.list({ machine: String(machine.id), limit: RUNS_SHOWN }).items.map((r) => core.runs.get(r.id));
  const own = core.listAudit({ object: `machine:${machine.id}`, limit: AUDIT_SHOWN }).items;
  const ofRuns = runs.flatMap((r) => core.listAudit({ object: `run:${r.id}`, limit: AUDIT_SHOWN }).items);
  const audit = [...own, ...ofRuns].sort((a, b) => b.id - a.id).slice(0, AUDIT_SHOWN);
  const factChanges = own.filter((e) => e.action === "machine.facts");
  return {
    title: machine.hostname ?? machine.interfaces[0]?.mac ?? `Machine ${machine.id}`,
    body: html`${summarySection(machine, ctx)}
${actionsSection(machine, ctx)}
${interfacesSection(machine, ctx)}
${runsSection(runs, ctx.now)}
${factsSection(machine, ctx, factChanges, core.listAudit({ object: `machine:${machine.id}`, action: "machine.facts", limit: 1, oldest: true }).items[0]?.id ?? null)}
${auditSection(audit)}`,
  };
}

/** The machine's page, after an action; its events have already refreshed anything else watching. */
const back = (ctx: ActionContext) => `/machines/${ctx.deps.core.machines.resolveId(ctx.params.id ?? "")}`;

export function provisionAction(ctx: ActionContext): string {
  ctx.deps.core.runs.provision(ctx.params.id ?? "", { profile: ctx.fields.profile || undefined }, ctx.actor);
  return back(ctx);
}

export function cancelAction(ctx: ActionContext): string {
  ctx.deps.core.runs.cancelForMachine(ctx.params.id ?? "", ctx.actor);
  return back(ctx);
}

export function retireAction(ctx: ActionContext): string {
  ctx.deps.core.machines.retire(ctx.params.id ?? "", ctx.actor);
  return back(ctx);
}
