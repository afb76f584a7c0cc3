import type { KeyObject } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import semver from 'semver';
import { withLock } from '../build/lock.js';
import { DriverkitError } from '../errors.js';
import { fileSha256, installArtifact } from './artifact.js';
import { recordInstall, type InstallResult } from './install.js';
import { readLock, type LockEntry } from './lockfile.js';
import { NAME_PATTERN } from './manifest.js';
import { LOCAL_FILE_INDEX, type Store, urlForLock } from './store.js';

/** A local archive to install without an index (`driverkit install --file`). */
export interface FileInstallRequest {
  store: Store;
  /** The .tar.gz, as `driverkit pack` writes it. */
  file: string;
  name: string;
  version: string;
  type: string;
  /** The executable inside the archive; default: its only file. */
  entry?: string;
  /** Allow a version lower than the installed one. Default false. */
  force?: boolean;
  /** When any key is set, a local archive (it has no signed manifest) is refused. Default: none. */
  trustedKeys?: readonly KeyObject[];
}

/**
 * Installs a local archive as `name@version`: the lock records the archive's own sha256, its
 * `file:` URL (what `--frozen` restores from) and `(file)` as its index. Same guarantees as
 * an index install: checked, unpacked beside its place, renamed, previous version kept on failure.
 */
export async function installFile(req: FileInstallRequest): Promise<InstallResult> {
  const { store, name, version, type } = req;
  if (!NAME_PATTERN.test(name))
    throw new DriverkitError(
      'USAGE',
      `--name must match ${NAME_PATTERN}, got ${JSON.stringify(name)}`,
    );
  if (semver.valid(version) === null)
    throw new DriverkitError(
      'USAGE',
      `--version must be an exact semver version such as "1.2.0", got ${JSON.stringify(version)}`,
    );
  if (!type) throw new DriverkitError('USAGE', `--type must name the driver type, got nothing`);
  if (req.trustedKeys?.length) {
    throw new DriverkitError(
      'SIGNATURE_INVALID',
      `${name} ${version} from ${req.file}: a local archive has no signed manifest, and trusted keys are set (--trusted-key, DRIVERKIT_TRUSTED_KEYS); nothing was installed`,
    );
  }
  const path = resolve(req.file);
  await access(path, constants.R_OK).catch((err: Error) => {
    throw new DriverkitError('DRIVER_NOT_FOUND', `--file ${req.file}: ${err.message}`);
  });
  await mkdir(store.drivers, { recursive: true });
  return withLock(join(store.drivers, `${name}.lock`), async () => {
    const locked = (await readLock(store.lockFile)).drivers[name];
    const digest = await fileSha256(path);
    if (digest === undefined)
      throw new DriverkitError('DRIVER_NOT_FOUND', `--file ${req.file}: cannot be read`);
    const result = (action: InstallResult['action'], e: LockEntry): InstallResult => ({
      name,
      version,
      previous: locked?.version,
      action,
      binary: join(store.root, e.binary),
    });
    if (locked && semver.lt(version, locked.version) && !req.force) {
      throw new DriverkitError(
        'DOWNGRADE_REFUSED',
        `${name} ${locked.version} is installed, and ${req.file} is ${version}: pass --force to downgrade`,
      );
    }
    if (
      locked?.version === version &&
      locked.sha256 === digest &&
      (await fileSha256(join(store.root, locked.binary))) === locked.binarySha256
    )
      return result('unchanged', locked);
    const url = pathToFileURL(path).href;
    const got = await installArtifact(store, {
      name,
      version,
      url,
      sha256: digest,
      entry: req.entry,
    });
    const entry: LockEntry = {
      version,
      type,
      index: LOCAL_FILE_INDEX,
      url: urlForLock(store, url),
      sha256: digest,
      ...got,
    };
    return result(await recordInstall(store, name, entry, locked), entry);
  });
}
