import type { KeyObject } from 'node:crypto';
import { basename } from 'node:path';
import { readManifest } from '../build/manifest.js';
import { DriverkitError } from '../errors.js';
import { cloneRepo, removeClone } from './git.js';
import { installFile } from './install-file.js';
import type { InstallResult } from './install.js';
import { buildToArchive } from './install-source.js';
import type { Store } from './store.js';

/** A source driver in a git repository to install (`driverkit install --git URL[#REF]`). */
export interface GitInstallRequest {
  store: Store;
  /** `URL[#REF]`: https:, file: or a path; REF a branch or tag (default: HEAD). */
  source: string;
  /** The package name; default: the repository's name (its URL's last part, without .git). */
  name?: string;
  force?: boolean;
  trustedKeys?: readonly KeyObject[];
  /** Told before the build starts. */
  onBuild?: (name: string) => void;
}

/**
 * Clones a source driver, builds it with driverkit's build (its driverkit.json must give
 * `type` and `version`), packs the result into the store's sources folder and installs that
 * archive as a local file would be: the lock pins the archive's and the binary's digests.
 */
export async function installGit(req: GitInstallRequest): Promise<InstallResult> {
  // Nothing signs a repository's build: refuse before cloning, never after running it.
  if (req.trustedKeys?.length) {
    throw new DriverkitError(
      'SIGNATURE_INVALID',
      `${req.source}: a git source has no signed manifest, and trusted keys are set (--trusted-key, DRIVERKIT_TRUSTED_KEYS); nothing was cloned, built or installed`,
    );
  }
  const dir = await cloneRepo(req.source);
  const manifest = await readManifest(dir);
  if (!manifest.type || !manifest.version) {
    throw new DriverkitError(
      'PACKAGE_INVALID',
      `${req.source}: expected a driverkit.json with "type" and "version" at the repository's root, got ${manifest.file ? `${JSON.stringify({ type: manifest.type, version: manifest.version })} in ${manifest.file}` : 'none'}`,
    );
  }
  const name =
    req.name ?? basename(req.source.replace(/#.*$/, '').replace(/\/+$/, '')).replace(/\.git$/, '');
  req.onBuild?.(name);
  const built = await buildToArchive(req.store, dir, {
    name,
    version: manifest.version,
    type: manifest.type,
    driverkit: manifest.driverkit,
  }).finally(() => removeClone(dir));
  return installFile({
    store: req.store,
    file: built.file,
    name,
    version: manifest.version,
    type: manifest.type,
    force: req.force,
    trustedKeys: req.trustedKeys,
  });
}
