// The built-in status page: server-rendered HTML behind its own session login, mounted beside the /v1 API.
import { Elysia } from "elysia";
import { redirect, SessionStore, sessionOf, sessionRoutes, LOGIN_PATH } from "./session.ts";
import { gatherOverview, type OverviewDeps, renderOverview } from "./overview.ts";
import { htmlResponse } from "./layout.ts";

export { LOGIN_PATH, SESSION_COOKIE, SessionStore } from "./session.ts";
export { escapeHtml, html, raw, SafeHtml } from "./html.ts";

export type WebDeps = OverviewDeps & { sessions?: SessionStore };

export const webRoutes = (deps: WebDeps) => {
  const sessions = deps.sessions ?? new SessionStore();
  return new Elysia({ name: "web" })
    .use(sessionRoutes(deps.core, sessions))
    .get(
      "/",
      ({ request }) => {
        if (!sessionOf(sessions, request)) return redirect(LOGIN_PATH);
        return htmlResponse(renderOverview(gatherOverview(deps), deps.dataDir));
      },
      { detail: { hide: true } },
    );
};
