// A full disk is an error the user can read, and it leaves nothing half written. The
// project lives on a 64 KiB tmpfs filled to the brim (root only: skipped elsewhere).
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { spawnCollect } from './helpers.js';
import { tempDir } from './packages-helpers.js';
import { CLI } from './paths.js';

const canMount = (() => {
  try {
    execFileSync('mount', ['--version'], { stdio: 'ignore' });
    return process.getuid?.() === 0;
  } catch {
    return false;
  }
})();

/** A tmpfs of 64 KiB at a new folder, unmounted when the test ends; undefined if mounting is refused. */
function smallDisk(): string | undefined {
  const dir = join(tempDir('disk'), 'mnt');
  mkdirSync(dir);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  onTestFinished(() => void execFileSync('umount', ['-l', dir]));
  return dir;
}

/** Writes to `dir` until the disk is full, then frees `pages` of 4 KiB. */
function fill(dir: string, pages: number): void {
  const fd = openSync(join(dir, 'filler'), 'w');
  const block = Buffer.alloc(1024);
  try {
    for (;;) writeSync(fd, block);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  const filler = join(dir, 'filler');
  truncateSync(filler, Math.max(0, statSync(filler).size - pages * 4096));
}

describe.skipIf(!canMount)('a full disk', () => {
  it('uninstall says ENOSPC in one line and leaves the lock whole, with no temp file beside it', async (ctx) => {
    const dir = smallDisk();
    if (!dir) return ctx.skip();
    const entry = {
      version: '1.0.0',
      type: 'userprovider',
      index: '(file)',
      url: 'demo.tar.gz',
      sha256: 'a'.repeat(64),
      binary: '.driverkit/drivers/demo/1.0.0/demo',
      binarySha256: 'b'.repeat(64),
    };
    const lock = `${JSON.stringify({ lockVersion: 1, drivers: { demo: entry, other: entry } })}\n`;
    writeFileSync(join(dir, 'driverkit.lock'), lock);
    // Room for the two lock files uninstall takes (a page each), none for the new lock.
    fill(dir, 2);
    const r = await spawnCollect(process.execPath, [CLI, 'uninstall', 'demo'], {
      cwd: dir,
      env: { ...process.env, DRIVERKIT_HOME: join(dir, '.home') },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('driverkit uninstall: ENOSPC: no space left on device, write\n');
    expect(readFileSync(join(dir, 'driverkit.lock'), 'utf8')).toBe(lock);
    const files = readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => e.name);
    expect(files.sort()).toEqual(['driverkit.lock', 'filler']);
  });
});
