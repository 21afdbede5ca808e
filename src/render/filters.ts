// The filters templates use to place values safely into shell, PowerShell, iPXE and single-line formats.
// They are our code, not template code: a template can call them but cannot define its own.

/** POSIX single-quoting: the shell reads the result back as exactly one word holding `value`. Arrays quote each item. */
export function shellQuote(value: unknown): string {
  if (Array.isArray(value)) return value.map(shellQuote).join(" ");
  const text = stringOf(value);
  // No shell can pass a NUL byte in an argument; refusing beats a silently truncated word.
  if (text.includes("\0")) throw new Error("shell_quote: a value holds a NUL byte, which no shell argument can carry");
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

// PowerShell treats the typographic single quotes as quote characters too (about_Quoting_Rules).
const POWERSHELL_QUOTES = /['\u2018\u2019\u201a\u201b]/g;

/** A PowerShell single-quoted string literal: no `$` expansion, quotes doubled. */
export function powershellQuote(value: unknown): string {
  return `'${stringOf(value).replace(POWERSHELL_QUOTES, (q) => q + q)}'`;
}

// Line breaks and other control characters would end a preseed value, a kickstart line or an iPXE command early.
const CONTROL_RUNS = /[\u0000-\u001f\u007f\u2028\u2029]+/g;

/** The value on one line: every run of control characters (newlines included) becomes one space. Arrays map item by item. */
export function oneLine(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(oneLine);
  return stringOf(value).replace(CONTROL_RUNS, " ");
}

// iPXE splits a command line on whitespace, then ends a command at a token that is exactly `;`, `||` or `&&`, and a
// token starting with `#` begins a comment (core/exec.c command_terminator); a line ending in `\` continues on the
// next line (image/script.c). It has no quoting, so the only defence is keeping values from forming such tokens.
const IPXE_SPECIAL_TOKEN = /^(;|\|\||&&|#.*)$/;

/** Words safe to put on an iPXE command line: one line, no token iPXE would read as a terminator or comment. */
export function ipxeSafe(value: unknown): string {
  const line = (oneLine(Array.isArray(value) ? value.join(" ") : value) as string)
    .split(" ")
    .map((word) => (IPXE_SPECIAL_TOKEN.test(word) ? `"${word}"` : word))
    .join(" ");
  return line.endsWith("\\") ? `${line} ` : line;
}

/** The last path segment of a URL or path, without query or fragment: `http://a/b/initrd.img?x=1` → `initrd.img`. */
export function basename(value: unknown): string {
  const path = stringOf(value).split(/[?#]/, 1)[0] ?? "";
  return path.slice(path.lastIndexOf("/") + 1);
}

function stringOf(value: unknown): string {
  return value === null || value === undefined ? "" : String(value);
}

/** Filter name → implementation, as templates spell them. */
export const FILTERS = {
  shell_quote: shellQuote,
  powershell_quote: powershellQuote,
  one_line: oneLine,
  ipxe_safe: ipxeSafe,
  basename,
} as const;
