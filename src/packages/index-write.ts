import { mkdir, readdir, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import semver from 'semver';
import type { Packed } from './pack.js';

/**
 * Adds a packed driver to a folder index: the archive beside `<name>/<version>.json`,
 * `<name>/versions.json` and the index's `index.json` (its package names) rewritten: what an
 * index served over HTTP must have. Returns the manifest's path.
 */
export async function addToIndex(indexDir: string, packed: Packed): Promise<string> {
  const { manifest } = packed;
  const folder = join(indexDir, manifest.name);
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, packed.fileName), packed.archive);
  const file = join(folder, `${manifest.version}.json`);
  await writeFile(file, `${JSON.stringify(manifest, null, 2)}\n`);
  const versions = (await readdir(folder))
    .map((f) => f.replace(/\.json$/, ''))
    .filter((v) => semver.valid(v) !== null);
  await writeFile(
    join(folder, 'versions.json'),
    `${JSON.stringify(versions.sort(semver.compare))}\n`,
  );
  await writeNames(indexDir);
  return file;
}

/** Rewrites `index.json`: the folders that have a `versions.json`, sorted. Written whole to a temp file and renamed, as packs may run side by side. */
async function writeNames(indexDir: string): Promise<void> {
  const names: string[] = [];
  for (const e of await readdir(indexDir, { withFileTypes: true })) {
    if (
      e.isDirectory() &&
      (await stat(join(indexDir, e.name, 'versions.json')).catch(() => undefined))
    )
      names.push(e.name);
  }
  const tmp = join(indexDir, `.index.json.${process.pid}.tmp`);
  await writeFile(tmp, `${JSON.stringify(names.sort())}\n`);
  await rename(tmp, join(indexDir, 'index.json'));
}
