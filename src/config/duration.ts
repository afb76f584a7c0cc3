const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };

/**
 * Reads a duration from config: a number of milliseconds, or a string such as "500ms",
 * "10s" or "2m". Returns undefined for anything else, for the caller to report.
 */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(value.trim());
  return m ? Number(m[1]) * UNITS[m[2]] : undefined;
}
