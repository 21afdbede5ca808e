// What the CLI prints: aligned tables for people, JSON for scripts, progress that suits the terminal it is on.

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printTable(headers: string[], rows: Array<Array<string | number | null | undefined>>): void {
  const cells = rows.map((row) => row.map((c) => (c === null || c === undefined || c === "" ? "-" : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (row: string[]) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join("  ");
  process.stdout.write(`${line(headers.map((h) => h.toUpperCase()))}\n`);
  for (const row of cells) process.stdout.write(`${line(row)}\n`);
  if (rows.length === 0) process.stdout.write("(none)\n");
}

/** A bar redrawn in place on a terminal; elsewhere one plain line each time the message or whole percent changes. */
export function createProgress(stream: NodeJS.WriteStream = process.stderr) {
  const tty = stream.isTTY === true;
  let last = "";
  return {
    update(fraction: number, message: string | null): void {
      const percent = Math.floor(fraction * 100);
      if (tty) {
        const width = 30;
        const filled = Math.round(fraction * width);
        stream.write(`\r[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${String(percent).padStart(3)}% ${message ?? ""}\x1b[K`);
        return;
      }
      const lineText = `${percent}% ${message ?? ""}`.trimEnd();
      if (lineText !== last) stream.write(`${lineText}\n`);
      last = lineText;
    },
    done(): void {
      if (tty) stream.write("\n");
    },
  };
}

export const age = (isoTime: string | null): string => {
  if (!isoTime) return "-";
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(isoTime)) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86400)}d ago`;
};

const MiB = 1024 * 1024;
/** Bytes as MiB with one decimal, as the CLI prints sizes. */
export const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

/** Progress of bytes moving: done of total, rate and time left, redrawn once per whole percent. */
export function createByteProgress() {
  const bar = createProgress();
  const startedMs = performance.now();
  let shown = -1;
  return {
    update(label: string, done: number, total: number) {
      const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
      if (percent === shown) return;
      shown = percent;
      const seconds = Math.max((performance.now() - startedMs) / 1000, 0.001);
      const rate = done / seconds;
      const eta = rate > 0 ? Math.ceil((total - done) / rate) : 0;
      bar.update(total === 0 ? 1 : done / total, `${label} ${mib(done)} of ${mib(total)}, ${(rate / MiB).toFixed(0)} MiB/s, ${eta} s left`);
    },
    restart() {
      shown = -1;
    },
    done: () => bar.done(),
  };
}
