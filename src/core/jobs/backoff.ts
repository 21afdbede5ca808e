// Retry delays: exponential growth capped at a ceiling, with "equal jitter" so retries of many jobs spread out.

/**
 * Attempt n (1-based, the attempt that just failed) waits between half and all of min(max, base·2^(n-1)).
 * Half is kept fixed so a retry never fires at once; the random half spreads a thundering herd.
 */
export function backoffDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
