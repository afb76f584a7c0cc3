import { relative } from 'node:path';
import { DriverkitError } from '../errors.js';
import type { InstallResult } from '../packages/install.js';
import { NAME_PATTERN } from '../packages/manifest.js';
import type { Progress } from '../packages/download.js';
import type { Store } from '../packages/store.js';

/** The options install and upgrade share. */
export const PACKAGE_OPTIONS = {
  index: { type: 'string', multiple: true },
  global: { type: 'boolean', short: 'g' },
  force: { type: 'boolean' },
  'trusted-key': { type: 'string', multiple: true },
  build: { type: 'boolean' },
  'new-signer': { type: 'boolean' },
} as const;

/** The help lines for --trusted-key and --build, shared by install and upgrade. */
export const TRUSTED_KEY_HELP = `      --trusted-key FILE  an ed25519 public key (PEM) that must have signed each manifest
                     (repeatable; also DRIVERKIT_TRUSTED_KEYS, comma-separated paths)
      --new-signer   accept a version signed by another trusted key than the one the lock
                     records for that package (by default a package keeps its signer)
      --build        build a version with no artifact for this platform from the source its
                     manifest names: runs that repository's build with your rights`;

/** `NAME[@RANGE]` into its parts; a malformed name is a USAGE error. */
export function splitSpec(spec: string): { name: string; range?: string } {
  const at = spec.indexOf('@');
  const name = at < 0 ? spec : spec.slice(0, at);
  if (!NAME_PATTERN.test(name))
    throw new DriverkitError(
      'USAGE',
      `not a package name: ${JSON.stringify(spec)} (expected NAME or NAME@RANGE)`,
    );
  return at < 0 ? { name } : { name, range: spec.slice(at + 1) };
}

/** One line per install: what happened, and where the executable is. */
export function describeResult(r: InstallResult, store: Store): string {
  const change = r.previous && r.previous !== r.version ? ` (was ${r.previous})` : '';
  return `${r.action.padEnd(10)} ${r.name} ${r.version}${change}  ${relative(store.global ? store.root : '.', r.binary)}\n`;
}

/**
 * A signal that Ctrl-C and SIGTERM fire: downloads and clones stop and their temp files go,
 * then the command fails saying so (a second signal ends the process at once).
 */
export function cancelledBySignals(): AbortSignal {
  const controller = new AbortController();
  for (const name of ['SIGINT', 'SIGTERM'] as const)
    process.once(name, () => controller.abort(new Error(`${name} received`)));
  return controller.signal;
}

/** Tells the user that a version is built from its source, which takes a while. */
export function onBuild(what: string): void {
  process.stderr.write(`building ${what} …\n`);
}

/**
 * Shows a download on stderr when it is a terminal: once it has taken more than a moment,
 * one line that counts up in place (at most ten times a second, cut to the terminal's
 * width), ended by a newline however the download ends.
 */
export function onDownload(url: string): Progress | undefined {
  if (!process.stderr.isTTY) return undefined;
  const start = Date.now();
  let [last, written] = [0, false];
  const size = (n: number) => (n < 1e6 ? `${Math.ceil(n / 1e3)} kB` : `${(n / 1e6).toFixed(1)} MB`);
  return {
    update(received, total) {
      const now = Date.now();
      const done = total !== undefined && received >= total;
      if (now - start < MOMENT_MS || (!done && now - last < 100)) return;
      [last, written] = [now, true];
      // A compressed transfer can count past its stated length: then the bytes alone.
      const amount =
        total && received <= total
          ? `${Math.floor((received / total) * 100)}% of ${size(total)}`
          : size(received);
      // One terminal row, or \r cannot return to its start: the URL gives way, from its left.
      const room = (process.stderr.columns || 80) - `downloading  ${amount}`.length - 2;
      const shown = url.length <= room ? url : `…${url.slice(url.length - Math.max(room - 1, 8))}`;
      process.stderr.write(`\rdownloading ${shown} ${amount}\x1b[K`);
    },
    end() {
      if (written) process.stderr.write('\n');
    },
  };
}

/** How long a download runs before its progress is shown. */
const MOMENT_MS = 300;
