// What test/netns.ts makes, removed at the end of a run even if a test worker died before
// its own cleanup ran (a namespace outlives the process that made it).
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';

/** The names machines() gives: dk<id><machine> and dksw<id>. */
export const MACHINE_NS = /^dk(sw)?\d+[a-z0-9]*$/;

/** Removes every namespace and /etc/netns folder machines() may have left; names what it removed. */
export function sweepMachines(): string[] {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return [];
  let names: string[] = [];
  try {
    names = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.split(' ')[0])
      .filter((n) => MACHINE_NS.test(n));
  } catch {
    return [];
  }
  for (const n of names) {
    try {
      execFileSync('ip', ['netns', 'del', n], { stdio: 'pipe' });
    } catch {}
  }
  let etc: string[] = [];
  try {
    etc = readdirSync('/etc/netns').filter((n) => MACHINE_NS.test(n));
  } catch {}
  for (const n of etc) rmSync(`/etc/netns/${n}`, { recursive: true, force: true });
  return [...new Set([...names, ...etc])];
}
