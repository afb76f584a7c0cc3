import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import semver from 'semver';
import type { Packed } from './pack.js';

/**
 * Adds a packed driver to a folder index: the archive beside `<name>/<version>.json`, and
 * `<name>/versions.json` rewritten (what an index served over HTTP must have). Returns the
 * manifest's path.
 */
export async function addToIndex(indexDir: string, packed: Packed): Promise<string> {
  const { manifest } = packed;
  const folder = join(indexDir, manifest.name);
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, packed.fileName), packed.archive);
  const file = join(folder, `${manifest.version}.json`);
  await writeFile(file, `${JSON.stringify(manifest, null, 2)}\n`);
  const versions = (await readdir(folder)).map((f) => f.replace(/\.json$/, '')).filter((v) => semver.valid(v) !== null);
  await writeFile(join(folder, 'versions.json'), `${JSON.stringify(versions.sort(semver.compare))}\n`);
  return file;
}
