// Signals go only to processes known to be ours. A pid (and so a process group id) is
// free for anyone once its process is reaped; here the test makes the system hand a dead
// driver's number to an unrelated process (through /proc/sys/kernel/ns_last_pid, root
// only: skipped elsewhere), then closes the driver, and that process must live on.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it, onTestFinished } from 'vitest';
import { userprovider } from '../src/contracts/userprovider.js';
import { launchDriver } from '../src/launch/driver.js';
import type { DriverOptions } from '../src/launch/options.js';
import { captureLogger, isAlive, recordGroup, spawnUntil, useDriver, waitFor } from './helpers.js';
import { BIN } from './paths.js';

const NS_LAST_PID = '/proc/sys/kernel/ns_last_pid';
const canPlacePids = (() => {
  try {
    writeFileSync(NS_LAST_PID, readFileSync(NS_LAST_PID));
    return true;
  } catch {
    return false;
  }
})();

/**
 * An unrelated process (a `sleep` leading its own group, as a daemon would) given `pid`, or
 * undefined when another process or thread on this busy machine took the number first.
 */
function squatPid(pid: number): ChildProcess | undefined {
  for (let attempt = 0; attempt < 20 && !isAlive(pid); attempt++) {
    writeFileSync(NS_LAST_PID, String(pid - 1));
    const child = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
    onTestFinished(() => void (child.exitCode === null && child.kill('SIGKILL')));
    if (child.pid === pid) return child;
    child.kill('SIGKILL');
  }
  return undefined;
}

/** Runs `scenario` (which returns its squatter, if it placed one) until one places it. */
async function withSquatter(
  scenario: () => Promise<{ squatter?: ChildProcess; close: () => Promise<void> }>,
): Promise<void> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const { squatter, close } = await scenario();
    if (!squatter) continue;
    await close();
    return expectUntouched(squatter);
  }
  throw new Error("10 times, another process took the dead driver's pid first");
}

/**
 * The squatter was never signalled: ended now by SIGHUP (which driverkit never sends), it
 * reports SIGHUP; a SIGTERM or SIGKILL sent before would have decided its end already.
 */
async function expectUntouched(squatter: ChildProcess): Promise<void> {
  const exit = once(squatter, 'exit');
  squatter.kill('SIGHUP');
  await exit;
  expect(squatter.signalCode).toBe('SIGHUP');
}

/** A driver closed when the test ends; unlike useDriver, its pid may be another's by then. */
function driverOf(options: Omit<DriverOptions<typeof userprovider>, 'logger' | 'contract'>) {
  const driver = launchDriver({ ...options, contract: userprovider, logger: captureLogger() });
  onTestFinished(() => driver.close());
  return driver;
}

describe('a driver that dies', () => {
  it('takes its process group with it at once, before any close', async () => {
    const driver = useDriver({
      name: 'parent',
      path: BIN.fixture,
      contract: userprovider,
      env: { FIXTURE_CONTRACT: 'userprovider', FIXTURE_MODE: 'grandchild' },
    });
    await driver.ready;
    const line = () => driver.stderrTail.find((l) => l.includes('grandchild pid'));
    await waitFor(() => line() !== undefined, 10_000, 'the grandchild pid on stderr');
    const grandchild = Number(line()?.match(/grandchild pid (\d+)/)?.[1]);
    expect(isAlive(grandchild)).toBe(true);
    process.kill(driver.pid!, 'SIGKILL');
    await driver.exited;
    await waitFor(() => !isAlive(grandchild), 10_000, 'the grandchild to be killed');
  });
});

describe.skipIf(!canPlacePids)('signals after a driver is gone', () => {
  it('closing a driver that died signals nothing, even once its pid is reused', async () => {
    await withSquatter(async () => {
      const driver = driverOf({ name: 'crashes', path: BIN.demo });
      await driver.ready;
      const pid = driver.pid!;
      recordGroup(pid);
      process.kill(pid, 'SIGKILL');
      await driver.exited;
      return { squatter: squatPid(pid), close: () => driver.close() };
    });
  });

  it('a reattached driver whose pid now names another process is not signalled', async () => {
    await withSquatter(async () => {
      const { match, child } = await spawnUntil(BIN.demo, ['--driverkit-reattach'], /^(.*)\n/, {
        env: { PATH: process.env.PATH },
      });
      const driver = driverOf({
        name: 'attached',
        path: BIN.demo,
        reattach: match[1],
        killOnClose: true,
        shutdownGrace: 200,
        killTimeout: 200,
      });
      await driver.ready;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
      return { squatter: squatPid(child.pid!), close: () => driver.close() };
    });
  });
});
