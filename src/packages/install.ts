import type { KeyObject } from 'node:crypto';
import { access, mkdir, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import semver from 'semver';
import { withLock } from '../build/lock.js';
import { DriverkitError } from '../errors.js';
import { fileSha256, installArtifact } from './artifact.js';
import { buildSource, sourceForLock, sourceFromLock, sourceUrl } from './install-source.js';
import type { Artifact } from './manifest.js';
import type { FetchLimits, Progress } from './download.js';
import type { UnpackLimits } from './unpack.js';
import type { IndexedManifest } from './source.js';
import { readLock, writeLock, type LockEntry } from './lockfile.js';
import { resolvePackage } from './resolve.js';
import { keyId, loadTrustedKeys } from './signature.js';
import {
  defaultIndexes,
  indexForLock,
  indexFromLock,
  LOCAL_FILE_INDEX,
  lockedBinary,
  versionFolder,
  type Store,
  urlForLock,
  urlFromLock,
} from './store.js';

/** One install, upgrade or check of a package. */
export interface InstallRequest {
  store: Store;
  name: string;
  /** A semver range; default: any version (or the locked one, if locked). */
  range?: string;
  /** Indexes to resolve in; default: the lock's index for this name, else DRIVERKIT_INDEX. */
  indexes?: readonly string[];
  /** Ignore `driverkit` ranges and allow a downgrade. Default false. */
  force?: boolean;
  /** Install exactly what the lock says, and fail (LOCK_STALE) rather than change it. Default false. */
  frozen?: boolean;
  /** Look for a higher version even when the locked one is in range. Default false. */
  upgrade?: boolean;
  /** Told before each download; what it returns hears how the download goes. */
  onDownload?: (url: string) => Progress | void;
  /** Told before a version is built from its source (no artifact for this platform). */
  onBuild?: (what: string) => void;
  /**
   * Build versions that have no artifact for this platform from their manifest's source.
   * That runs the repository's build with this process's rights. Default false.
   */
  buildSources?: boolean;
  /** Public keys one of which must sign the manifest; default: those DRIVERKIT_TRUSTED_KEYS names (none: not checked). */
  trustedKeys?: readonly KeyObject[];
  /**
   * Accept a version signed by another trusted key than the one the lock records for this
   * package (trust on first use, as SSH's known_hosts). Default false: SIGNATURE_INVALID.
   */
  newSigner?: boolean;
  /**
   * Cancels the install (a host's close(), SIGTERM): downloads and clones stop, and the
   * store is left as it was. Builds run to their end.
   */
  signal?: AbortSignal;
  /** Bounds on each download (default DOWNLOAD_LIMITS) and on what an archive unpacks to (UNPACK_LIMITS). */
  downloadLimits?: FetchLimits;
  unpackLimits?: UnpackLimits;
}

/** What an install did: `installed` (new), `upgraded`, `downgraded`, `repaired` (files restored from the lock) or `unchanged`. */
export interface InstallResult {
  name: string;
  version: string;
  previous?: string;
  action: 'installed' | 'upgraded' | 'downgraded' | 'repaired' | 'unchanged';
  /** The executable's absolute path. */
  binary: string;
}

/**
 * Installs a package into a store and records it in the store's lock file. Two installs of
 * one name take turns (a lock file per name); the lock file is rewritten under its own lock.
 */
export async function installPackage(req: InstallRequest): Promise<InstallResult> {
  const { store, name } = req;
  await mkdir(store.drivers, { recursive: true });
  return withLock(join(store.drivers, `${name}.lock`), () => installLocked(req));
}

async function installLocked(req: InstallRequest): Promise<InstallResult> {
  const { store, name, range, force = false } = req;
  const locked = (await readLock(store.lockFile)).drivers[name];
  const result = (action: InstallResult['action'], entry: LockEntry): InstallResult => ({
    name,
    version: entry.version,
    previous: locked?.version,
    action,
    binary: join(store.root, entry.binary),
  });
  const intact = async (e: LockEntry) =>
    (await fileSha256(join(store.root, e.binary))) === e.binarySha256;
  const inRange = (v: string) => range === undefined || semver.satisfies(v, range);
  const trustedKeys = req.trustedKeys ?? (await loadTrustedKeys());
  const ids = trustedKeys.map(keyId);
  // With keys set, a locked version is taken as it is only if the lock says one of them signed it.
  const vouched = (e: LockEntry) =>
    ids.length === 0 || (e.signedBy !== undefined && ids.includes(e.signedBy));
  if (req.frozen) {
    if (!locked)
      throw new DriverkitError(
        'LOCK_STALE',
        `"${name}" is not in ${store.lockFile}, and --frozen does not change the lock`,
      );
    if (!inRange(locked.version))
      throw new DriverkitError(
        'LOCK_STALE',
        `${store.lockFile} has ${name} ${locked.version}, not in ${range}, and --frozen does not change the lock`,
      );
    if (!vouched(locked))
      throw new DriverkitError(
        'SIGNATURE_INVALID',
        `${store.lockFile} does not record that a trusted key signed ${name} ${locked.version}, and --frozen does not change the lock`,
      );
  }
  const keep = locked && (req.frozen || (!req.upgrade && inRange(locked.version)));
  if (keep && vouched(locked)) {
    if (await intact(locked)) return result('unchanged', locked);
    await repair(req, locked, trustedKeys);
    return result('repaired', locked);
  }
  const indexes = req.indexes?.length
    ? req.indexes
    : locked && locked.index !== LOCAL_FILE_INDEX
      ? [indexFromLock(store, locked.index)]
      : defaultIndexes();
  // A kept version not yet vouched for is looked up again as it is, for its signature.
  const { manifest, artifact, signedBy } = await resolvePackage({
    name,
    range: keep ? locked.version : range,
    indexes,
    force,
    trustedKeys,
    buildSources: req.buildSources,
    signal: req.signal,
  });
  if (locked?.signedBy && signedBy && signedBy !== locked.signedBy && !req.newSigner) {
    throw new DriverkitError(
      'SIGNATURE_INVALID',
      `${name} ${manifest.version} is signed by key ${signedBy.slice(0, 16)}…, but ${store.lockFile} records that ${name} was signed by key ${locked.signedBy.slice(0, 16)}…; a package keeps its signer (pass --new-signer to accept the new one); nothing was installed`,
    );
  }
  if (locked && semver.lt(manifest.version, locked.version) && !force) {
    throw new DriverkitError(
      'DOWNGRADE_REFUSED',
      `${name} ${locked.version} is installed, and the highest version that fits is ${manifest.version}: pass --force to downgrade`,
    );
  }
  const same =
    locked?.version === manifest.version &&
    (artifact
      ? artifact.sha256 === locked.sha256
      : locked.source?.endsWith(`#${manifest.source!.commit}`));
  if (locked && same && (await intact(locked))) {
    if (!signedBy || locked.signedBy === signedBy) return result('unchanged', locked);
    const entry: LockEntry = { ...locked, signedBy };
    await recordInstall(store, name, entry, locked);
    return result('unchanged', entry);
  }
  const archive = await archiveOf(req, manifest, artifact);
  const got = await installArtifact(store, {
    name,
    version: manifest.version,
    url: archive.url,
    sha256: archive.sha256,
    entry: archive.entry,
    onDownload: req.onDownload,
    limits: { ...req.downloadLimits, signal: req.signal },
    unpack: req.unpackLimits,
  });
  const entry: LockEntry = {
    version: manifest.version,
    type: manifest.type,
    index: indexForLock(store, manifest.index),
    url: urlForLock(store, archive.url),
    sha256: archive.sha256,
    ...got,
    ...(archive.source ? { source: archive.source } : {}),
    ...(signedBy ? { signedBy } : {}),
  };
  return result(await recordInstall(store, name, entry, locked), entry);
}

/**
 * Puts a locked version's files back as the lock pins them: its archive again, or a build
 * of its source commit. With trusted keys, what the lock names is first checked against its
 * signed manifest: the lock is a record of what was verified, anyone can edit it.
 */
async function repair(
  req: InstallRequest,
  locked: LockEntry,
  trustedKeys: readonly KeyObject[],
): Promise<void> {
  const { store, name } = req;
  if (trustedKeys.length > 0) await checkAgainstIndex(req, locked, trustedKeys);
  const entry = relative(
    versionFolder(store, name, locked.version),
    lockedBinary(store, name, locked),
  );
  let archive = { url: urlFromLock(store, locked.url), sha256: locked.sha256 };
  // With keys set, only the commit of a source build is verified (against the signed
  // manifest), not an archive the lock names: it is built again from that commit.
  if (locked.source && (trustedKeys.length > 0 || !(await exists(archive.url)))) {
    // Built from source here before, and its archive is not in this clone: build that commit again.
    if (!req.buildSources)
      throw new DriverkitError(
        'USAGE',
        `${name} ${locked.version} was built from ${locked.source} and its archive is not here: building it again runs its build, so pass --build`,
      );
    const { url, commit } = sourceFromLock(store, locked.source);
    req.onBuild?.(`${name} ${locked.version} from ${url}`);
    const built = await buildSource(
      store,
      { name, version: locked.version, type: locked.type },
      url,
      commit,
      undefined,
      req.signal,
    );
    archive = { url: pathToFileURL(built.file).href, sha256: built.sha256 };
  }
  const got = await installArtifact(store, {
    name,
    version: locked.version,
    ...archive,
    entry,
    onDownload: req.onDownload,
    limits: { ...req.downloadLimits, signal: req.signal },
    unpack: req.unpackLimits,
  });
  if (got.binarySha256 !== locked.binarySha256) {
    const hint = locked.source
      ? ' (a build of the same commit with another toolchain can differ)'
      : '';
    throw new DriverkitError(
      'CHECKSUM_MISMATCH',
      `${name} ${locked.version}: the unpacked executable has sha256 ${got.binarySha256}, but ${store.lockFile} says ${locked.binarySha256}${hint}`,
    );
  }
}

/**
 * Refuses (SIGNATURE_INVALID) a lock entry whose archive or source commit is not the one the
 * version's manifest names, or whose manifest the key the lock records did not sign.
 */
async function checkAgainstIndex(
  req: InstallRequest,
  locked: LockEntry,
  trustedKeys: readonly KeyObject[],
): Promise<void> {
  const { store, name } = req;
  const refuse = (why: string): never => {
    throw new DriverkitError(
      'SIGNATURE_INVALID',
      `${store.lockFile}: ${name} ${locked.version} ${why}; the lock only records what was verified (run driverkit install ${name} to take it from its index again); nothing was installed`,
    );
  };
  if (locked.index === LOCAL_FILE_INDEX) refuse('comes from a local archive, which nobody signed');
  const { manifest, artifact, signedBy } = await resolvePackage({
    name,
    range: locked.version,
    indexes: [indexFromLock(store, locked.index)],
    force: true,
    trustedKeys,
    buildSources: true,
    signal: req.signal,
  });
  if (signedBy !== locked.signedBy)
    refuse(`was signed by key ${signedBy?.slice(0, 16)}…, not the key the lock records`);
  const same = locked.source
    ? manifest.source !== undefined && locked.source.endsWith(`#${manifest.source.commit}`)
    : artifact?.sha256 === locked.sha256 &&
      (artifact.entry === undefined || locked.binary.endsWith(`/${artifact.entry}`));
  if (!same)
    refuse(
      `names ${locked.source ? `source ${locked.source}` : `archive sha256 ${locked.sha256}`}, which its signed manifest in ${locked.index} does not`,
    );
}

/** The archive to install for a resolved version: its artifact, or its source built into one. */
async function archiveOf(
  req: InstallRequest,
  manifest: IndexedManifest,
  artifact: Artifact | undefined,
): Promise<{ url: string; sha256: string; entry?: string; source?: string }> {
  if (artifact)
    return {
      url: new URL(artifact.url, manifest.manifestUrl).href,
      sha256: artifact.sha256,
      entry: artifact.entry,
    };
  // No artifact for this platform: build the pinned commit of the manifest's source.
  const { commit, ref } = manifest.source!;
  const git = sourceUrl(manifest.source!, manifest);
  req.onBuild?.(`${manifest.name} ${manifest.version} from ${git}`);
  const built = await buildSource(
    req.store,
    {
      name: manifest.name,
      version: manifest.version,
      type: manifest.type,
      driverkit: manifest.driverkit,
    },
    git,
    commit,
    ref,
    req.signal,
  );
  return {
    url: pathToFileURL(built.file).href,
    sha256: built.sha256,
    source: sourceForLock(req.store, git, commit),
  };
}

/**
 * Writes a newly unpacked version into the lock (under the lock file's own lock), then
 * removes the previous version's folder. The caller holds the name's lock. Returns what
 * changed compared with `locked`.
 */
export async function recordInstall(
  store: Store,
  name: string,
  entry: LockEntry,
  locked: LockEntry | undefined,
): Promise<InstallResult['action']> {
  await withLock(`${store.lockFile}.lock`, async () => {
    const lock = await readLock(store.lockFile);
    lock.drivers[name] = entry;
    await writeLock(store.lockFile, lock);
  });
  if (locked && locked.version !== entry.version)
    await rm(versionFolder(store, name, locked.version), { recursive: true, force: true });
  return !locked
    ? 'installed'
    : semver.gt(entry.version, locked.version)
      ? 'upgraded'
      : semver.lt(entry.version, locked.version)
        ? 'downgraded'
        : 'repaired';
}

/** Removes a package's files and its lock entry; PACKAGE_NOT_FOUND when it is not installed. */
export async function uninstallPackage(store: Store, name: string): Promise<string> {
  await mkdir(store.drivers, { recursive: true });
  return withLock(join(store.drivers, `${name}.lock`), async () => {
    const version = await withLock(`${store.lockFile}.lock`, async () => {
      const lock = await readLock(store.lockFile);
      const entry = lock.drivers[name];
      if (!entry)
        throw new DriverkitError(
          'PACKAGE_NOT_FOUND',
          `"${name}" is not installed (not in ${store.lockFile})`,
        );
      delete lock.drivers[name];
      await writeLock(store.lockFile, lock);
      return entry.version;
    });
    await rm(join(store.drivers, name), { recursive: true, force: true });
    return version;
  });
}

/** Whether a `file:` URL's file is there; other URLs are assumed to be. */
async function exists(url: string): Promise<boolean> {
  if (!url.startsWith('file:')) return true;
  return access(fileURLToPath(url)).then(
    () => true,
    () => false,
  );
}
