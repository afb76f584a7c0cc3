/** Formats app protocol versions for `PLUGIN_PROTOCOL_VERSIONS`: comma-separated, no spaces. */
export function formatVersions(versions: readonly number[]): string {
  return versions.join(',');
}

/**
 * Parses `PLUGIN_PROTOCOL_VERSIONS`. Like go-plugin, entries that are not integers are
 * skipped rather than fatal, so a host typo degrades to a version mismatch the host reports.
 */
export function parseVersions(value: string | undefined): number[] {
  if (!value) return [];
  const out: number[] = [];
  for (const part of value.split(',')) {
    if (/^\s*-?\d+\s*$/.test(part)) out.push(Number(part));
  }
  return out;
}

/**
 * Picks the app version a driver serves, as go-plugin's `protocolVersion` does: the highest
 * version both sides speak; with none in common, the driver's lowest, so that the host (not
 * the driver) reports the mismatch.
 */
export function pickVersion(
  hostVersions: readonly number[],
  driverVersions: readonly number[],
): number {
  const mine = [...driverVersions].sort((a, b) => b - a);
  if (mine.length === 0)
    throw new RangeError('a driver must serve at least one app protocol version');
  for (const v of mine) if (hostVersions.includes(v)) return v;
  return mine[mine.length - 1];
}
