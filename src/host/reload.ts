// What a config reload changes: which drivers to start, swap, drain or leave alone, and which
// settings a running host cannot take. Pure: the host applies it.
import type { Config, DriverEntry } from '../config/schema.js';

/** What a reload did, by driver name. */
export interface ReloadReport {
  added: string[];
  removed: string[];
  /** Swapped: a new process beside the old, then the old drained. */
  changed: string[];
  unchanged: string[];
  /** Drivers whose new process failed to start: the old one (if any) keeps serving. */
  failed: Array<{ driver: string; error: string }>;
  /** Top-level settings (TOML names) that changed but take effect only after a restart. */
  needsRestart: string[];
}

/** Top-level settings a running host takes over at once: they are read on each install. */
const LIVE: ReadonlyArray<keyof Config> = [
  'indexes',
  'trustedKeys',
  'buildPackages',
  'maxDownloadBytes',
  'maxUnpackedBytes',
  'downloadTimeout',
  'types',
  'contracts',
];

/** Top-level settings a host cannot change while running, by TOML name. */
const FIXED: ReadonlyArray<[keyof Config, string]> = [
  ['binDir', 'bin_dir'],
  ['socketDir', 'socket_dir'],
  ['socketOwner', 'socket_owner'],
  ['mode', 'mode'],
  ['listen', 'listen'],
];

/** The drivers of `next` compared with those of `now`, and the settings needing a restart. */
export function diffConfigs(
  now: Config,
  next: Config,
): Pick<ReloadReport, 'added' | 'removed' | 'changed' | 'unchanged' | 'needsRestart'> {
  const before = new Map(now.drivers.map((d) => [d.name, d]));
  const after = new Map(next.drivers.map((d) => [d.name, d]));
  const out = { added: [] as string[], removed: [] as string[], changed: [] as string[] };
  const unchanged: string[] = [];
  for (const [name, entry] of after) {
    const old = before.get(name);
    if (!old) out.added.push(name);
    else if (entryKey(old) !== entryKey(entry)) out.changed.push(name);
    else unchanged.push(name);
  }
  for (const name of before.keys()) if (!after.has(name)) out.removed.push(name);
  const needsRestart = FIXED.filter(([k]) => !same(now[k], next[k])).map(([, toml]) => toml);
  return { ...out, unchanged, needsRestart };
}

/** The settings of `next` a running host takes over (package installs read them on use). */
export function liveSettings(next: Config): Partial<Config> {
  const out: Record<string, unknown> = {};
  for (const k of LIVE) out[k] = next[k];
  return out as Partial<Config>;
}

/**
 * An entry as compared across reloads: what its process runs with, and its type by name (a
 * declared type's proto is not compared: its message classes may hold cycles). The gateway's
 * `gateway_allow` needs no new process: the gateway takes it as it is.
 */
function entryKey(entry: DriverEntry): string {
  const { contract, gatewayAllow: _, ...rest } = entry;
  return JSON.stringify([rest, contract.type]);
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
