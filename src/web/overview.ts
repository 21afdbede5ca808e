// GET /: the Overview page — services, machines by state, active runs, the last events, disk use and trusted signers.
import { statfsSync } from "node:fs";
import type { TrustedKey } from "../bundles/index.ts";
import type { AppEvent, RunRecord, ServiceHealth } from "../core/index.ts";
import type { MachineState } from "../db/index.ts";
import { formatBytes, formatElapsed, isoCell, none, stateCell } from "./format.ts";
import { html, type SafeHtml } from "./html.ts";
import type { PageContent, WebDeps } from "./page.ts";

export const RECENT_EVENTS = 20;
const ACTIVE_STATES = ["pending", "booting", "installing"] as const;
const ACTIVE_RUNS_SHOWN = 50;


export interface DiskUse {
  usedBytes: number;
  totalBytes: number;
}

/** What the Overview shows, gathered in one place so the page renders from plain data. */
export interface OverviewData {
  services: Record<string, ServiceHealth>;
  machines: Record<MachineState, number>;
  runs: RunRecord[];
  events: AppEvent[];
  disk: DiskUse | null;
  signers: TrustedKey[];
  now: number;
}

export function diskUseOf(path: string): DiskUse | null {
  try {
    const fs = statfsSync(path);
    const totalBytes = fs.blocks * fs.bsize;
    return { totalBytes, usedBytes: totalBytes - fs.bfree * fs.bsize };
  } catch {
    return null;
  }
}

export function gatherOverview(deps: WebDeps, now = Date.now()): OverviewData {
  const { core } = deps;
  // A section whose source fails shows as empty and is logged: the page an operator opens when things go wrong must load.
  const attempt = <T>(section: string, read: () => T, fallback: T): T => {
    try {
      return read();
    } catch (error) {
      deps.log.warn("status page section unavailable", { component: "web", section, error });
      return fallback;
    }
  };
  const runs = attempt(
    "runs",
    () => ACTIVE_STATES.flatMap((state) => core.runs.list({ state, limit: ACTIVE_RUNS_SHOWN }).items).sort((a, b) => a.createdAt - b.createdAt),
    [],
  );
  return {
    services: deps.readiness.report().services,
    machines: attempt("machines", () => core.machines.countByState(), {} as Record<MachineState, number>),
    runs: runs.slice(0, ACTIVE_RUNS_SHOWN),
    // An import publishes its progress four times a second; those would push everything else off the list.
    events: attempt("events", () => core.bus.recent(RECENT_EVENTS * 20).filter((e) => e.type !== "job.progress").slice(0, RECENT_EVENTS), []),
    disk: diskUseOf(deps.dataDir),
    signers: attempt("signers", () => deps.trust.list().filter((k) => k.revokedAt === null), []),
    now,
  };
}

function servicesSection(services: Record<string, ServiceHealth>): SafeHtml {
  const rows = Object.entries(services);
  return html`<section id="services" data-live="services"><h2>Services</h2>${
    rows.length === 0
      ? none("not configured")
      : html`<table><thead><tr><th>Service</th><th>State</th><th>Interface</th><th>Address</th><th>Port</th><th>Detail</th></tr></thead><tbody>${rows.map(
          ([name, health]) =>
            html`<tr data-service="${name}"><td>${name}</td><td class="${health.ok ? "ok" : "down"}">${health.ok ? "up" : "down"}</td><td>${health.listen?.interface ?? ""}</td><td class="mono">${health.listen?.address ?? ""}</td><td class="mono">${health.listen?.port ?? ""}</td><td>${health.detail}</td></tr>`,
        )}</tbody></table>`
  }</section>`;
}

function machinesSection(counts: Record<MachineState, number>): SafeHtml {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  return html`<section id="machines" data-live="machines"><h2>Machines by state</h2>${
    total === 0
      ? none()
      : html`<table><tbody>${Object.entries(counts).map(
          ([state, count]) => html`<tr data-state="${state}"><td><a href="/machines?state=${state}">${state}</a></td><td class="num">${count}</td></tr>`,
        )}<tr><th>total</th><td class="num">${total}</td></tr></tbody></table>`
  }</section>`;
}

function runsSection(runs: RunRecord[], now: number): SafeHtml {
  return html`<section id="runs" data-live="runs"><h2>Active runs</h2>${
    runs.length === 0
      ? none()
      : html`<table><thead><tr><th>Run</th><th>Machine</th><th>Profile</th><th>Stage</th><th>Elapsed</th></tr></thead><tbody>${runs.map(
          (run) =>
            html`<tr><td class="num">${run.id}</td><td><a href="/machines/${run.machine.id}">${run.machine.hostname ?? `machine ${run.machine.id}`}</a></td><td>${run.profile}</td>${stateCell(run.state)}<td class="num">${formatElapsed(now - run.createdAt)}</td></tr>`,
        )}</tbody></table>`
  }</section>`;
}

function eventsSection(events: AppEvent[]): SafeHtml {
  return html`<section id="events" data-live="events"><h2>Last events</h2>${
    events.length === 0
      ? none()
      : html`<table><thead><tr><th>Time</th><th>Type</th><th>Subject</th><th>Data</th></tr></thead><tbody>${events.map(
          (event) =>
            html`<tr>${isoCell(event.at)}<td>${event.type}</td><td class="mono">${event.subject}</td><td class="mono data">${JSON.stringify(event.data).slice(0, 160)}</td></tr>`,
        )}</tbody></table>`
  }</section>`;
}

function diskSection(disk: DiskUse | null, dataDir: string): SafeHtml {
  if (!disk || disk.totalBytes === 0) return html`<section id="disk" data-live="disk"><h2>Data directory</h2>${none("not available")}</section>`;
  const percent = Math.round((disk.usedBytes / disk.totalBytes) * 100);
  return html`<section id="disk" data-live="disk"><h2>Data directory</h2><p><code>${dataDir}</code>: ${formatBytes(disk.usedBytes)} used of ${formatBytes(disk.totalBytes)} (${percent}%)</p>
<meter min="0" max="100" low="80" high="90" optimum="0" value="${percent}" aria-label="${percent}% used">${percent}%</meter></section>`;
}

function signersSection(signers: TrustedKey[]): SafeHtml {
  return html`<section id="signers" data-live="signers"><h2>Trusted signers</h2>${
    signers.length === 0
      ? none("none trusted")
      : html`<table><thead><tr><th>Name</th><th>Key id</th><th>Added</th></tr></thead><tbody>${signers.map(
          (key) => html`<tr><td>${key.name}</td><td class="mono">${key.keyId}</td>${isoCell(key.addedAt)}</tr>`,
        )}</tbody></table>`
  }</section>`;
}

export function renderOverview(data: OverviewData, dataDir: string): PageContent {
  return {
    title: "Overview",
    body: html`${servicesSection(data.services)}
<div class="grid">${machinesSection(data.machines)}${diskSection(data.disk, dataDir)}</div>
${runsSection(data.runs, data.now)}
${eventsSection(data.events)}
${signersSection(data.signers)}`,
  };
}
