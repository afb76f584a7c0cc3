import semver from 'semver';
import { DriverkitError } from '../errors.js';
import { fileSha256 } from './artifact.js';
import { readLock, type LockEntry } from './lockfile.js';
import { resolvePackage } from './resolve.js';
import {
  globalStore,
  indexFromLock,
  LOCAL_FILE_INDEX,
  lockedBinary,
  projectStore,
  type Store,
} from './store.js';

/** An installed package, as the lock records it. */
export interface InstalledDriver extends LockEntry {
  name: string;
  /** The executable's absolute path. */
  path: string;
  store: Store;
}

/**
 * The installed executable of package `name` for a project (its `driverkit.lock`, else the
 * per-user one) and the sha256 the lock pins, to pass as the driver's `sha256` so every
 * start checks it. Not installed is PACKAGE_NOT_FOUND; a locked version outside `range` is
 * LOCK_STALE.
 */
export async function resolveInstalled(
  name: string,
  range: string | undefined,
  projectDir: string,
): Promise<{ path: string; sha256: string; version: string; signedBy?: string; lockFile: string }> {
  for (const store of [projectStore(projectDir), globalStore()]) {
    const entry = (await readLock(store.lockFile)).drivers[name];
    if (!entry) continue;
    if (range !== undefined && !semver.satisfies(entry.version, range)) {
      throw new DriverkitError(
        'LOCK_STALE',
        `${store.lockFile} has ${name} ${entry.version}, which is not in ${range}: run driverkit install ${name}@${range}`,
      );
    }
    return {
      path: lockedBinary(store, name, entry),
      sha256: entry.binarySha256,
      version: entry.version,
      signedBy: entry.signedBy,
      lockFile: store.lockFile,
    };
  }
  throw new DriverkitError(
    'PACKAGE_NOT_FOUND',
    `package "${name}" is not installed for ${projectDir} nor per user: run driverkit install ${name}`,
  );
}

/** Every package of a store's lock, by name. */
export async function listInstalled(store: Store): Promise<InstalledDriver[]> {
  const lock = await readLock(store.lockFile);
  return Object.entries(lock.drivers).map(([name, e]) => ({
    ...e,
    name,
    path: lockedBinary(store, name, e),
    store,
  }));
}

/** An installed package's state: `ok`, `missing` or `changed` (its executable's digest is not the locked one). */
export async function checkInstalled(d: InstalledDriver): Promise<'ok' | 'missing' | 'changed'> {
  const got = await fileSha256(d.path);
  return got === undefined ? 'missing' : got === d.binarySha256 ? 'ok' : 'changed';
}

/**
 * The highest compatible version above the installed one, `undefined` when it is the newest
 * (or was installed from a local archive, which has no index), or an error message when its
 * indexes cannot be read.
 */
export async function newerVersion(
  d: InstalledDriver,
  indexes?: readonly string[],
): Promise<string | undefined | Error> {
  if (!indexes && d.index === LOCAL_FILE_INDEX) return undefined;
  try {
    const { manifest } = await resolvePackage({
      name: d.name,
      indexes: indexes ?? [indexFromLock(d.store, d.index)],
    });
    return semver.gt(manifest.version, d.version) ? manifest.version : undefined;
  } catch (err) {
    return err as Error;
  }
}
