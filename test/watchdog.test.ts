// The host's watchdog: drivers that watch nothing (a go-plugin Go driver, a driver behind
// a wrapper) are stopped when their host is SIGKILLed, which no exit hook survives.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { hasGoToolchain, isAlive, recordGroup, spawnUntil, waitFor } from './helpers.js';
import { BIN, ROOT } from './paths.js';

const childrenOf = (pid: number) =>
  readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map(Number);
const groupAlive = (pgid: number) => {
  try {
    return process.kill(-pgid, 0);
  } catch {
    return false;
  }
};

describe.skipIf(!hasGoToolchain)('the watchdog', () => {
  let dir = '';
  let goDriver = '';
  beforeAll(() => {
    mkdirSync(join(ROOT, '.cache'), { recursive: true });
    dir = mkdtempSync(join(ROOT, '.cache', 'watchdog-'));
    goDriver = join(dir, 'userprovider-go');
    execFileSync('sh', [join(ROOT, 'scripts/go-build.sh'), join(ROOT, 'proto')], {
      cwd: join(ROOT, 'drivers/userprovider/go'),
      env: { ...process.env, OUT: goDriver },
      stdio: 'pipe',
    });
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a go-plugin Go driver, bare and behind a sh wrapper (neither watches its host), is gone after its host is SIGKILLed, 8 times in a row', async () => {
    // The wrapper runs the Go driver as its child: only the driver's process group ties it to the host.
    const wrapper = join(dir, 'wrapper.sh');
    writeFileSync(wrapper, `#!/bin/sh\n"${goDriver}"\n`, { mode: 0o755 });
    for (let i = 0; i < 8; i++) {
      const {
        match,
        child: host,
        done,
      } = await spawnUntil(
        process.execPath,
        [BIN.host, `${goDriver},${wrapper}`, 'wait'],
        /^(.*)\n/,
      );
      const { pids } = JSON.parse(match[1]) as { pids: number[] };
      const members = pids.flatMap((pid) => [pid, ...childrenOf(pid)]);
      for (const pid of pids) recordGroup(pid);
      onTestFinished(() => pids.forEach((pid) => groupAlive(pid) && process.kill(-pid, 'SIGKILL')));
      expect(members).toHaveLength(3);
      expect(members.every(isAlive)).toBe(true);
      host.kill('SIGKILL');
      await done;
      // Before the watchdog this waited forever: go-plugin drivers do not notice.
      await waitFor(
        () => !members.some(isAlive),
        5_000,
        () => `run ${i + 1}: the drivers (${members.filter(isAlive).join(', ')}) to be gone`,
      );
    }
  }, 120_000);
});
