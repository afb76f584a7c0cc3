import { readdir, realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import semver from 'semver';
import { DriverkitError } from '../errors.js';
import { fetchBytes, JSON_MAX_BYTES } from './download.js';
import { checkoutIndex, isGitIndex } from './git.js';
import { hasScheme } from './store.js';
import { NAME_PATTERN, parsePackageManifest, type PackageManifest } from './manifest.js';

/** A manifest with where it came from: the index as the user named it, and its own URL. */
export interface IndexedManifest extends PackageManifest {
  /** The index as named on the command line or in the lock. */
  index: string;
  /** The manifest's URL; relative artifact URLs are resolved against it. */
  manifestUrl: string;
}

/** Where an index's files are read from: a git index's checkout, else the index itself. */
async function baseUrl(index: string, signal?: AbortSignal): Promise<URL> {
  return isGitIndex(index) ? indexUrl(await checkoutIndex(index, signal)) : indexUrl(index);
}

/** An index (a folder path, `file:` URL or `http(s):` URL) as a URL ending in "/". */
export function indexUrl(index: string): URL {
  const url = /^(https?|file):/.test(index) ? new URL(index) : pathToFileURL(resolve(index));
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

async function fetchJson(url: URL, signal?: AbortSignal): Promise<unknown> {
  const bytes = await fetchBytes(url, { optional: true, maxBytes: JSON_MAX_BYTES, signal });
  if (bytes === undefined) return undefined;
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new DriverkitError(
      'PACKAGE_INVALID',
      `${url.href}: not valid JSON: ${(err as Error).message}`,
    );
  }
}

/**
 * The versions of `name` an index holds: its `<name>/versions.json` (a JSON array, which
 * an HTTP index must serve), else, in a folder index, the `<version>.json` files there.
 */
export async function listVersions(
  index: string,
  name: string,
  signal?: AbortSignal,
): Promise<string[]> {
  const base = new URL(`${encodeURIComponent(name)}/`, await baseUrl(index, signal));
  const listed = await fetchJson(new URL('versions.json', base), signal);
  if (listed !== undefined) {
    if (!Array.isArray(listed) || !listed.every((v) => typeof v === 'string' && semver.valid(v))) {
      throw new DriverkitError(
        'PACKAGE_INVALID',
        `${base.href}versions.json: must be an array of semver versions, got ${JSON.stringify(listed)}`,
      );
    }
    return listed;
  }
  if (base.protocol !== 'file:') return [];
  const files = await readdir(fileURLToPath(base)).catch(() => [] as string[]);
  return files.map((f) => f.replace(/\.json$/, '')).filter((v) => semver.valid(v) !== null);
}

/** Reads and validates `<name>/<version>.json` from an index; its name and version must match the path. */
export async function readIndexed(
  index: string,
  name: string,
  version: string,
  signal?: AbortSignal,
): Promise<IndexedManifest> {
  const url = new URL(
    `${encodeURIComponent(name)}/${encodeURIComponent(version)}.json`,
    await baseUrl(index, signal),
  );
  const raw = await fetchJson(url, signal);
  if (raw === undefined)
    throw new DriverkitError('PACKAGE_NOT_FOUND', `${url.href}: listed in the index but missing`);
  const m = parsePackageManifest(raw, url.href);
  if (m.name !== name || m.version !== version) {
    throw new DriverkitError(
      'PACKAGE_INVALID',
      `${url.href}: says it is ${m.name}@${m.version}, but its path says ${name}@${version}`,
    );
  }
  await checkReferences(m, index, url, await baseUrl(index, signal));
  return { ...m, index, manifestUrl: url.href };
}

/** An index read over the network (http(s), or a git index whose repository is not local). */
export function isRemoteIndex(index: string): boolean {
  const at = isGitIndex(index) ? index.slice('git+'.length) : index;
  return (hasScheme(at) && !at.startsWith('file:')) || /^[^/:]+@[^/:]+:/.test(at);
}

/**
 * A remote index may name remote URLs and files inside itself, never a local file: else
 * a hostile index makes the installer read (and hash, in its error) `/etc/hostname`, or
 * build a local repository (PACKAGE_INVALID, before anything is fetched).
 */
async function checkReferences(
  m: PackageManifest,
  index: string,
  url: URL,
  base: URL,
): Promise<void> {
  if (!isRemoteIndex(index)) return;
  const refuse = (field: string, value: string): never => {
    throw new DriverkitError(
      'PACKAGE_INVALID',
      `${url.href}: ${field} ${JSON.stringify(value)} names a local file; a remote index may only name remote URLs or files inside itself`,
    );
  };
  for (const [i, a] of m.artifacts.entries()) {
    const to = new URL(a.url, url);
    if (to.protocol === 'https:' || to.protocol === 'http:') continue;
    if (!to.href.startsWith(base.href)) refuse(`artifacts[${i}].url`, a.url);
    // Inside a git index's checkout by its text, and by where its links lead.
    const [real, root] = await Promise.all(
      [to, base].map((u) => realpath(fileURLToPath(u)).catch(() => undefined)),
    );
    if (real && root && relative(root, real).startsWith('..')) refuse(`artifacts[${i}].url`, a.url);
  }
  const git = m.source?.git;
  if (git !== undefined && (isAbsolute(git) || git.startsWith('file:'))) refuse('source.git', git);
}

/**
 * The package names an index holds: a folder (path or `file:` URL) is listed (its folders
 * named like packages); an http(s) index must serve `index.json`, a JSON array of names,
 * which `driverkit pack --index` writes. Missing over HTTP is PACKAGE_NOT_FOUND.
 */
export async function listNames(index: string): Promise<string[]> {
  const base = await baseUrl(index);
  if (base.protocol === 'file:') {
    const entries = await readdir(fileURLToPath(base), { withFileTypes: true }).catch(
      (err: Error) => {
        throw new DriverkitError('PACKAGE_NOT_FOUND', `index ${index}: ${err.message}`);
      },
    );
    return entries
      .filter((e) => e.isDirectory() && NAME_PATTERN.test(e.name))
      .map((e) => e.name)
      .sort();
  }
  const url = new URL('index.json', base);
  const listed = await fetchJson(url);
  if (listed === undefined)
    throw new DriverkitError(
      'PACKAGE_NOT_FOUND',
      `${url.href}: missing; an index served over HTTP lists its packages there (driverkit pack --index writes it)`,
    );
  if (
    !Array.isArray(listed) ||
    !listed.every((n) => typeof n === 'string' && NAME_PATTERN.test(n))
  ) {
    throw new DriverkitError(
      'PACKAGE_INVALID',
      `${url.href}: must be an array of package names, got ${JSON.stringify(listed)}`,
    );
  }
  return listed;
}
