// Status-page sessions: log in with an API token, get an HttpOnly SameSite=Strict cookie naming an in-memory session.
import { randomBytes } from "node:crypto";
import { Elysia } from "elysia";
import { type Core, grants, type Scope } from "../core/index.ts";
import { html, type SafeHtml } from "./html.ts";
import { htmlResponse, renderPage } from "./layout.ts";

export const LOGIN_PATH = "/login";
export const LOGOUT_PATH = "/logout";
export const SESSION_COOKIE = "goosed_session";
/** Sliding: each request a session makes pushes its expiry this far out again. */
export const SESSION_TTL_MS = 12 * 3_600_000;

export interface Session {
  id: string;
  /** Every form an action posts carries it; a cross-site form cannot know it. */
  csrf: string;
  tokenId: string;
  tokenName: string;
  scopes: readonly Scope[];
  expiresAt: number;
}

/** Sessions live in memory only: a restart logs everyone out, which a lab appliance can afford. */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly ttlMs = SESSION_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  create(token: { id: string; name: string; scopes: readonly Scope[] }): Session {
    this.sweep();
    // 256 bits from the CSPRNG: the id is the only thing the cookie carries.
    const id = randomBytes(32).toString("base64url");
    const session = { id, csrf: randomBytes(32).toString("base64url"), tokenId: token.id, tokenName: token.name, scopes: [...token.scopes], expiresAt: this.now() + this.ttlMs };
    this.sessions.set(id, session);
    return session;
  }

  /** The live session with this id, its expiry pushed out; null when unknown or expired. */
  touch(id: string | undefined): Session | null {
    if (!id) return null;
    const session = this.sessions.get(id);
    if (!session) return null;
    const now = this.now();
    if (session.expiresAt <= now) {
      this.sessions.delete(id);
      return null;
    }
    session.expiresAt = now + this.ttlMs;
    return session;
  }

  end(id: string | undefined): void {
    if (id) this.sessions.delete(id);
  }

  get size(): number {
    return this.sessions.size;
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, session] of this.sessions) if (session.expiresAt <= now) this.sessions.delete(id);
  }
}

/** The session id in a request's Cookie header, if any. */
export function sessionIdOf(request: Request): string | undefined {
  const header = request.headers.get("cookie") ?? "";
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * The request's session, if it has a live one that may read. The token behind it is looked up again each time, so
 * revoking a token (or its expiry) ends its sessions at once rather than when they time out.
 */
export function sessionOf(core: Core, sessions: SessionStore, request: Request): Session | null {
  const id = sessionIdOf(request);
  const session = sessions.touch(id);
  if (!session || !grants(session.scopes, "read")) return null;
  if (!core.tokens.isLive(session.tokenId)) {
    sessions.end(id);
    return null;
  }
  return session;
}

// No Secure attribute: the appliance serves plain HTTP on the lab network; Max-Age matches the sliding TTL's start.
const sessionCookie = (id: string, maxAgeSeconds: number) =>
  `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}`;

export const redirect = (location: string, headers: Record<string, string> = {}) =>
  new Response(null, { status: 303, headers: { location, "cache-control": "no-store", ...headers } });

function loginPage(error?: string): string {
  const message: SafeHtml | "" = error ? html`<p class="error" role="alert">${error}</p>` : "";
  return renderPage({
    title: "Log in",
    body: html`<section>${message}
<form class="login" method="post" action="${LOGIN_PATH}">
<label for="token">API token (the admin token is in &lt;data&gt;/admin-token; <code>goosed token create</code> makes others)</label>
<input id="token" name="token" type="password" autocomplete="off" required autofocus>
<button type="submit">Log in</button>
</form></section>`,
  });
}

/** GET/POST /login and GET/POST /logout. POST /login's body arrives parsed from a form (see api/index.ts onParse). */
export const sessionRoutes = (core: Core, sessions: SessionStore) =>
  new Elysia({ name: "web-session" })
    .get(LOGIN_PATH, ({ request }) => (sessionOf(core, sessions, request) ? redirect("/") : htmlResponse(loginPage())), { detail: { hide: true } })
    .post(
      LOGIN_PATH,
      ({ body }) => {
        const fields = (body ?? {}) as Record<string, string>;
        const bearer = (fields.token ?? "").trim();
        const token = bearer ? core.tokens.authenticate(bearer) : null;
        if (!token) return htmlResponse(loginPage("That token is unknown, revoked or expired."), 401);
        if (!grants(token.scopes, "read")) return htmlResponse(loginPage("That token cannot read; the status page needs the read scope."), 403);
        const session = sessions.create(token);
        return redirect("/", { "set-cookie": sessionCookie(session.id, SESSION_TTL_MS / 1000) });
      },
      { detail: { hide: true } },
    )
    .get(LOGOUT_PATH, ({ request }) => logout(sessions, request), { detail: { hide: true } })
    .post(LOGOUT_PATH, ({ request }) => logout(sessions, request), { detail: { hide: true } });

function logout(sessions: SessionStore, request: Request): Response {
  sessions.end(sessionIdOf(request));
  return redirect(LOGIN_PATH, { "set-cookie": sessionCookie("", 0) });
}
