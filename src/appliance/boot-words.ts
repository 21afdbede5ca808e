// Reads the appliance's `goosed.KEY=VALUE` words from the kernel command line and the GOOSED stick's cmdline.txt.

/** Where a word came from, named in warnings and errors so the operator knows which file to edit. */
export type WordSource = "kernel command line" | "cmdline.txt";

export interface BootWord {
  key: string;
  value: string;
  source: WordSource;
}

/** The keys `goosed appliance configure` understands (without the `goosed.` prefix). */
export const APPLIANCE_KEYS = ["iface", "dhcp", "subnet", "address", "range", "gateway", "autoimport", "port"] as const;
export type ApplianceKey = (typeof APPLIANCE_KEYS)[number];

const PREFIX = "goosed.";

/**
 * The `goosed.*` words of a command line, in order. Everything else (root=, quiet, console=) belongs to the kernel or
 * the live system and is skipped. `#` starts a comment to the end of its line, so cmdline.txt can explain itself.
 */
export function parseBootWords(text: string, source: WordSource): BootWord[] {
  const words: BootWord[] = [];
  for (const line of text.split("\n")) {
    for (const word of line.replace(/#.*$/, "").split(/\s+/)) {
      if (!word.startsWith(PREFIX)) continue;
      const eq = word.indexOf("=");
      const key = eq < 0 ? word.slice(PREFIX.length) : word.slice(PREFIX.length, eq);
      words.push({ key, value: eq < 0 ? "" : word.slice(eq + 1), source });
    }
  }
  return words;
}

export interface MergedWords {
  /** Each known key's winning word. */
  values: Partial<Record<ApplianceKey, BootWord>>;
  warnings: string[];
}

/** Merges the stick's words under the kernel's (a word typed at the boot prompt beats the stick); unknown keys warn. */
export function mergeBootWords(kernel: readonly BootWord[], file: readonly BootWord[]): MergedWords {
  const values: Partial<Record<ApplianceKey, BootWord>> = {};
  const warnings: string[] = [];
  for (const word of [...file, ...kernel]) {
    if ((APPLIANCE_KEYS as readonly string[]).includes(word.key)) values[word.key as ApplianceKey] = word;
    else warnings.push(`ignoring unknown setting goosed.${word.key} (${word.source}); known: ${APPLIANCE_KEYS.map((k) => `goosed.${k}`).join(", ")}`);
  }
  return { values, warnings };
}
