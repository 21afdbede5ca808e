// Structured logging: one JSON object per line, or readable colour lines on a terminal.

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  level: LogLevel;
  /** `pretty` writes colour lines for people; `json` one object per line for machines. */
  format: "json" | "pretty";
  write?: (line: string) => void;
}

const COLOURS: Record<LogLevel, string> = {
  debug: "\x1b[90m",
  info: "\x1b[36m",
  warn: "\x1b[33m",
  error: "\x1b[31m",
};

export function createLogger(options: LoggerOptions, bound: LogFields = {}): Logger {
  const threshold = LOG_LEVELS.indexOf(options.level);
  const write = options.write ?? ((line: string) => process.stdout.write(line));
  const emit = (level: LogLevel, message: string, fields?: LogFields) => {
    if (LOG_LEVELS.indexOf(level) < threshold) return;
    const time = new Date();
    const all = { ...bound, ...fields };
    if (options.format === "json") {
      write(`${JSON.stringify({ time: time.toISOString(), level, ...all, message }, jsonSafe)}\n`);
      return;
    }
    const { component, ...rest } = all;
    const extras = Object.entries(rest)
      .map(([key, value]) => `\x1b[90m${key}=\x1b[0m${formatValue(value)}`)
      .join(" ");
    const clock = time.toISOString().slice(11, 23);
    const tag = `${COLOURS[level]}${level.toUpperCase().padEnd(5)}\x1b[0m`;
    const where = component ? `\x1b[35m${String(component)}\x1b[0m ` : "";
    write(`\x1b[90m${clock}\x1b[0m ${tag} ${where}${message}${extras ? ` ${extras}` : ""}\n`);
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => createLogger(options, { ...bound, ...fields }),
  };
}

/** Errors and bigints do not survive JSON.stringify on their own. */
function jsonSafe(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  if (typeof value === "bigint") return value.toString();
  return value;
}

function formatValue(value: unknown): string {
  if (typeof value === "string") return /\s/.test(value) ? JSON.stringify(value) : value;
  if (value instanceof Error) return JSON.stringify(value.message);
  return JSON.stringify(value, jsonSafe);
}
