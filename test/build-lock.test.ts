// The lock that makes builds and installs take turns, across processes: a stale lock (its
// owner dead) is taken over by one process only, even when several find it at once.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from './packages-helpers.js';
import { ROOT } from './paths.js';

const LOCK = pathToFileURL(join(ROOT, 'dist', 'build', 'lock.js')).href;
/** Holds the lock a moment, writing `+PID` on entering and `-PID` on leaving. */
const HOLDER = `
import { appendFileSync } from 'node:fs';
const { withLock } = await import(process.argv[1]);
const [lock, log] = process.argv.slice(2);
await withLock(lock, async () => {
  appendFileSync(log, '+' + process.pid + '\\n');
  await new Promise((r) => setTimeout(r, 20));
  appendFileSync(log, '-' + process.pid + '\\n');
});`;

/** The pid of a process that has exited: what a crashed builder leaves in its lock. */
async function deadPid(): Promise<number> {
  const child = spawn('true');
  await once(child, 'exit');
  return child.pid!;
}

describe('the build lock', () => {
  it('a stale lock found by six processes at once is taken by one at a time, 5 rounds', async () => {
    const dir = tempDir('lock');
    for (let round = 0; round < 5; round++) {
      const [lock, log] = [join(dir, `r${round}.lock`), join(dir, `r${round}.log`)];
      writeFileSync(lock, String(await deadPid()));
      writeFileSync(log, '');
      const holders = Array.from({ length: 6 }, () =>
        spawn(process.execPath, ['--input-type=module', '-e', HOLDER, LOCK, lock, log], {
          stdio: ['ignore', 'ignore', 'inherit'],
        }),
      );
      const codes = await Promise.all(holders.map(async (h) => (await once(h, 'exit'))[0]));
      expect(codes).toEqual([0, 0, 0, 0, 0, 0]);
      const lines = readFileSync(log, 'utf8').trim().split('\n');
      // Each enter is followed by the same process's leave: never two inside at once.
      for (let i = 0; i < lines.length; i += 2) expect(lines[i + 1]).toBe(`-${lines[i].slice(1)}`);
      expect(lines).toHaveLength(12);
    }
  });
});
