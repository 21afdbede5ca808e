// What every status page and action shares: the session check, the page shell, the CSRF check, the write scope, and
// errors shown as a page rather than problem JSON (a browser, not a script, is reading).
import type { BundleWatcher, TrustedKey } from "../bundles/index.ts";
import type { Actor, Core, Readiness } from "../core/index.ts";
import { grants } from "../core/index.ts";
import type { Config } from "../config/index.ts";
import type { Logger } from "../lib/logger.ts";
import { AppError } from "../lib/errors.ts";
import type { ObjectStore } from "../objects/index.ts";
import { requestState } from "../api/request-state.ts";
import { timingSafeEqual } from "node:crypto";
import { html, type SafeHtml } from "./html.ts";
import { htmlResponse, renderPage } from "./layout.ts";
import { LOGIN_PATH, redirect, type Session, sessionOf, type SessionStore } from "./session.ts";

export interface WebDeps {
  core: Core;
  readiness: Readiness;
  trust: { list(): TrustedKey[] };
  dataDir: string;
  log: Logger;
  /** Absent when the object store did not open (a page then shows it as not configured). */
  objects?: ObjectStore;
  /** Null when bundles.watchDir is not set. */
  watcher?: BundleWatcher | null;
  config?: Readonly<Config>;
  /** Shown at the top of every page until the cause is fixed. */
  warnings?: readonly string[];
}

export interface PageContext {
  deps: WebDeps;
  request: Request;
  url: URL;
  params: Record<string, string>;
  session: Session;
  now: number;
}

export interface PageContent {
  title: string;
  body: SafeHtml;
  status?: number;
}

/** Every action form posts under here (see isWebForm). */
export const ACTIONS_PATH = "/actions";

/** The hidden field every action form carries. */
export const csrfField = (session: Session): SafeHtml => html`<input type="hidden" name="_csrf" value="${session.csrf}">`;

/** Whether this session may act, for pages to hide or disable their buttons. */
export const canWrite = (session: Session): boolean => grants(session.scopes, "write");

/** The audit trail names the token, as the API does, and says the action came from the status page. */
export function actorOfSession(session: Session, request: Request): Actor {
  const state = requestState(request);
  return { id: `token:${session.tokenId} (${session.tokenName}) via status page`, source: state.source, requestId: state.requestId };
}

function errorPage(current: string, session: Session | null, title: string, detail: string, status: number, back?: string): Response {
  const body = html`<section><p class="error" role="alert">${detail}</p>${back ? html`<p><a href="${back}">Back</a></p>` : ""}</section>`;
  return htmlResponse(renderPage({ title, current, signedInAs: session?.tokenName, body }), status);
}

/** GET handler of a page: no session → the login form; a failure → an error page naming it, never a blank one. */
export function pageHandler(deps: WebDeps, sessions: SessionStore, current: string, render: (ctx: PageContext) => PageContent) {
  return ({ request, params }: { request: Request; params?: Record<string, string> }): Response => {
    const session = sessionOf(deps.core, sessions, request);
    if (!session) return redirect(LOGIN_PATH);
    const url = new URL(request.url);
    try {
      const content = render({ deps, request, url, params: params ?? {}, session, now: Date.now() });
      return htmlResponse(renderPage({ title: content.title, current, signedInAs: session.tokenName, body: content.body, warnings: deps.warnings }), content.status ?? 200);
    } catch (error) {
      if (error instanceof AppError) return errorPage(current, session, error.title, error.detail, error.status, current);
      deps.log.error("status page failed", { component: "web", path: url.pathname, error });
      return errorPage(current, session, "Page failed", "the page could not be built; the appliance log has the cause", 500, "/");
    }
  };
}

/** Where "Back" goes: the path of the page the form was on, never another site; `fallback` when there is none. */
function sameOriginPath(referer: string | null, fallback: string): string {
  if (!referer) return fallback;
  try {
    const url = new URL(referer, "http://goosed.invalid");
    return url.pathname.startsWith("/") ? url.pathname + url.search : fallback;
  } catch {
    return fallback;
  }
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface ActionContext extends PageContext {
  fields: Record<string, string>;
  actor: Actor;
}

/**
 * POST handler of an action form. It needs a session, the session's CSRF token in `_csrf`, and the write scope;
 * it answers 303 to the page `act` names, or an error page with the reason and a way back.
 */
export function actionHandler(deps: WebDeps, sessions: SessionStore, current: string, act: (ctx: ActionContext) => string) {
  return ({ request, params, body }: { request: Request; params?: Record<string, string>; body: unknown }): Response => {
    const session = sessionOf(deps.core, sessions, request);
    if (!session) return redirect(LOGIN_PATH);
    const url = new URL(request.url);
    const fields = (body ?? {}) as Record<string, string>;
    const backPath = sameOriginPath(request.headers.get("referer"), current);
    // Scope first: a read-only session gets no forms, so it has no CSRF token to send, and the reason to show is its scope.
    if (!canWrite(session)) {
      return errorPage(current, session, "Action refused", `the token ${session.tokenName} may only read; log in with a token that has the write scope (goosed token create NAME --scope write)`, 403, backPath);
    }
    if (!sameSecret(fields._csrf ?? "", session.csrf)) {
      deps.log.warn("status page action refused: missing or wrong CSRF token", { component: "web", path: url.pathname, source: requestState(request).source });
      return errorPage(current, session, "Action refused", "the form did not carry this session's CSRF token; reload the page and try again", 403, backPath);
    }
    try {
      const ctx = { deps, request, url, params: params ?? {}, session, now: Date.now(), fields, actor: actorOfSession(session, request) };
      return redirect(act(ctx));
    } catch (error) {
      if (error instanceof AppError) {
        const detail = error.errors?.length ? `${error.detail}: ${error.errors.map((e) => e.message).join("; ")}` : error.detail;
        return errorPage(current, session, error.title, detail, error.status, backPath);
      }
      deps.log.error("status page action failed", { component: "web", path: url.pathname, error });
      return errorPage(current, session, "Action failed", "the action failed; the appliance log has the cause", 500, backPath);
    }
  };
}
