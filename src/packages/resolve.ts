import type { KeyObject } from 'node:crypto';
import semver from 'semver';
import { DriverkitError } from '../errors.js';
import { VERSION } from '../version.js';
import { artifactFor, type Artifact } from './manifest.js';
import { checkSignature } from './signature.js';
import { listVersions, readIndexed, type IndexedManifest } from './source.js';

/** What to look for in which indexes. */
export interface ResolveRequest {
  name: string;
  /** A semver range the version must be in; default: any. */
  range?: string;
  /** Indexes in order of preference: a version found in two is taken from the first. */
  indexes: readonly string[];
  /** Ignore the manifests' `driverkit` ranges (the platform must still match). Default false. */
  force?: boolean;
  /** Default: this driverkit, and node's `process.platform` / `process.arch`. */
  driverkitVersion?: string;
  os?: string;
  arch?: string;
  /** Public keys one of which must verify the chosen manifest's signature; empty (default): signatures are not checked. */
  trustedKeys?: readonly KeyObject[];
  /** A version with no artifact for this platform fits if it has a source (to build). Default false. */
  buildSources?: boolean;
  /** Cancels the index reads. */
  signal?: AbortSignal;
}

/** The version chosen, and its artifact for this platform (else its source is built). */
export interface Resolved {
  manifest: IndexedManifest;
  artifact?: Artifact;
  /** The id of the trusted key that signed it (see keyId); none when no keys were given. */
  signedBy?: string;
}

/**
 * The highest version of a package whose `driverkit` range admits this driverkit and that
 * has an artifact for this os/arch or a source to build. Nothing in the indexes is PACKAGE_NOT_FOUND; versions
 * that exist but do not fit are PACKAGE_INCOMPATIBLE, naming each version and why. With
 * `trustedKeys`, the chosen manifest must be signed by one of them (SIGNATURE_INVALID): a
 * bad signature never falls back to a lower version.
 */
export async function resolvePackage(req: ResolveRequest): Promise<Resolved> {
  const {
    name,
    range,
    indexes,
    force = false,
    driverkitVersion = VERSION,
    os = process.platform,
    arch = process.arch,
  } = req;
  if (indexes.length === 0)
    throw new DriverkitError(
      'USAGE',
      `no index to look for "${name}" in: pass --index (a folder, file: or http(s): URL) or set DRIVERKIT_INDEX`,
    );
  const found = new Map<string, string>();
  for (const index of indexes)
    for (const v of await listVersions(index, name, req.signal))
      if (!found.has(v)) found.set(v, index);
  if (found.size === 0)
    throw new DriverkitError('PACKAGE_NOT_FOUND', `no package "${name}" in ${indexes.join(', ')}`);
  const candidates = [...found.keys()]
    .filter((v) => range === undefined || semver.satisfies(v, range))
    .sort(semver.rcompare);
  if (candidates.length === 0) {
    throw new DriverkitError(
      'PACKAGE_NOT_FOUND',
      `no version of "${name}" matches ${range} (available: ${[...found.keys()].sort(semver.rcompare).join(', ')})`,
    );
  }
  const reasons: string[] = [];
  for (const v of candidates) {
    const manifest = await readIndexed(found.get(v)!, name, v, req.signal);
    const fits =
      force || semver.satisfies(driverkitVersion, manifest.driverkit, { includePrerelease: true });
    const artifact = artifactFor(manifest, os, arch);
    if (fits && (artifact || (manifest.source && req.buildSources))) {
      return { manifest, artifact, signedBy: checkSignature(manifest, req.trustedKeys ?? []) };
    }
    if (!fits) reasons.push(`${name} ${v} needs driverkit ${manifest.driverkit}`);
    else {
      const has = manifest.artifacts.map((a) => `${a.os}-${a.arch}`).join(', ') || 'none';
      reasons.push(
        `${name} ${v} has no artifact for ${os}-${arch} (has: ${has}) and ${manifest.source ? 'a source, which --build (config: build_packages = true) builds' : 'no source'}`,
      );
    }
  }
  throw new DriverkitError(
    'PACKAGE_INCOMPATIBLE',
    `no version of "${name}"${range ? ` in ${range}` : ''} works with driverkit ${driverkitVersion} on ${os}-${arch}: ${reasons.join('; ')}` +
      (force ? '' : ' (--force ignores the driverkit range)'),
  );
}
