import type { Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { DriverkitError } from '../errors.js';
import type { Contract } from '../contracts/contract.js';
import { isTable } from './parsers.js';
import { contracts as BUILTIN } from './registry.js';
import { type Config, orThrow, validateConfig } from './schema.js';
import { loadTypeDecls, typeTables } from './types.js';

/** The config file used when none is named. */
export const DEFAULT_CONFIG_FILE = 'driverkit.toml';

/**
 * Reads, parses and validates a config file, and checks that every `driver` path exists.
 * Relative paths in it are relative to the file's folder. Its drivers may be of a built-in
 * type, of one of `contracts` (the host's generated ones), or of one it declares in
 * `[types.NAME]` from a .proto.
 */
export async function loadConfig(
  file = DEFAULT_CONFIG_FILE,
  contracts: readonly Contract[] = [],
): Promise<Config> {
  const path = resolve(file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new DriverkitError(
      'CONFIG_INVALID',
      `${path}: cannot read the config file: ${(err as NodeJS.ErrnoException).code ?? err}`,
      { cause: err },
    );
  }
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    const where = err instanceof TomlError ? `line ${err.line}, column ${err.column}` : 'somewhere';
    const first = String((err as Error).message).split('\n')[0];
    throw new DriverkitError('CONFIG_INVALID', `${path}: not valid TOML at ${where}: ${first}`, {
      cause: err,
    });
  }
  return validate(raw, path, dirname(path), contracts);
}

/** Validates a config given as an object (for hosts that build it in code). */
export async function configFromObject(
  raw: unknown,
  dir = process.cwd(),
  contracts: readonly Contract[] = [],
): Promise<Config> {
  return validate(raw, '<config object>', resolve(dir), contracts);
}

async function validate(
  raw: unknown,
  file: string,
  dir: string,
  fromCode: readonly Contract[],
): Promise<Config> {
  const known: Record<string, Contract> = { ...BUILTIN };
  for (const c of fromCode) known[c.type] = c;
  // [types] first: a driver's `type` may name one of them.
  const types = isTable(raw) ? raw.types : undefined;
  if (types !== undefined) {
    const decls = orThrow(typeTables(types, { dir }), file, 'types');
    Object.assign(known, orThrow(await loadTypeDecls(decls, known), file, 'types'));
  }
  const config = validateConfig(raw, file, dir, known);
  await checkDriverPaths(config);
  return config;
}

async function checkDriverPaths(config: Config): Promise<void> {
  const outputs = new Map<string, string>();
  for (const d of config.drivers) {
    // A package is installed (or checked against the lock) when it starts; a service runs elsewhere.
    if (d.package || d.address) continue;
    let info: Stats;
    try {
      info = await stat(d.driver);
    } catch {
      throw new DriverkitError(
        'CONFIG_INVALID',
        `${config.file}: drivers.${d.name}.driver: expected an executable or a source folder, but nothing is at ${d.driver}`,
      );
    }
    if (!info.isDirectory() || d.reattach) continue;
    // Source folders build to <bin_dir>/<type>/<folder name>: two folders there would rebuild each other.
    const output = `${d.type}/${basename(d.driver)}`;
    const other = config.drivers.find((o) => o.name === outputs.get(output));
    if (other && other.driver !== d.driver) {
      throw new DriverkitError(
        'CONFIG_INVALID',
        `${config.file}: drivers.${d.name}.driver: expected a source folder whose name no other ${d.type} driver's folder has, but drivers.${other.name} (${other.driver}) also builds to ${join(config.binDir, output)}; rename one folder`,
      );
    }
    outputs.set(output, d.name);
  }
}
