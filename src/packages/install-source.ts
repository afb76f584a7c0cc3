import { mkdir, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildDriver } from '../build/build.js';
import { DriverkitError } from '../errors.js';
import { sha256 } from './artifact.js';
import { cloneCommit, isGitIndex, removeClone } from './git.js';
import type { SourceRef } from './manifest.js';
import { packDriver } from './pack.js';
import type { IndexedManifest } from './source.js';
import { hasScheme, pathForLock, type Store } from './store.js';

/** What a built source becomes: an archive in the store, installed as any archive is. */
export interface BuiltSource {
  file: string;
  sha256: string;
}

/** The package a source folder is built as. */
export interface SourcePackage {
  name: string;
  version: string;
  type: string;
  driverkit?: string;
}

/**
 * Builds the source driver in `dir` with driverkit's build, and packs the executable into
 * `<drivers>/<name>/sources/`, where a later repair (or `--frozen`) can unpack it again.
 */
export async function buildToArchive(
  store: Store,
  dir: string,
  pkg: SourcePackage,
): Promise<BuiltSource> {
  const built = await buildDriver({
    folder: dir,
    type: pkg.type,
    binDir: join(dir, '.driverkit-build'),
    driver: pkg.name,
  });
  const packed = await packDriver({ input: built.binary, ...pkg });
  const folder = join(store.drivers, pkg.name, 'sources');
  await mkdir(folder, { recursive: true });
  const file = join(folder, packed.fileName);
  await writeFile(file, packed.archive);
  return { file, sha256: sha256(packed.archive) };
}

/**
 * A manifest's `source.git` as git takes it: a URL or absolute path as it is, else a path
 * relative to the manifest's folder in its index (for a git index, in the repository the
 * index names, not in the temporary checkout it was read from).
 */
export function sourceUrl(source: SourceRef, manifest: IndexedManifest): string {
  if (hasScheme(source.git) || isAbsolute(source.git)) return source.git;
  let base = manifest.manifestUrl;
  if (isGitIndex(manifest.index)) {
    const repo = manifest.index.slice('git+'.length).replace(/#.*$/, '').replace(/\/*$/, '/');
    // An scp-like `host:path` has no URL to resolve against: resolving it as a path would
    // name a local repository.
    if (!hasScheme(repo) && /^[^/:]+@?[^/:]*:/.test(repo))
      throw new DriverkitError(
        'PACKAGE_INVALID',
        `${manifest.manifestUrl}: source.git ${JSON.stringify(source.git)} is relative, and index ${manifest.index} is not a URL to resolve it against: name the repository in full`,
      );
    base = new URL(
      `${encodeURIComponent(manifest.name)}/`,
      hasScheme(repo) ? repo : `${pathToFileURL(resolve(repo)).href}/`,
    ).href;
  }
  const url = new URL(source.git, base);
  return url.protocol === 'file:' ? resolve(fileURLToPath(url)) : url.href;
}

/** How a lock records a source build: `URL#COMMIT`, a path inside the project relative to it (so the lock works in any clone). */
export function sourceForLock(store: Store, url: string, commit: string): string {
  const inside = isAbsolute(url) && !relative(store.root, url).startsWith('..');
  return `${inside ? pathForLock(store, url) : url}#${commit}`;
}

/** A lock's `source`, back to what git takes. */
export function sourceFromLock(store: Store, source: string): { url: string; commit: string } {
  const hash = source.lastIndexOf('#');
  const url = source.slice(0, hash);
  return { url: hasScheme(url) ? url : resolve(store.root, url), commit: source.slice(hash + 1) };
}

/** Clones `URL#COMMIT` (a lock's `source`, or a manifest's, at its `ref` when given) and builds it to an archive. */
export async function buildSource(
  store: Store,
  pkg: SourcePackage,
  url: string,
  commit: string,
  ref?: string,
  signal?: AbortSignal,
): Promise<BuiltSource> {
  const dir = await cloneCommit(url, commit, ref, signal);
  try {
    return await buildToArchive(store, dir, pkg);
  } finally {
    await removeClone(dir);
  }
}
