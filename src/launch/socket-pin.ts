// A driver's socket, pinned between the check of who listens there and the dial: the path
// its handshake names is the driver's to change (a symbolic link to another driver's socket,
// swapped in after the check), so the host dials a hard link of its own instead, made of
// the very file it checked, in a folder only it can write.
import { linkSync, lstatSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** The socket file at `path` as `DEV:INODE`, or undefined when what is there is not a socket. */
export function socketInode(path: string): string | undefined {
  try {
    const s = lstatSync(path);
    return s.isSocket() ? `${s.dev}:${s.ino}` : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A hard link, in the host's own folder, of the socket file at `path`, which must still be
 * the file `ino` (a link names whatever is there now, and never follows a symbolic link).
 * Undefined when no link can be made there (another file system, say): the caller dials
 * `path` itself. Throws when what is there is no longer that socket.
 */
export function pinSocket(path: string, ino: string): string | undefined {
  // A folder of its own (0700) per pin, removed with it: nothing is left behind.
  const pinned = join(mkdtempSync(join(tmpdir(), 'driverkit-pin-')), 'driver.sock');
  try {
    linkSync(path, pinned);
  } catch (err) {
    unpin(pinned);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EXDEV' || code === 'EPERM') return undefined;
    throw new Error(`the socket could not be pinned: ${code ?? err}`);
  }
  if (socketInode(pinned) !== ino) {
    unpin(pinned);
    throw new Error('it was replaced after it was checked');
  }
  return pinned;
}

/** Removes a pin and its folder; the driver's own socket stays (it is removed with the driver). */
export function unpin(pinned: string | undefined): void {
  if (pinned) rmSync(dirname(pinned), { recursive: true, force: true });
}
