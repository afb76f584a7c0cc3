import { isAbsolute, resolve } from 'node:path';
import type { Contract } from '../contracts/contract.js';
import { contracts } from './registry.js';
import { DriverkitError } from '../errors.js';
import { parseReattach, type ReattachInfo } from '../protocol/reattach.js';
import { DEFAULT_RESTART, type RestartPolicy } from './restart.js';
import { parseDuration } from './duration.js';

/** One `[drivers.NAME]` entry, validated, with paths made absolute. */
export interface DriverEntry {
  /** The instance name (the table key). */
  name: string;
  /** The driver type; default: the instance name. */
  type: string;
  contract: Contract;
  /** Absolute path of an executable or of a source folder. */
  driver: string;
  args: string[];
  env: Record<string, string>;
  startTimeout?: number;
  shutdownGrace?: number;
  /** Hex sha256 the executable must have. */
  sha256?: string;
  /** Default deadline of calls through the host's clients and the gateway, in ms. */
  callTimeout?: number;
  /** What to do when the driver exits on its own. */
  restart: RestartPolicy;
  /** Connect to this running driver instead of starting `driver` (for debugging). */
  reattach?: ReattachInfo;
  /** With reattach: stop that process on close. */
  killOnClose?: boolean;
  /** go-plugin AutoMTLS between host and driver. */
  autoMTLS?: boolean;
  /** Handed to the driver's Configure. */
  config: Record<string, unknown>;
}

/** A validated configuration file. */
export interface Config {
  /** The file it came from (absolute), or "<object>". */
  file: string;
  /** Folder relative paths are resolved against; drivers run there. */
  dir: string;
  /** Where source drivers are built, absolute. */
  binDir: string;
  /** The gateway's address for `driverkit serve`. */
  listen?: string;
  drivers: DriverEntry[];
}

const TOP_KEYS = ['bin_dir', 'listen', 'drivers'];
const DRIVER_KEYS = ['type', 'driver', 'args', 'env', 'start_timeout', 'shutdown_grace', 'call_timeout', 'sha256', 'restart', 'restart_delay', 'restart_max_delay', 'max_restarts', 'reattach', 'kill_on_close', 'auto_mtls', 'config'];

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null || value === undefined) return 'nothing';
  if (typeof value === 'object') return 'a table';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/**
 * Validates parsed TOML (or a plain object) as a driverkit config. Every error names the
 * file, the key and what was expected.
 */
