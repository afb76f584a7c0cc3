import type { Contract } from '../contracts/contract.js';
import { DriverkitError } from '../errors.js';
import { type DRIVER_KEYS, TOP_KEYS } from './keys.js';
import { describe, type Parsed } from './parsers.js';
import { contracts as BUILTIN } from './registry.js';
import type { RestartPolicy } from './restart.js';
import { parseTable, type Fields } from './table.js';

/**
 * One `[drivers.NAME]` entry, validated, with paths made absolute. Its fields come from
 * DRIVER_KEYS in keys.ts, where each is documented: add a key there, not here.
 */
export interface DriverEntry extends Fields<typeof DRIVER_KEYS> {
  /** The instance name (the table key). */
  name: string;
  /** The contract of `type`. */
  contract: Contract;
  /** What to do when the driver exits on its own, from `restart`, `restart_delay`, `restart_max_delay` and `max_restarts`. */
  restart: RestartPolicy;
  /** The executable or source folder; empty for a `package` entry until it is installed. */
  driver: string;
}

/** A validated configuration file; its other fields come from TOP_KEYS in keys.ts. */
export interface Config extends Fields<typeof TOP_KEYS> {
  /** The file it came from (absolute), or "<config object>". */
  file: string;
  /** Folder relative paths are resolved against; drivers run there. */
  dir: string;
  /** Every driver type the config may name (built in, from code, declared), by name. */
  contracts: Readonly<Record<string, Contract>>;
}

/**
 * Validates parsed TOML (or a plain object) as a driverkit config. Every error names the
 * file, the key and what was expected: `FILE: drivers.NAME.KEY: expected ..., got ...`.
 */
export function validateConfig(
  raw: unknown,
  file: string,
  dir: string,
  contracts: Readonly<Record<string, Contract>> = BUILTIN,
): Config {
  return { file, dir, contracts, ...orThrow(parseTable(TOP_KEYS, raw, { dir, contracts }), file) };
}

/** A refused value as the config error: file, key path, expectation and what was there. */
export function orThrow<T>(parsed: Parsed<T>, file: string, prefix = ''): T {
  if (parsed.ok) return parsed.value;
  const key = [prefix, parsed.key].filter(Boolean).join('.') || '(top level)';
  const got = 'got' in parsed ? `, got ${describe(parsed.got)}` : '';
  throw new DriverkitError('CONFIG_INVALID', `${file}: ${key}: expected ${parsed.expected}${got}`);
}
