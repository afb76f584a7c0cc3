import { readFileSync } from 'node:fs';

/**
 * True while process `pid` runs. A zombie (dead, not yet reaped by its parent) counts as
 * gone: a lock owner, a host or a reattached driver in that state will never act again.
 * EPERM means it exists under another user.
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    // The state follows the parenthesised command name: `pid (comm) S ...`.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    // No /proc (macOS): kill(0) is all there is.
    return true;
  }
}

/**
 * When process `pid` started (field 22 of /proc/PID/stat, in clock ticks since boot): with
 * the pid, it names one process for good. Undefined without /proc or once it is gone.
 */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
