import { readdirSync, readFileSync } from 'node:fs';

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

/**
 * The processes of group `pgid` that descend from its leader (the driver, a wrapper's
 * child): walked from the leader through /proc's children lists, not across every
 * process of the machine, which a start would pay for on a busy host.
 */
export function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  const queue = [pgid];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    if (processGroup(pid) !== pgid) continue;
    out.push(pid);
    for (const task of tryRead(() => readdirSync(`/proc/${pid}/task`), []))
      for (const child of tryRead(
        () => readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8'),
        '',
      ).split(' '))
        if (child.trim()) queue.push(Number(child));
  }
  return out;
}

/** Clock ticks per second of /proc's CPU times (USER_HZ): 100 on every Linux port Node runs on. */
const TICKS_PER_SECOND = 100;
const PAGE_BYTES = 4096;

/**
 * Each process of group `pgid` (see groupMembers) with its resident memory (bytes) and CPU
 * time (user and system, seconds); empty without /proc or once the group is gone.
 */
export function groupUsage(
  pgid: number,
): Array<{ pid: number; rssBytes: number; cpuSeconds: number }> {
  return groupMembers(pgid).flatMap((pid) => {
    const f = statFields(pid);
    // After the name: utime is field 14, stime 15, rss (pages) 24; f[0] is field 3.
    return f
      ? [
          {
            pid,
            rssBytes: Number(f[21]) * PAGE_BYTES,
            cpuSeconds: (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND,
          },
        ]
      : [];
  });
}

/** Resident memory of group `pgid`'s processes, summed; undefined once it is gone. */
export function groupRss(pgid: number): number | undefined {
  const group = groupUsage(pgid);
  return group.length ? group.reduce((sum, p) => sum + p.rssBytes, 0) : undefined;
}

/** What `read` returns, or `fallback` when /proc no longer has it (a process gone meanwhile). */
export function tryRead<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}
