import { lstatSync, rmSync } from 'node:fs';

/**
 * Removes a driver's socket file, and nothing else: the path comes from the driver's
 * handshake, so a regular file, a folder or a link it names is left alone.
 */
export function removeSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) rmSync(path, { force: true });
  } catch {
    // gone already
  }
}
