import { relative } from 'node:path';
import { DriverkitError } from '../errors.js';
import type { InstallResult } from '../packages/install.js';
import { NAME_PATTERN } from '../packages/manifest.js';
import type { Store } from '../packages/store.js';

/** The options install and upgrade share. */
export const PACKAGE_OPTIONS = {
  index: { type: 'string', multiple: true },
  global: { type: 'boolean', short: 'g' },
  force: { type: 'boolean' },
  'trusted-key': { type: 'string', multiple: true },
} as const;

/** The help lines for --trusted-key, shared by install and upgrade. */
export const TRUSTED_KEY_HELP = `      --trusted-key FILE  an ed25519 public key (PEM) that must have signed each manifest
                     (repeatable; also DRIVERKIT_TRUSTED_KEYS, comma-separated paths)`;

/** `NAME[@RANGE]` into its parts; a malformed name is a USAGE error. */
export function splitSpec(spec: string): { name: string; range?: string } {
  const at = spec.indexOf('@');
  const name = at < 0 ? spec : spec.slice(0, at);
  if (!NAME_PATTERN.test(name)) throw new DriverkitError('USAGE', `not a package name: ${JSON.stringify(spec)} (expected NAME or NAME@RANGE)`);
  return at < 0 ? { name } : { name, range: spec.slice(at + 1) };
}

/** One line per install: what happened, and where the executable is. */
export function describeResult(r: InstallResult, store: Store): string {
  const change = r.previous && r.previous !== r.version ? ` (was ${r.previous})` : '';
  return `${r.action.padEnd(10)} ${r.name} ${r.version}${change}  ${relative(store.global ? store.root : '.', r.binary)}\n`;
}

/** Tells the user that a version is built from its source, which takes a while. */
export function onBuild(what: string): void {
  process.stderr.write(`building ${what} …\n`);
}

/** Tells the user about a download on stderr when it is a terminal. */
export function onDownload(url: string): void {
  if (process.stderr.isTTY) process.stderr.write(`downloading ${url} …\n`);
}
