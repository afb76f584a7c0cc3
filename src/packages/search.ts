import semver from 'semver';
import { DriverkitError } from '../errors.js';
import { resolvePackage } from './resolve.js';
import { listNames, listVersions, readIndexed, type IndexedManifest } from './source.js';

/** What to search for, and where. */
export interface SearchRequest {
  /** A case-insensitive substring of the name or description; default: every package. */
  term?: string;
  /** Indexes in order of preference, as for install. */
  indexes: readonly string[];
  /** Default: this driverkit, and node's `process.platform` / `process.arch` (as for install). */
  driverkitVersion?: string;
  os?: string;
  arch?: string;
}

/** One package found: its newest compatible version (`undefined` when none fits this driverkit and platform). */
export interface SearchHit {
  name: string;
  version?: string;
  /** The newest version of any kind, when none fits. */
  newest?: string;
  type: string;
  description?: string;
  index: string;
}

/**
 * The packages of some indexes whose name or description contains `term`, sorted by name;
 * a name in two indexes is one package, resolved over both. Type and description come from
 * the version shown (or, when none fits, the newest).
 */
export async function searchPackages(req: SearchRequest): Promise<SearchHit[]> {
  const { indexes, term } = req;
  if (indexes.length === 0)
    throw new DriverkitError(
      'USAGE',
      'no index to search: pass --index (a folder, file: or http(s): URL) or set DRIVERKIT_INDEX',
    );
  const names = new Set<string>();
  for (const index of indexes) for (const n of await listNames(index)) names.add(n);
  const hits: SearchHit[] = [];
  for (const name of [...names].sort()) {
    const hit = await describePackage(name, req);
    if (!hit) continue;
    const needle = term?.toLowerCase() ?? '';
    if (
      name.toLowerCase().includes(needle) ||
      (hit.description ?? '').toLowerCase().includes(needle)
    )
      hits.push(hit);
  }
  return hits;
}

async function describePackage(name: string, req: SearchRequest): Promise<SearchHit | undefined> {
  const row = (m: IndexedManifest, fits: boolean): SearchHit => ({
    name,
    ...(fits ? { version: m.version } : { newest: m.version }),
    type: m.type,
    description: m.description,
    index: m.index,
  });
  try {
    return row(
      (
        await resolvePackage({
          name,
          indexes: req.indexes,
          driverkitVersion: req.driverkitVersion,
          os: req.os,
          arch: req.arch,
        })
      ).manifest,
      true,
    );
  } catch (err) {
    if (!(err instanceof DriverkitError) || err.code !== 'PACKAGE_INCOMPATIBLE') {
      if (err instanceof DriverkitError && err.code === 'PACKAGE_NOT_FOUND') return undefined; // a folder without versions
      throw err;
    }
  }
  for (const index of req.indexes) {
    const newest = (await listVersions(index, name)).sort(semver.rcompare)[0];
    if (newest) return row(await readIndexed(index, name, newest), false);
  }
  return undefined;
}
