import { randomBytes } from 'node:crypto';
import { link, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { pidAlive } from '../pid.js';

/**
 * Runs `fn` holding an exclusive lock file, so two hosts (or two CLIs) building the same
 * driver take turns. A lock whose owner process is gone is taken over, by one process only.
 */
export async function withLock<T>(
  path: string,
  fn: () => Promise<T>,
  timeoutMs = 10 * 60_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  while (!(await createHolding(path))) {
    const owner = Number(await readFile(path, 'utf8').catch(() => ''));
    // A takeover by another process is a moment's work: wait for it as for any owner.
    if (owner > 0 && !pidAlive(owner) && (await takeOver(path, owner))) continue;
    if (Date.now() > end)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for build lock ${path} (held by pid ${owner})`,
      );
    // Another process builds; there is no portable event for a file's removal, so poll.
    await new Promise((r) => setTimeout(r, 50));
  }
  try {
    return await fn();
  } finally {
    await rm(path, { force: true });
  }
}

/**
 * Creates `path` holding this process's pid, or returns false when it exists. The pid is
 * written before the file appears (a hard link of a finished file), so a lock is never
 * seen empty, not even one whose owner died while taking it.
 */
async function createHolding(path: string): Promise<boolean> {
  const mine = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(mine, String(process.pid));
    await link(mine, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return false;
  } finally {
    await rm(mine, { force: true });
  }
}

/**
 * Removes a lock whose owner `stale` is dead. Several processes may find it stale at once;
 * removing it blindly, one of them could remove the lock another has just taken. So only
 * the one that creates `<path>.takeover` removes it, and only while it still names `stale`.
 * A takeover file whose process died is removed the same way, one level down. True when
 * this process did the takeover.
 */
async function takeOver(path: string, stale: number): Promise<boolean> {
  const guard = `${path}.takeover`;
  if (!(await createHolding(guard))) {
    const holder = Number(await readFile(guard, 'utf8').catch(() => ''));
    if (holder > 0 && !pidAlive(holder)) {
      // Its holder died within the few milliseconds it holds it: old enough, it is gone.
      const age = Date.now() - ((await stat(guard).catch(() => undefined))?.mtimeMs ?? 0);
      if (age > 1000) await rm(guard, { force: true });
    }
    return false;
  }
  try {
    if (Number(await readFile(path, 'utf8').catch(() => '')) === stale)
      await rm(path, { force: true });
  } finally {
    await rm(guard, { force: true });
  }
  return true;
}
