// Loads configuration from file, then GOOSED_* environment, then flags (flags win); validates once, freezes.
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { type TSchema, Kind } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { parseDocument } from "yaml";
import type { FieldError } from "../lib/errors.ts";
import { type Config, ConfigSchema } from "./schema.ts";

/** Read when neither --config nor GOOSED_CONFIG names a file; the appliance image installs it. */
export const SYSTEM_CONFIG_PATH = "/etc/goosed/goosed.yaml";

/** Variables the CLI client reads; they are not settings of `goosed serve`. */
const CLIENT_ENV = new Set(["GOOSED_CONFIG", "GOOSED_API", "GOOSED_TOKEN"]);

export class ConfigError extends Error {
  constructor(readonly errors: FieldError[]) {
    super(`invalid configuration:\n${errors.map((e) => `  ${e.path}: ${e.message}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

export interface ConfigSources {
  /** Path given with --config; falls back to GOOSED_CONFIG, then SYSTEM_CONFIG_PATH if it exists. */
  configPath?: string;
  env: Record<string, string | undefined>;
  /** cac's parsed flags, camelCased (`--http-port` arrives as `httpPort`). */
  flags: Record<string, unknown>;
  cwd: string;
}

export interface LoadedConfig {
  config: Readonly<Config>;
  configPath: string | null;
}

interface Leaf {
  path: string[];
  schema: TSchema;
}

/** Every setting as a dotted path with its schema: http.port, log.level, ... */
export function settingLeaves(schema: TSchema = ConfigSchema, prefix: string[] = []): Leaf[] {
  if (schema.type === "object" && schema.properties) {
    return Object.entries(schema.properties as Record<string, TSchema>).flatMap(([key, child]) =>
      settingLeaves(child, [...prefix, key]),
    );
  }
  return [{ path: prefix, schema }];
}

const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

export const envName = (path: string[]) => `GOOSED_${path.map(snake).join("_")}`;
export const flagName = (path: string[]) => path.map(kebab).join("-");
// cac camelCases only a hyphen between two letters: --objects-s3-port arrives as `objectsS3-port`, not `objectsS3Port`.
const flagKey = (path: string[]) => flagName(path).replace(/([a-z])-([a-z])/g, (_, a: string, c: string) => a + c.toUpperCase());

/** What a setting accepts, in words an operator can act on. */
export function describeSetting(schema: TSchema): string {
  if (schema.anyOf) return `one of ${(schema.anyOf as TSchema[]).map((s) => s.const).join(", ")}`;
  if (schema.type === "integer") {
    const range =
      schema.minimum !== undefined && schema.maximum !== undefined
        ? ` from ${schema.minimum} to ${schema.maximum}`
        : schema.minimum !== undefined
          ? ` of at least ${schema.minimum}`
          : "";
    return `an integer${range}`;
  }
  if (schema.type === "string") return schema.minLength ? "a non-empty string" : "a string";
  if (schema.type === "object") return "a mapping (JSON on the command line or in the environment)";
  if (schema.type === "array") {
    return (schema.items as TSchema).type === "string" ? "a list (comma-separated on the command line or in the environment)" : "a list (JSON on the command line or in the environment)";
  }
  return String(schema[Kind]);
}

/**
 * Environment and flags arrive as text; turn digits into numbers and true/false into booleans so the schema judges
 * the value, not its spelling. A bare boolean flag (`--bundles-auto-import`) arrives as true already.
 */
function coerce(schema: TSchema, raw: unknown): unknown {
  if (typeof raw === "boolean") return raw;
  const text = String(raw);
  if (schema.type === "integer" && /^-?\d+$/.test(text.trim())) return Number(text.trim());
  if (schema.type === "boolean" && /^(true|false)$/.test(text.trim())) return text.trim() === "true";
  if (schema.type === "array" && (schema.items as TSchema).type === "string" && !text.trim().startsWith("[")) {
    return text.split(",").map((item) => item.trim()).filter((item) => item !== "");
  }
  // A map or list setting (vars, dhcp.relays) given on the command line or in the environment is written as JSON.
  if (schema.type === "object" || schema.type === "array") {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

function setAt(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== "object" || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path.at(-1)!] = value;
}

function readConfigFile(path: string, errors: FieldError[]): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    errors.push({ path: "--config", message: `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? err}` });
    return {};
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    for (const e of doc.errors) errors.push({ path, message: `YAML: ${e.message.split("\n")[0]}` });
    return {};
  }
  const value = doc.toJS() ?? {};
  if (typeof value !== "object" || Array.isArray(value)) {
    errors.push({ path, message: "expected a YAML mapping of settings at the top level" });
    return {};
  }
  return value as Record<string, unknown>;
}

export function loadConfig(sources: ConfigSources): LoadedConfig {
  const errors: FieldError[] = [];
  const origin = new Map<string, string>();
  const leaves = settingLeaves();

  const explicitPath = sources.configPath ?? sources.env.GOOSED_CONFIG;
  const configPath = explicitPath
    ? resolve(sources.cwd, explicitPath)
    : existsSync(SYSTEM_CONFIG_PATH)
      ? SYSTEM_CONFIG_PATH
      : null;
  const merged: Record<string, unknown> = configPath ? readConfigFile(configPath, errors) : {};
  if (configPath) for (const leaf of leaves) origin.set(leaf.path.join("."), `in ${configPath}`);

  const known = new Set(leaves.map((l) => envName(l.path)));
  for (const name of Object.keys(sources.env)) {
    if (name.startsWith("GOOSED_") && !known.has(name) && !CLIENT_ENV.has(name)) {
      errors.push({ path: name, message: `is not a goosed setting (known: ${[...known].join(", ")})` });
    }
  }
  for (const leaf of leaves) {
    const name = envName(leaf.path);
    const raw = sources.env[name];
    if (raw === undefined) continue;
    setAt(merged, leaf.path, coerce(leaf.schema, raw));
    origin.set(leaf.path.join("."), `from ${name}`);
  }
  for (const leaf of leaves) {
    const raw = sources.flags[flagKey(leaf.path)];
    if (raw === undefined) continue;
    setAt(merged, leaf.path, coerce(leaf.schema, raw));
    origin.set(leaf.path.join("."), `from --${flagName(leaf.path)}`);
  }

  const withDefaults = Value.Default(ConfigSchema, merged) as Record<string, unknown>;
  const byPath = new Map(leaves.map((l) => [l.path.join("."), l.schema]));
  for (const e of Value.Errors(ConfigSchema, withDefaults)) {
    const dotted = e.path.slice(1).replaceAll("/", ".");
    const schema = byPath.get(dotted);
    const where = origin.has(dotted) ? ` (${origin.get(dotted)})` : configPath ? ` (in ${configPath})` : "";
    if (!schema) {
      errors.push({ path: dotted || "(top level)", message: `is not a goosed setting${where}` });
      continue;
    }
    if (errors.some((x) => x.path === dotted)) continue;
    errors.push({ path: dotted, message: `expected ${describeSetting(schema)}, got ${JSON.stringify(e.value)}${where}` });
  }
  if (errors.length > 0) throw new ConfigError(errors);

  const config = withDefaults as Config;
  config.dataDir = resolve(sources.cwd, config.dataDir);
  return { config: deepFreeze(config), configPath };
}

function deepFreeze<T>(value: T): Readonly<T> {
  if (typeof value === "object" && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
