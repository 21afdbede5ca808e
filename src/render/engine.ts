// Renders templates with LiquidJS: templates come in signed bundles from outside, so they get no code, no files,
// no prototype access and no undefined names, and they render synchronously because boot scripts sit on a hot path.
import { Liquid, LiquidError, Tag, type Template, type TagToken, type TopLevelToken } from "liquidjs";
import { AppError, type FieldError } from "../lib/errors.ts";
import { type RenderContext, TEMPLATE_NAMES } from "./context.ts";
import { FILTERS } from "./filters.ts";
import { GLOBAL_DEFAULT_VARS, layerVars } from "./vars.ts";

// Far above any real install template (the largest default is under 10 kB), far below what hurts the appliance.
const PARSE_LIMIT_CHARS = 1_000_000;
const RENDER_LIMIT_MS = 1_000;
const MEMORY_LIMIT_CHARS = 64_000_000;
const CACHE_ENTRIES = 512;

/** Tags that would load another template or a file: refused when the template is parsed. */
const FILE_TAGS = ["include", "render", "layout"] as const;

class RefusedTag extends Tag {
  constructor(token: TagToken, remainTokens: TopLevelToken[], liquid: Liquid) {
    super(token, remainTokens, liquid);
    throw new Error(`{% ${token.name} %} is not available: a goosed template cannot load other templates or files`);
  }

  *render(): Generator<unknown, void, unknown> {}
}

function createEngine(): Liquid {
  const liquid = new Liquid({
    strictVariables: true,
    strictFilters: true,
    ownPropertyOnly: true,
    jsTruthy: false,
    // An empty in-memory map instead of the disk, should a file tag ever get past RefusedTag.
    templates: {},
    relativeReference: false,
    dynamicPartials: false,
    cache: false,
    parseLimit: PARSE_LIMIT_CHARS,
    renderLimit: RENDER_LIMIT_MS,
    memoryLimit: MEMORY_LIMIT_CHARS,
  });
  for (const name of FILE_TAGS) liquid.registerTag(name, RefusedTag);
  for (const [name, filter] of Object.entries(FILTERS)) liquid.registerFilter(name, filter);
  return liquid;
}

const engine = createEngine();
// Parsed templates by name and source, least recently used first (Map keeps insertion order).
const parsed = new Map<string, Template[]>();

function parseCached(name: string, source: string): Template[] {
  const key = `${name}\u0000${source}`;
  const hit = parsed.get(key);
  if (hit) {
    parsed.delete(key);
    parsed.set(key, hit);
    return hit;
  }
  const templates = engine.parse(source);
  parsed.set(key, templates);
  if (parsed.size > CACHE_ENTRIES) parsed.delete(parsed.keys().next().value!);
  return templates;
}

/**
 * Renders `source` with `context`; GLOBAL_DEFAULT_VARS lies under `context.vars`, so the defaults are always there.
 * `name` labels errors (`rocky9/kickstart`); its last segment names the template in the error path.
 * Throws AppError `template-render-failed` (422) naming template, line and problem.
 */
export function renderTemplate(name: string, source: string, context: RenderContext): string {
  try {
    const scope = { ...context, vars: layerVars(GLOBAL_DEFAULT_VARS, context.vars) };
    return String(engine.renderSync(parseCached(name, source), scope));
  } catch (error) {
    throw renderFailure(name, error);
  }
}

/** Renders each template and reports every failure, not just the first; unknown template names are failures too. */
export function checkTemplates(templates: Array<{ name: string; source: string }>, context: RenderContext): FieldError[] {
  const errors: FieldError[] = [];
  for (const { name, source } of templates) {
    if (!(TEMPLATE_NAMES as readonly string[]).includes(name)) {
      errors.push({ path: `/templates/${name}`, message: `unknown template; expected one of ${TEMPLATE_NAMES.join(", ")}` });
      continue;
    }
    let output: string;
    try {
      output = renderTemplate(name, source, context);
    } catch (error) {
      if (error instanceof AppError && error.errors) errors.push(...error.errors);
      else throw error;
      continue;
    }
    // iPXE runs a downloaded file as a script only when it starts with the magic line.
    if (name.startsWith("ipxe-") && !output.startsWith("#!ipxe")) {
      errors.push({ path: `/templates/${name}`, message: "line 1: an iPXE script must start with #!ipxe" });
    }
  }
  return errors;
}

function renderFailure(name: string, error: unknown): AppError {
  const { line, column, problem } = describe(error);
  const where = line === null ? "" : ` line ${line}`;
  const at = line === null ? "" : `line ${line}, col ${column}: `;
  return new AppError({
    code: "template-render-failed",
    status: 422,
    title: "Template does not render",
    detail: `${name}${where}: ${problem}`,
    errors: [{ path: `/templates/${name.slice(name.lastIndexOf("/") + 1)}`, message: `${at}${problem}` }],
    cause: error,
  });
}

function describe(error: unknown): { line: number | null; column: number | null; problem: string } {
  if (error instanceof LiquidError) {
    const [line, column] = error.token.getPosition();
    // LiquidJS appends ", line:N, col:M" to its own message; the cause's message is the bare problem.
    const problem = error.originalError?.message ?? error.message.replace(/, line:\d+, col:\d+$/, "");
    // A render error wraps the failure of a nested output or tag; the innermost LiquidError knows where it was.
    if (error.originalError instanceof LiquidError) return describe(error.originalError);
    return { line: line ?? null, column: column ?? null, problem: firstLine(problem) };
  }
  return { line: null, column: null, problem: firstLine(error instanceof Error ? error.message : String(error)) };
}

const firstLine = (text: string) => text.split("\n", 1)[0] ?? text;
