import { homedir } from 'node:os';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DriverkitError } from '../errors.js';

/** Where a set of installed drivers lives: its folder of drivers and its lock file. */
export interface Store {
  /** The project folder, or the per-user driverkit folder. */
  root: string;
  /** `<root>/.driverkit/drivers` for a project, `<root>/drivers` per user. */
  drivers: string;
  /** `driverkit.lock`: what is installed, from where, with which digests. */
  lockFile: string;
  global: boolean;
}

/** A project's store: drivers under `.driverkit/drivers/`, apart from `bin/` build outputs; the lock next to the config. */
export function projectStore(projectDir: string = process.cwd()): Store {
  const root = resolve(projectDir);
  return {
    root,
    drivers: join(root, '.driverkit', 'drivers'),
    lockFile: join(root, 'driverkit.lock'),
    global: false,
  };
}

/** The per-user store: `$DRIVERKIT_HOME`, else `$XDG_DATA_HOME/driverkit`, else `~/.local/share/driverkit`. */
export function globalStore(): Store {
  const root = resolve(
    process.env.DRIVERKIT_HOME ||
      join(process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'driverkit'),
  );
  return {
    root,
    drivers: join(root, 'drivers'),
    lockFile: join(root, 'driverkit.lock'),
    global: true,
  };
}

/** The folder one version of a package is installed in. */
export const versionFolder = (store: Store, name: string, version: string) =>
  join(store.drivers, name, version);

/**
 * A lock entry's executable as an absolute path, which must lie inside its own version's
 * folder: the lock names what was installed, it cannot point the host at another file
 * (PACKAGE_INVALID).
 */
export function lockedBinary(
  store: Store,
  name: string,
  entry: { version: string; binary: string },
): string {
  const path = resolve(store.root, entry.binary);
  const inside = relative(versionFolder(store, name, entry.version), path);
  if (inside === '' || inside.startsWith('..') || isAbsolute(inside))
    throw new DriverkitError(
      'PACKAGE_INVALID',
      `${store.lockFile}: "drivers.${name}.binary" must lie inside ${relative(store.root, versionFolder(store, name, entry.version))}/, got ${JSON.stringify(entry.binary)}`,
    );
  return path;
}

/** The indexes named by `DRIVERKIT_INDEX` (comma-separated), used when no --index is given. */
export function defaultIndexes(): string[] {
  return (process.env.DRIVERKIT_INDEX ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The lock's `index` for a package installed from a local archive (`install --file`): no index to look for newer versions in. */
export const LOCAL_FILE_INDEX = '(file)';

const isUrl = (index: string) => /^(https?|file|git\+)/.test(index);

/** Whether `s` is a URL (it has a scheme: `https:`, `file:`, `ssh:`, …) rather than a path. */
export const hasScheme = (s: string) => /^[a-z][a-z0-9+.-]*:/i.test(s);

/** A path as the lock records it: relative to the store's root, so a committed lock works in any clone. */
export const pathForLock = (store: Store, path: string) =>
  relative(store.root, resolve(path)).split(sep).join('/') || '.';

/** An index as the lock records it: URLs as they are, folders relative to the store's root. */
export const indexForLock = (store: Store, index: string) =>
  isUrl(index) ? index : pathForLock(store, index);

/** An index from the lock, made usable from any working folder. */
export const indexFromLock = (store: Store, index: string) =>
  isUrl(index) ? index : resolve(store.root, index);

/** An archive's URL as the lock records it: a `file:` one relative to the store's root (so a committed lock works in any clone), others as they are. */
export const urlForLock = (store: Store, url: string) =>
  url.startsWith('file:') ? pathForLock(store, fileURLToPath(url)) : url;

/** The URL an archive is fetched from, for a lock's `url`. */
export const urlFromLock = (store: Store, url: string) =>
  hasScheme(url) ? url : pathToFileURL(resolve(store.root, url)).href;
