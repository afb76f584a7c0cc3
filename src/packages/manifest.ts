import semver from 'semver';
import { DriverkitError } from '../errors.js';

/** One platform's build of a package version. */
export interface Artifact {
  /** As node's `process.platform`: "linux", "darwin", "win32". */
  os: string;
  /** As node's `process.arch`: "x64", "arm64". */
  arch: string;
  /** A .tar.gz, absolute or relative to the manifest's own location. */
  url: string;
  /** Lowercase hex sha256 of the archive, checked before it is unpacked. */
  sha256: string;
  /** The executable's path inside the archive; default: the archive's only file. */
  entry?: string;
}

/**
 * A version's source, for platforms no artifact covers: a git repository whose root holds a
 * source driver (see driverkit build), pinned to one commit.
 */
export interface SourceRef {
  /** The repository: https:, file: or a path (relative to the manifest's own location). */
  git: string;
  /** The full commit hash (40 hex digits): what is built, checked after the clone. */
  commit: string;
  /** A tag or branch that names the commit, so that a shallow clone can fetch it; default: a full clone. */
  ref?: string;
}

/** A package manifest: one name and version of a driver in an index (`<name>/<version>.json`). */
export interface PackageManifest {
  name: string;
  /** The driver type it implements, e.g. "userprovider". */
  type: string;
  /** The package's exact semver version. */
  version: string;
  /** The driverkit versions it works with, a semver range such as "^0.1.0". */
  driverkit: string;
  description?: string;
  license?: string;
  homepage?: string;
  /** Built executables, per platform; may be empty when `source` is given. */
  artifacts: Artifact[];
  /** Built by driverkit where no artifact fits this os/arch. */
  source?: SourceRef;
  /** Base64 ed25519 signature over the manifest's canonical JSON without this field (see signature.ts). */
  signature?: string;
}

/** Package names: what a folder name, a lock key and a config reference can all hold. */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

const REQUIRED = ['name', 'type', 'version', 'driverkit', 'artifacts'] as const;
const OPTIONAL = ['description', 'license', 'homepage', 'signature', 'source'] as const;
const ARTIFACT_REQUIRED = ['os', 'arch', 'url', 'sha256'] as const;

/**
 * Validates a parsed manifest; `where` (its file or URL) starts every error message, which
 * also names the field and quotes the bad value (PACKAGE_INVALID).
 */
export function parsePackageManifest(raw: unknown, where: string): PackageManifest {
  const bad = (field: string, expected: string, value: unknown): never => {
    throw new DriverkitError(
      'PACKAGE_INVALID',
      `${where}: "${field}" must be ${expected}, got ${JSON.stringify(value) ?? 'nothing'}`,
    );
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    bad('(manifest)', 'a JSON object', raw);
  const m = raw as Record<string, unknown>;
  for (const key of Object.keys(m)) {
    if (![...REQUIRED, ...OPTIONAL].includes(key as never)) {
      throw new DriverkitError(
        'PACKAGE_INVALID',
        `${where}: unknown field "${key}" (known: ${[...REQUIRED, ...OPTIONAL].join(', ')})`,
      );
    }
  }
  for (const key of [
    ...REQUIRED.filter((k) => k !== 'artifacts'),
    ...OPTIONAL.filter((k) => k !== 'source'),
  ]) {
    if ((m[key] !== undefined || REQUIRED.includes(key as never)) && typeof m[key] !== 'string')
      bad(key, 'a string', m[key]);
  }
  if (m.signature !== undefined && !/^[A-Za-z0-9+/]{86}==$/.test(m.signature as string))
    bad('signature', 'a base64 ed25519 signature (88 characters)', m.signature);
  if (!NAME_PATTERN.test(m.name as string)) bad('name', `a name matching ${NAME_PATTERN}`, m.name);
  if (semver.valid(m.version as string) === null)
    bad('version', 'an exact semver version such as "1.2.0"', m.version);
  if (semver.validRange(m.driverkit as string) === null)
    bad('driverkit', 'a semver range such as "^0.1.0"', m.driverkit);
  if (m.source !== undefined) parseSource(m.source, bad);
  if (!Array.isArray(m.artifacts) || (m.artifacts.length === 0 && m.source === undefined))
    bad('artifacts', 'a non-empty array (or an empty one with "source")', m.artifacts);
  (m.artifacts as unknown[]).forEach((a, i) => parseArtifact(a, `artifacts[${i}]`, bad));
  return m as unknown as PackageManifest;
}

function parseArtifact(
  raw: unknown,
  field: string,
  bad: (field: string, expected: string, value: unknown) => never,
): void {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) bad(field, 'an object', raw);
  const a = raw as Record<string, unknown>;
  for (const key of Object.keys(a))
    if (![...ARTIFACT_REQUIRED, 'entry'].includes(key))
      bad(`${field}.${key}`, 'absent (unknown field)', a[key]);
  for (const key of ARTIFACT_REQUIRED)
    if (typeof a[key] !== 'string' || a[key] === '')
      bad(`${field}.${key}`, 'a non-empty string', a[key]);
  if (!/^[0-9a-f]{64}$/.test(a.sha256 as string))
    bad(`${field}.sha256`, '64 lowercase hex digits', a.sha256);
  if (a.entry !== undefined && (typeof a.entry !== 'string' || a.entry === ''))
    bad(`${field}.entry`, 'a non-empty string', a.entry);
}

/**
 * A git URL an index or a lock may name: https:, http:, ssh:, git: or file: URLs and plain
 * paths. Not git's other transports and remote helpers (ext:: runs commands), nor anything
 * git could read as an option.
 */
export const isPlainGitUrl = (url: string): boolean =>
  /^((https?|ssh|git|file):\/\/|[^-:][^:]*$)/.test(url);

function parseSource(
  raw: unknown,
  bad: (field: string, expected: string, value: unknown) => never,
): void {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    bad('source', 'an object { git, commit, ref? }', raw);
  const src = raw as Record<string, unknown>;
  for (const key of Object.keys(src))
    if (!['git', 'commit', 'ref'].includes(key))
      bad(`source.${key}`, 'absent (unknown field)', src[key]);
  if (typeof src.git !== 'string' || !isPlainGitUrl(src.git))
    bad('source.git', 'an https:, http:, ssh:, git: or file: URL, or a path', src.git);
  if (typeof src.commit !== 'string' || !/^[0-9a-f]{40}$/.test(src.commit))
    bad('source.commit', 'a full commit hash (40 lowercase hex digits)', src.commit);
  // A ref is handed to git: one that looks like an option is refused.
  if (
    src.ref !== undefined &&
    (typeof src.ref !== 'string' || !/^[A-Za-z0-9._/][A-Za-z0-9._/-]*$/.test(src.ref))
  )
    bad('source.ref', 'a tag or branch name', src.ref);
}

/** This machine's artifact of `manifest`, if it has one. */
export function artifactFor(
  manifest: PackageManifest,
  os: string = process.platform,
  arch: string = process.arch,
): Artifact | undefined {
  return manifest.artifacts.find((a) => a.os === os && a.arch === arch);
}
