// The host's watchdog: drivers that watch nothing (a go-plugin Go driver, a driver behind
// a wrapper) are stopped when their host is SIGKILLed, which no exit hook survives.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { hasGoToolchain, isAlive, recordGroup, spawnUntil, waitFor } from './helpers.js';
import { BIN, ROOT } from './paths.js';

describe.skipIf(!hasGoToolchain)('the watchdog', () => {
  let dir = '';
  let goDriver = '';
  beforeAll(() => {
    mkdirSync(join(ROOT, '.cache'), { recursive: true });
    dir = mkdtempSync(join(ROOT, '.cache', 'watchdog-'));
    goDriver = join(dir, 'userprovider-go');
    execFileSync('sh', [join(ROOT, 'scripts/go-build.sh'), join(ROOT, 'proto')], { cwd: join(ROOT, 'drivers/userprovider/go'), env: { ...process.env, OUT: goDriver }, stdio: 'pipe' });
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a go-plugin Go driver (which never watches its host) is gone after its host is SIGKILLed, ten times in a row', async () => {
    for (let i = 0; i < 10; i++) {
      const { match, child: host, done } = await spawnUntil(process.execPath, [BIN.host, goDriver, 'wait'], /^(.*)\n/);
      const { pid } = JSON.parse(match[1]) as { pid: number };
      recordGroup(pid);
      onTestFinished(() => void (isAlive(pid) && process.kill(-pid, 'SIGKILL')));
      expect(isAlive(pid)).toBe(true);
      host.kill('SIGKILL');
      await done;
      // Before the watchdog this waited forever: go-plugin drivers do not notice.
      await waitFor(() => !isAlive(pid), 5_000, `run ${i + 1}: the Go driver (pid ${pid}) to be gone`);
    }
  }, 120_000);
});
