import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it, onTestFinished } from 'vitest';
import { launchDriver } from '../src/host/driver.js';
import { openHost } from '../src/supervise/host.js';
import { userprovider } from '../src/contracts/userprovider.js';
import { captureLogger, isAlive, waitFor } from './helpers.js';
import { BIN } from './paths.js';

/** Starts the demo driver by hand, as under a debugger, and resolves with its reattach line. */
async function byHand(): Promise<{ line: string; pid: number }> {
  const child = spawn(BIN.demo, ['--driverkit-reattach'], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH } });
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    }
  });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}`)));
  });
  return { line, pid: child.pid! };
}

describe('reattach', () => {
  it('a driver started by hand prints its reattach info; closing leaves it running unless asked', async () => {
    const { line, pid } = await byHand();
    expect(line).toMatch(/^DRIVERKIT_REATTACH=\{"protocol":"grpc","version":1,"network":"unix","address":"[^"]+","pid":\d+\}$/);
    const info = JSON.parse(line.slice(line.indexOf('=') + 1));
    expect(info.pid).toBe(pid);

    const looking = launchDriver({ name: 'debug', path: BIN.demo, contract: userprovider, reattach: line, logger: captureLogger() });
    await looking.ready;
    expect(looking.pid).toBe(pid);
    expect((await looking.client.findUsers({ query: 'marie' })).users).toHaveLength(1);
    await looking.close();
    expect(isAlive(pid)).toBe(true);

    const host = await openHost({ config: { drivers: { users: { type: 'userprovider', driver: BIN.demo, reattach: line, kill_on_close: true } } }, logger: captureLogger() });
    const users = await host.client('users', userprovider);
    expect((await users.findUsers({ query: 'einstein' })).users).toHaveLength(1);
    await host.close();
    await waitFor(() => !isAlive(pid), 3000, 'the reattached driver to be stopped');
    expect(existsSync(info.address)).toBe(false);
  });

  it('bad reattach info is a clear error', async () => {
    const driver = launchDriver({ name: 'debug', path: BIN.demo, contract: userprovider, reattach: '{"version": 1}', logger: captureLogger() });
    const err = await driver.ready.catch((e) => e);
    expect(err.code).toBe('INVALID_OPTIONS');
    expect(err.message).toMatch(/driver "debug" .*reattach info not understood: network must be "unix" or "tcp"/);
  });
});
