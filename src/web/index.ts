// The built-in status page: server-rendered HTML behind its own session login, mounted beside the /v1 API.
import { Elysia } from "elysia";
import { type EventStreams, lastEventIdOf } from "../api/events.ts";
import { assetResponse, ICON_ASSET, SCRIPT_ASSET, STYLE_ASSET } from "./assets.ts";
import { renderArtifactsPage } from "./artifacts.ts";
import { BUNDLE_IMPORT_ACTION, importFoundAction, renderBundlesPage } from "./bundles.ts";
import { renderEventsPage } from "./events.ts";
import { renderJobsPage } from "./jobs.ts";
import { renderLeasesPage } from "./leases.ts";
import { cancelAction, machineActionPath, provisionAction, renderMachinePage, retireAction } from "./machine.ts";
import { renderMachinesPage } from "./machines.ts";
import { gatherOverview, renderOverview } from "./overview.ts";
import { ACTIONS_PATH, actionHandler, pageHandler, type WebDeps } from "./page.ts";
import { LOGIN_PATH, redirect, SessionStore, sessionOf, sessionRoutes } from "./session.ts";

export { LOGIN_PATH, SESSION_COOKIE, SessionStore } from "./session.ts";
export { escapeHtml, html, raw, SafeHtml } from "./html.ts";
export type { WebDeps } from "./page.ts";

/** The live-update stream of the status page: the /v1 event stream, authenticated by the session cookie. */
export const WEB_EVENTS_PATH = "/events/stream";
// An open stream re-checks its session this often, so a revoked token's page stops receiving within this time.
const STREAM_SESSION_CHECK_MS = 10_000;

/**
 * POSTs the status page's forms make: their bodies are read as form fields (anything else is refused with 415), so
 * they work without JavaScript and a script cannot slip JSON past the form's CSRF field.
 */
export const isWebForm = (method: string, path: string): boolean => method === "POST" && (path === LOGIN_PATH || path.startsWith(`${ACTIONS_PATH}/`));

export const webRoutes = (deps: WebDeps & { streams: EventStreams; sessions?: SessionStore }) => {
  const sessions = deps.sessions ?? new SessionStore();
  const hide = { detail: { hide: true } };
  return new Elysia({ name: "web" })
    .use(sessionRoutes(deps.core, sessions))
    .get("/", pageHandler(deps, sessions, "/", () => renderOverview(gatherOverview(deps), deps.dataDir)), hide)
    .get("/machines", pageHandler(deps, sessions, "/machines", renderMachinesPage), hide)
    .get("/machines/:ref", pageHandler(deps, sessions, "/machines", renderMachinePage), hide)
    .post(machineActionPath(":id", "provision"), actionHandler(deps, sessions, "/machines", provisionAction), hide)
    .post(machineActionPath(":id", "cancel"), actionHandler(deps, sessions, "/machines", cancelAction), hide)
    .post(machineActionPath(":id", "retire"), actionHandler(deps, sessions, "/machines", retireAction), hide)
    .get("/leases", pageHandler(deps, sessions, "/leases", renderLeasesPage), hide)
    .get("/artifacts", pageHandler(deps, sessions, "/artifacts", renderArtifactsPage), hide)
    .get("/jobs", pageHandler(deps, sessions, "/jobs", renderJobsPage), hide)
    .get("/events", pageHandler(deps, sessions, "/events", renderEventsPage), hide)
    .get("/bundles", pageHandler(deps, sessions, "/bundles", renderBundlesPage), hide)
    .post(BUNDLE_IMPORT_ACTION, actionHandler(deps, sessions, "/bundles", importFoundAction), hide)
    .get(
      WEB_EVENTS_PATH,
      ({ request }) => {
        if (!sessionOf(deps.core, sessions, request)) return redirect(LOGIN_PATH);
        const ended = new AbortController();
        const check = setInterval(() => {
          if (!sessionOf(deps.core, sessions, request)) ended.abort();
        }, STREAM_SESSION_CHECK_MS);
        const after = lastEventIdOf(request.headers.get("last-event-id"));
        // However the stream ends (the browser leaves, the session ends, the server cuts a slow client or shuts down).
        return deps.streams.stream(after, [], AbortSignal.any([request.signal, ended.signal]), { named: false, onClose: () => clearInterval(check) });
      },
      hide,
    )
    .get(STYLE_ASSET.path, ({ request }) => assetResponse(STYLE_ASSET, request), hide)
    .get(SCRIPT_ASSET.path, ({ request }) => assetResponse(SCRIPT_ASSET, request), hide)
    .get(ICON_ASSET.path, ({ request }) => assetResponse(ICON_ASSET, request), hide);
};
