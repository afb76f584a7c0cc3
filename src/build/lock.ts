import { open, readFile, rm } from 'node:fs/promises';
import { pidAlive } from '../pid.js';

/**
 * Runs `fn` holding an exclusive lock file, so two hosts (or two CLIs) building the same
 * driver take turns. A lock whose owner process is gone is taken over.
 */
export async function withLock<T>(
  path: string,
  fn: () => Promise<T>,
  timeoutMs = 10 * 60_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(await readFile(path, 'utf8').catch(() => ''));
      // An empty file is a lock being written right now; only a dead owner is stale.
      if (owner > 0 && !pidAlive(owner)) {
        await rm(path, { force: true });
        continue;
      }
      if (Date.now() > end)
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for build lock ${path} (held by pid ${owner})`,
        );
      // Another process builds; there is no portable event for a file's removal, so poll.
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(path, { force: true });
  }
}
