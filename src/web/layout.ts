// The page shell every status page shares: title, navigation and the embedded style sheet (no request leaves the appliance).
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

// System fonts only: an appliance on an isolated network cannot fetch web fonts. Sized for a 1024-px-wide screen.
const STYLE = raw(`
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1d2430;background:#f4f6f8}
header{display:flex;align-items:center;gap:1.5rem;padding:.6rem 1.2rem;background:#1d2430;color:#fff}
header .brand{font-weight:700;letter-spacing:.03em}
nav{display:flex;gap:.2rem;flex-wrap:wrap;flex:1}
nav a{color:#c9d3e0;text-decoration:none;padding:.3rem .6rem;border-radius:4px}
nav a:hover,nav a[aria-current=page]{background:#34405a;color:#fff}
header form{margin:0}
header button{background:none;border:1px solid #5b6780;color:#c9d3e0;border-radius:4px;padding:.25rem .6rem;cursor:pointer}
main{max-width:1000px;margin:1rem auto;padding:0 1rem}
h1{font-size:1.4rem;margin:.4rem 0 1rem}
section{background:#fff;border:1px solid #d9dee5;border-radius:6px;padding:.8rem 1rem;margin-bottom:1rem}
h2{font-size:1.05rem;margin:0 0 .6rem}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #eceff3;vertical-align:top}
th{font-weight:600;color:#4a5568}
td.num{text-align:right;font-variant-numeric:tabular-nums}
code,.mono{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:.92em}
.ok{color:#1f7a3a;font-weight:600}
.down{color:#b3261e;font-weight:600}
.none{color:#6b7686;font-style:italic}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:1rem}
.grid section{margin-bottom:0}
.bar{height:.6rem;background:#eceff3;border-radius:3px;overflow:hidden;margin-top:.3rem}
.bar span{display:block;height:100%;background:#3b6fd8}
.error{background:#fdecea;border:1px solid #f1b0ab;color:#8c1d18;padding:.5rem .8rem;border-radius:4px}
form.login{display:flex;flex-direction:column;gap:.6rem;max-width:28rem}
form.login input{font:inherit;padding:.4rem}
form.login button{font:inherit;padding:.4rem;width:8rem}
`);

export interface PageOptions {
  title: string;
  /** The nav path of this page, marked as the current one; omit on the login page, which has no navigation. */
  current?: string;
  body: SafeHtml;
}

/** A whole HTML document. */
export function renderPage(options: PageOptions): string {
  const signedIn = options.current !== undefined;
  const nav = signedIn
    ? html`<nav>${NAV.map((item) => html`<a href="${item.path}"${item.path === options.current ? raw(' aria-current="page"') : ""}>${item.label}</a>`)}</nav>
<form method="post" action="/logout"><button type="submit">Log out</button></form>`
    : "";
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · goosed</title>
<style>${STYLE}</style>
</head>
<body>
<header><span class="brand">goosed</span>${nav}</header>
<main>
<h1>${options.title}</h1>
${options.body}
</main>
</body>
</html>
`.value;
}

export const HTML_CONTENT_TYPE = "text/html; charset=utf-8";

/** An HTML response that no cache keeps: pages show live state and may only be read with a session. */
export function htmlResponse(document: string, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(document, { status, headers: { "content-type": HTML_CONTENT_TYPE, "cache-control": "no-store", ...headers } });
}
