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
 * The fields of /proc/PID/stat after the command name, from the state on (`S ppid pgrp ...`;
 * the name may hold spaces and parentheses); undefined without /proc or once it is gone.
 */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/**
 * When process `pid` started (field 22 of /proc/PID/stat, in clock ticks since boot): with
 * the pid, it names one process for good. Undefined without /proc or once it is gone.
 */
export const processStartTime = (pid: number): string | undefined => statFields(pid)?.[19];

/** The process group of `pid` (field 5 of /proc/PID/stat); undefined without /proc or once it is gone. */
export function processGroup(pid: number): number | undefined {
  const pgrp = statFields(pid)?.[2];
  return pgrp === undefined ? undefined : Number(pgrp);
}
