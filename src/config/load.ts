import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { DriverkitError } from '../errors.js';
import { type Config, validateConfig } from './schema.js';

/** The config file used when none is named. */
export const DEFAULT_CONFIG_FILE = 'driverkit.toml';

/**
 * Reads, parses and validates a config file, and checks that every `driver` path exists.
 * Relative paths in it are relative to the file's folder.
 */
export async function loadConfig(file = DEFAULT_CONFIG_FILE): Promise<Config> {
  const path = resolve(file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new DriverkitError('CONFIG_INVALID', `${path}: cannot read the config file: ${(err as NodeJS.ErrnoException).code ?? err}`, { cause: err });
  }
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    const where = err instanceof TomlError ? `line ${err.line}, column ${err.column}` : 'somewhere';
    const first = String((err as Error).message).split('\n')[0];
    throw new DriverkitError('CONFIG_INVALID', `${path}: not valid TOML at ${where}: ${first}`, { cause: err });
  }
  const config = validateConfig(raw, path, dirname(path));
  await checkDriverPaths(config);
  return config;
}

/** Validates a config given as an object (for hosts that build it in code). */
export async function configFromObject(raw: unknown, dir = process.cwd()): Promise<Config> {
  const config = validateConfig(raw, '<config object>', resolve(dir));
  await checkDriverPaths(config);
  return config;
}

async function checkDriverPaths(config: Config): Promise<void> {
  for (const d of config.drivers) {
    try {
      await stat(d.driver);
    } catch {
      throw new DriverkitError('CONFIG_INVALID', `${config.file}: drivers.${d.name}.driver: expected an executable or a source folder, but nothing is at ${d.driver}`);
    }
  }
}
