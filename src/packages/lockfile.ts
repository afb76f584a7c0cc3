import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import semver from 'semver';
import { DriverkitError } from '../errors.js';
import { isPlainGitUrl, NAME_PATTERN } from './manifest.js';

/** What `driverkit.lock` says about one installed driver. */
export interface LockEntry {
  version: string;
  type: string;
  /** The index it came from, as it was named. */
  index: string;
  /** The artifact's absolute URL and sha256. */
  url: string;
  sha256: string;
  /** The executable, relative to the store's root, and its sha256 (checked before every start). */
  binary: string;
  binarySha256: string;
  /** For a version built from its manifest's source: `URL#COMMIT`, built again if its archive is gone. */
  source?: string;
  /** The id (keyId) of the trusted key that had signed its manifest, when keys were set at install. */
  signedBy?: string;
}

/** The lock file's content: `{ "lockVersion": 1, "drivers": { NAME: LockEntry } }`. */
export interface LockFile {
  lockVersion: 1;
  drivers: Record<string, LockEntry>;
}

const FIELDS = ['version', 'type', 'index', 'url', 'sha256', 'binary', 'binarySha256'] as const;

/** Reads a lock file (an empty lock when there is none); a malformed one is PACKAGE_INVALID naming the file and field. */
export async function readLock(file: string): Promise<LockFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { lockVersion: 1, drivers: {} };
    throw err;
  }
  const bad = (why: string): never => {
    throw new DriverkitError('PACKAGE_INVALID', `${file}: ${why}`);
  };
  let raw: LockFile;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return bad(`not valid JSON: ${(err as Error).message}`);
  }
  if (raw?.lockVersion !== 1)
    bad(`"lockVersion" must be 1, got ${JSON.stringify(raw?.lockVersion)}`);
  if (typeof raw.drivers !== 'object' || raw.drivers === null) bad(`"drivers" must be an object`);
  for (const [name, entry] of Object.entries(raw.drivers)) {
    if (!NAME_PATTERN.test(name)) bad(`driver name ${JSON.stringify(name)} is not a package name`);
    for (const f of FIELDS)
      if (typeof entry?.[f] !== 'string')
        bad(`"drivers.${name}.${f}" must be a string, got ${JSON.stringify(entry?.[f])}`);
    if (
      entry.source !== undefined &&
      (typeof entry.source !== 'string' ||
        !/#[0-9a-f]{40}$/.test(entry.source) ||
        !isPlainGitUrl(entry.source.slice(0, -41)))
    ) {
      bad(
        `"drivers.${name}.source" must be "URL#COMMIT" (an https:, http:, ssh:, git: or file: URL, or a path), got ${JSON.stringify(entry.source)}`,
      );
    }
    if (
      entry.signedBy !== undefined &&
      (typeof entry.signedBy !== 'string' || !/^[0-9a-f]{64}$/.test(entry.signedBy))
    )
      bad(
        `"drivers.${name}.signedBy" must be a key id (64 hex digits), got ${JSON.stringify(entry.signedBy)}`,
      );
    if (!semver.valid(entry.version))
      bad(
        `"drivers.${name}.version" must be a semver version, got ${JSON.stringify(entry.version)}`,
      );
  }
  return raw;
}

/** Writes a lock file atomically (a temp file renamed over it), names sorted, so diffs stay small. */
export async function writeLock(file: string, lock: LockFile): Promise<void> {
  const drivers = Object.fromEntries(
    Object.keys(lock.drivers)
      .sort()
      .map((n) => [n, lock.drivers[n]]),
  );
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, `${JSON.stringify({ lockVersion: 1, drivers }, null, 2)}\n`);
    await rename(tmp, file);
  } catch (err) {
    // A full disk (ENOSPC) leaves the old lock as it was, and no half-written copy beside it.
    await rm(tmp, { force: true });
    throw err;
  }
}
