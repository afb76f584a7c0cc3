import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import semver from 'semver';
import { DriverkitError } from '../errors.js';
import { VERSION } from '../version.js';

/**
 * What a driver's source folder says about itself: `driverkit.json`, or the `driverkit`
 * field of its package.json.
 */
export interface Manifest {
  /** The driver type it implements, e.g. "userprovider". */
  type?: string;
  /** The driver's own version. */
  version?: string;
  /** The driverkit versions it works with, a semver range such as "^0.1.0". */
  driverkit?: string;
  /** A shell command that builds the driver into "$OUT" (for toolchains driverkit does not know). */
  build?: string;
  /** The TypeScript/JavaScript entry file, relative to the folder. */
  entry?: string;
  /** Files or folders outside the folder that the build reads (relative to it), for the cache. */
  inputs?: string[];
  /** The file it was read from; undefined when the folder has none. */
  file?: string;
}

const FIELDS = ['type', 'version', 'driverkit', 'build', 'entry', 'inputs'] as const;

async function readJson(path: string): Promise<unknown | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new DriverkitError('BUILD_FAILED', `${path}: not valid JSON: ${(err as Error).message}`);
  }
}

/** Reads and validates the manifest of a source folder (an empty one when there is none). */
export async function readManifest(folder: string): Promise<Manifest> {
  let file = join(folder, 'driverkit.json');
  let raw = await readJson(file);
  if (raw === undefined) {
    file = join(folder, 'package.json');
    raw = ((await readJson(file)) as { driverkit?: unknown } | undefined)?.driverkit;
    if (raw === undefined) return {};
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new DriverkitError('BUILD_FAILED', `${file}: the driver manifest must be an object`);
  }
  const m = raw as Record<string, unknown>;
  for (const [key, value] of Object.entries(m)) {
    if (!(FIELDS as readonly string[]).includes(key))
      throw new DriverkitError(
        'BUILD_FAILED',
        `${file}: unknown manifest key "${key}" (known: ${FIELDS.join(', ')})`,
      );
    const ok =
      key === 'inputs'
        ? Array.isArray(value) && value.every((v) => typeof v === 'string')
        : typeof value === 'string';
    if (!ok)
      throw new DriverkitError(
        'BUILD_FAILED',
        `${file}: manifest key "${key}" must be ${key === 'inputs' ? 'an array of paths' : 'a string'}, got ${JSON.stringify(value)}`,
      );
  }
  if (m.driverkit !== undefined && semver.validRange(m.driverkit as string) === null) {
    throw new DriverkitError(
      'BUILD_FAILED',
      `${file}: "driverkit" must be a semver range such as "^0.1.0", got ${JSON.stringify(m.driverkit)}`,
    );
  }
  return { ...(m as Manifest), file };
}

/** Refuses a driver whose manifest names another type or a driverkit range this is not in. */
export function checkCompatible(
  manifest: Manifest,
  expectedType: string,
  who: { driver: string; path: string },
): void {
  if (manifest.type !== undefined && manifest.type !== expectedType) {
    throw new DriverkitError(
      'DRIVER_INCOMPATIBLE',
      `is a "${manifest.type}" driver (${manifest.file}), but is configured as "${expectedType}"`,
      who,
    );
  }
  if (
    manifest.driverkit !== undefined &&
    !semver.satisfies(VERSION, manifest.driverkit, { includePrerelease: true })
  ) {
    const own = manifest.version ? ` ${manifest.version}` : '';
    throw new DriverkitError(
      'DRIVER_INCOMPATIBLE',
      `driver${own} needs driverkit ${manifest.driverkit} (${manifest.file}), but this is driverkit ${VERSION}`,
      who,
    );
  }
}
