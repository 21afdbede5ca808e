// The page shell every status page shares: title, navigation, the live-update indicator, and the embedded assets.
import { ICON_ASSET, SCRIPT_ASSET, STYLE_ASSET } from "./assets.ts";
import { html, raw, type SafeHtml } from "./html.ts";

export const NAV = [
  { path: "/", label: "Overview" },
  { path: "/machines", label: "Machines" },
  { path: "/leases", label: "Leases" },
  { path: "/artifacts", label: "Artifacts" },
  { path: "/jobs", label: "Jobs" },
  { path: "/events", label: "Events" },
  { path: "/bundles", label: "Bundles" },
] as const;

export interface PageOptions {
  title: string;
  /** The nav path of this page, marked as the current one; omit on the login page, which has no navigation. */
  current?: string;
  /** Who is signed in, shown beside the log-out button. */
  signedInAs?: string;
  body: SafeHtml;
  warnings?: readonly string[];
}

/** A whole HTML document. */
export function renderPage(options: PageOptions): string {
  const signedIn = options.current !== undefined;
  const nav = signedIn
    ? html`<nav>${NAV.map((item) => html`<a href="${item.path}"${item.path === options.current ? raw(' aria-current="page"') : ""}>${item.label}</a>`)}</nav>
<span id="live-state" data-state="static" title="Live updates need JavaScript; without it, reload to see changes">static</span>
<form method="post" action="/logout"><button type="submit" title="${options.signedInAs ? `signed in with ${options.signedInAs}` : ""}">Log out</button></form>`
    : "";
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · goosed</title>
<link rel="icon" href="${ICON_ASSET.path}" type="image/svg+xml">
<link rel="stylesheet" href="${STYLE_ASSET.path}">
${signedIn ? html`<script src="${SCRIPT_ASSET.path}" defer></script>` : ""}
</head>
<body>
<header><span class="brand">goosed</span>${nav}</header>
<main>
${(options.warnings ?? []).map((warning) => html`<p class="warning" role="alert">${warning}</p>`)}
<h1>${options.title}</h1>
${options.body}
</main>
</body>
</html>
`.value;
}

export const HTML_CONTENT_TYPE = "text/html; charset=utf-8";

// Nothing inline, nothing from elsewhere: an injected tag can neither run nor phone out, and a page can never make
// a request that leaves the appliance.
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** An HTML response that no cache keeps: pages show live state and may only be read with a session. */
export function htmlResponse(document: string, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(document, {
    status,
    headers: {
      "content-type": HTML_CONTENT_TYPE,
      "cache-control": "no-store",
      "content-security-policy": CONTENT_SECURITY_POLICY,
      "x-content-type-options": "nosniff",
      "referrer-policy": "same-origin",
      ...headers,
    },
  });
}
