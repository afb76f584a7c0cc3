import { mkdir, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDriver } from '../build/build.js';
import { sha256 } from './artifact.js';
import { cloneCommit } from './git.js';
import type { SourceRef } from './manifest.js';
import { packDriver } from './pack.js';
import type { Store } from './store.js';

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
export async function buildToArchive(store: Store, dir: string, pkg: SourcePackage): Promise<BuiltSource> {
  const built = await buildDriver({ folder: dir, type: pkg.type, binDir: join(dir, '.driverkit-build'), driver: pkg.name });
  const packed = await packDriver({ input: built.binary, ...pkg });
  const folder = join(store.drivers, pkg.name, 'sources');
  await mkdir(folder, { recursive: true });
  const file = join(folder, packed.fileName);
  await writeFile(file, packed.archive);
  return { file, sha256: sha256(packed.archive) };
}

/** A manifest's `source.git` as git takes it: a URL, or a path resolved against the manifest's folder. */
export function sourceUrl(source: SourceRef, manifestUrl: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(source.git) || isAbsolute(source.git)) return source.git;
  const url = new URL(source.git, manifestUrl);
  return url.protocol === 'file:' ? resolve(fileURLToPath(url)) : url.href;
}

/** How a lock records a source build: `URL#COMMIT`, enough to build it again. */
export const sourceForLock = (url: string, commit: string) => `${url}#${commit}`;

/** Clones `URL#COMMIT` (a lock's `source`, or a manifest's, at its `ref` when given) and builds it to an archive. */
export async function buildSource(store: Store, pkg: SourcePackage, url: string, commit: string, ref?: string): Promise<BuiltSource> {
  return buildToArchive(store, await cloneCommit(url, commit, ref), pkg);
}
