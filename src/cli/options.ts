// Reading the command line: option values as typed, key=value pairs, and checks that end in a usage error.
import { readFileSync } from "node:fs";
import type { CAC } from "cac";
import { CliError, UsageError } from "./usage.ts";

/**
 * The values of a string option exactly as typed, every occurrence. cac's parser (mri) turns number-like values into
 * numbers, which ruins a bare MAC (001122334455 → 1122334455) or a serial with leading zeros; this reads the raw
 * arguments with mri's own rules (`--x v`, `--x=v`, a value never starts with '-', nothing after `--`).
 */
export function rawValues(cli: CAC, name: string): string[] {
  const flag = `--${name}`;
  const args = cli.rawArgs;
  const end = args.includes("--") ? args.indexOf("--") : args.length;
  const values: string[] = [];
  for (let i = 0; i < end; i++) {
    const arg = args[i]!;
    if (arg.startsWith(`${flag}=`) && arg.length > flag.length + 1) values.push(arg.slice(flag.length + 1));
    else if ((arg === flag || arg === `${flag}=`) && i + 1 < end && !args[i + 1]!.startsWith("-")) values.push(args[++i]!);
  }
  return values;
}

/** The one value of a string option, or undefined; given twice is a usage mistake. */
export function rawValue(cli: CAC, name: string, command: string): string | undefined {
  const values = rawValues(cli, name);
  if (values.length > 1) throw new UsageError(`--${name} may be given once`, command);
  return values[0];
}

/** `k=v` pairs; the value is everything after the first '='. */
export function pairs(values: string[], flag: string, command: string): Array<[string, string]> {
  return values.map((pair) => {
    const at = pair.indexOf("=");
    if (at <= 0) throw new UsageError(`--${flag} expects key=value, got ${pair}`, command);
    return [pair.slice(0, at), pair.slice(at + 1)];
  });
}

/** `--var k=v`: the value as JSON when it parses (3, true, ["a"]), else the text itself. */
export function varsOf(cli: CAC, command: string): Record<string, unknown> | undefined {
  const list = pairs(rawValues(cli, "var"), "var", command);
  if (list.length === 0) return undefined;
  return Object.fromEntries(
    list.map(([key, text]) => {
      try {
        return [key, JSON.parse(text)];
      } catch {
        return [key, text];
      }
    }),
  );
}

export function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], flag: string, command: string): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`--${flag} must be one of ${allowed.join(", ")}, got ${value}`, command);
  return value as T;
}

export function positiveInteger(value: unknown, flag: string, command: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${flag} expects a whole number above 0, got ${value}`, command);
  return n;
}

export function readText(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new CliError(`cannot read ${what} ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
  }
}
