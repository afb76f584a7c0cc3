import { relative } from 'node:path';
import { DriverkitError } from '../errors.js';
import type { InstallResult } from '../packages/install.js';
import { NAME_PATTERN } from '../packages/manifest.js';
import type { Progress } from '../packages/source.js';
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

/**
 * Shows a download on stderr when it is a terminal: a line that counts up in place (at most
 * ten times a second) once the download has taken more than a moment, finished by a newline.
 */
export function onDownload(url: string): Progress | undefined {
  if (!process.stderr.isTTY) return undefined;
  return downloadProgress(url, (text) => process.stderr.write(text));
}

/** The progress line of one download, written through `write`; exported for its test. */
export function downloadProgress(url: string, write: (text: string) => void, now: () => number = Date.now, momentMs = 300): Progress {
  const start = now();
  let last = 0;
  return (received, total) => {
    const t = now();
    const done = total !== undefined && received >= total;
    if (t - start < momentMs || (!done && t - last < 100)) return;
    last = t;
    const size = (n: number) => (n < 1e6 ? `${Math.ceil(n / 1e3)} kB` : `${(n / 1e6).toFixed(1)} MB`);
    const amount = total ? `${Math.floor((received / total) * 100)}% of ${size(total)}` : size(received);
    write(`\rdownloading ${url} ${amount}${done ? '\n' : ''}`);
  };
}
