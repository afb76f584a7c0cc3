import type { Stats } from 'node:fs';
import { lstatSync, rmSync } from 'node:fs';
import { lstat } from 'node:fs/promises';

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

/**
 * Why what a handshake names cannot be the socket the driver just made, or undefined when
 * it can: something there must be a socket, ours (same uid), and created after the driver
 * was spawned (`since`, epoch ms), so that a driver cannot point the host at another
 * driver's socket. Nothing there is no such danger: dialing it fails on its own.
 */
export async function notMadeBy(path: string, since: number): Promise<string | undefined> {
  let info: Stats;
  try {
    info = await lstat(path);
  } catch {
    return undefined;
  }
  if (!info.isSocket()) return 'it is not a socket';
  if (process.getuid && info.uid !== process.getuid()) return `it belongs to uid ${info.uid}`;
  // A few ms of slack: the file system's clock and Date.now() are read differently.
  if (info.birthtimeMs > 0 ? info.birthtimeMs < since - 5 : info.ctimeMs < since - 5)
    return 'it existed before the driver started';
  return undefined;
}