export function validateConfig(raw: unknown, file: string, dir: string): Config {
  const fail = (key: string, expected: string, ...got: unknown[]): never => {
    throw new DriverkitError('CONFIG_INVALID', `${file}: ${key}: expected ${expected}${got.length ? `, got ${describe(got[0])}` : ''}`);
  };
  if (!isTable(raw)) fail('(top level)', 'a table', raw);
  const top = raw as Record<string, unknown>;
  for (const key of Object.keys(top)) if (!TOP_KEYS.includes(key)) fail(key, `no such key (known: ${TOP_KEYS.join(', ')})`, top[key]);
  const binDir = top.bin_dir ?? 'bin';
  if (typeof binDir !== 'string' || binDir === '') fail('bin_dir', 'a folder path (string)', binDir);
  if (top.listen !== undefined && (typeof top.listen !== 'string' || !/^.+:\d+$/.test(top.listen))) fail('listen', 'an address "HOST:PORT"', top.listen);
  if (top.drivers === undefined) fail('drivers', 'at least one [drivers.NAME] table');
  if (!isTable(top.drivers)) fail('drivers', 'a table of [drivers.NAME] tables', top.drivers);
  const entries = Object.entries(top.drivers as Record<string, unknown>);
  if (entries.length === 0) fail('drivers', 'at least one [drivers.NAME] table');
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(dir, p));
  const drivers = entries.map(([name, value]): DriverEntry => {
    const at = (k: string) => `drivers.${name}${k ? '.' + k : ''}`;
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) fail(at(''), 'a name of letters, digits, "_", "." or "-"', name);
    if (!isTable(value)) fail(at(''), 'a table', value);
    const d = value as Record<string, unknown>;
    for (const key of Object.keys(d)) if (!DRIVER_KEYS.includes(key)) fail(at(key), `no such key (known: ${DRIVER_KEYS.join(', ')})`, d[key]);
    const type = d.type ?? name;
    if (typeof type !== 'string') fail(at('type'), 'a driver type name (string)', type);
    const contract = contracts[type as string];
    if (!contract) fail(at('type'), `a known driver type (${Object.keys(contracts).join(', ')})`, type);
    if (d.driver === undefined) fail(at('driver'), 'the path of an executable or of a source folder');
    if (typeof d.driver !== 'string' || d.driver === '') fail(at('driver'), 'the path of an executable or of a source folder (string)', d.driver);
    const args = d.args ?? [];
    if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) fail(at('args'), 'an array of strings', args);
    const env = d.env ?? {};
    if (!isTable(env) || !Object.values(env).every((v) => typeof v === 'string')) fail(at('env'), 'a table of strings', env);
    const durations: Partial<Record<'startTimeout' | 'shutdownGrace' | 'callTimeout' | 'delay' | 'maxDelay', number>> = {};
    for (const [key, prop] of [['start_timeout', 'startTimeout'], ['shutdown_grace', 'shutdownGrace'], ['call_timeout', 'callTimeout'], ['restart_delay', 'delay'], ['restart_max_delay', 'maxDelay']] as const) {
      if (d[key] === undefined) continue;
      const ms = parseDuration(d[key]);
      if (ms === undefined) fail(at(key), 'a duration such as "10s", "500ms" or a number of milliseconds', d[key]);
      durations[prop] = ms;
    }
    const policy = d.restart ?? 'never';
    if (policy !== 'never' && policy !== 'on-failure') fail(at('restart'), '"never" or "on-failure"', policy);
    const maxRestarts = d.max_restarts ?? DEFAULT_RESTART.maxRestarts;
    if (!Number.isInteger(maxRestarts) || (maxRestarts as number) < 0) fail(at('max_restarts'), 'a non-negative integer', maxRestarts);
    const restart: RestartPolicy = {
      policy: policy as RestartPolicy['policy'],
      delay: durations.delay ?? DEFAULT_RESTART.delay,
      maxDelay: durations.maxDelay ?? DEFAULT_RESTART.maxDelay,
      maxRestarts: maxRestarts as number,
    };
    let reattach: ReattachInfo | undefined;
    if (d.reattach !== undefined) {
      const parsed = parseReattach(d.reattach);
      if (!parsed.ok) fail(at('reattach'), `the DRIVERKIT_REATTACH={...} line a driver prints, or a table (${parsed.ok ? '' : parsed.reason})`, d.reattach);
      reattach = parsed.ok ? parsed.info : undefined;
    }
    if (d.kill_on_close !== undefined && typeof d.kill_on_close !== 'boolean') fail(at('kill_on_close'), 'true or false', d.kill_on_close);
    if (d.auto_mtls !== undefined && typeof d.auto_mtls !== 'boolean') fail(at('auto_mtls'), 'true or false', d.auto_mtls);
    if (d.sha256 !== undefined && (typeof d.sha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(d.sha256))) fail(at('sha256'), '64 hex digits', d.sha256);
    const config = d.config ?? {};
    if (!isTable(config)) fail(at('config'), 'a table', config);
    return {
      name,
      type: type as string,
      contract: contract!,
      driver: abs(d.driver as string),
      args: args as string[],
      env: env as Record<string, string>,
      startTimeout: durations.startTimeout,
      shutdownGrace: durations.shutdownGrace,
      callTimeout: durations.callTimeout,
      restart,
      reattach,
      killOnClose: d.kill_on_close as boolean | undefined,
      autoMTLS: d.auto_mtls as boolean | undefined,
      sha256: (d.sha256 as string | undefined)?.toLowerCase(),
      config: config as Record<string, unknown>,
    };
  });
  return { file, dir, binDir: abs(binDir as string), listen: top.listen as string | undefined, drivers };
}
