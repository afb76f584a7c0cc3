import { existsSync } from 'node:fs';
import { describe, expect, it, onTestFinished } from 'vitest';
import { AuditLogDefinition } from '../src/gen/driverkit/audit/v1/audit.js';
import { DriverkitError } from '../src/errors.js';
import { launchDriver } from '../src/launch/driver.js';
import { openHost } from '../src/host/host.js';
import { userprovider } from '../src/contracts/userprovider.js';
import { captureLogger, expectRejection, isAlive, spawnUntil, waitFor } from './helpers.js';
import { fixtureContract } from './fixtures/contract.js';
import { BIN } from './paths.js';

/** Starts the demo driver by hand, as under a debugger, and resolves with its reattach line; killed at test end. */
async function byHand(path = BIN.demo): Promise<{ line: string; pid: number }> {
  const { match, child } = await spawnUntil(path, ['--driverkit-reattach'], /^(.*)\n/, {
    env: { PATH: process.env.PATH },
  });
  return { line: match[1], pid: child.pid! };
}

describe('reattach', () => {
  it('a driver started by hand prints its reattach info; closing leaves it running unless asked', async () => {
    const { line, pid } = await byHand();
    expect(line).toMatch(
      /^DRIVERKIT_REATTACH=\{"protocol":"grpc","version":1,"network":"unix","address":"[^"]+","pid":\d+\}$/,
    );
    const info = JSON.parse(line.slice(line.indexOf('=') + 1));
    expect(info.pid).toBe(pid);

    const looking = launchDriver({
      name: 'debug',
      path: BIN.demo,
      contract: userprovider,
      reattach: line,
      logger: captureLogger(),
    });
    await looking.ready;
    expect(looking.pid).toBe(pid);
    expect((await looking.client.findUsers({ query: 'marie' })).users).toHaveLength(1);
    await looking.close();
    expect(isAlive(pid)).toBe(true);

    const host = await openHost({
      config: {
        drivers: {
          users: { type: 'userprovider', driver: BIN.demo, reattach: line, kill_on_close: true },
        },
      },
      logger: captureLogger(),
    });
    const users = await host.client('users', userprovider);
    expect((await users.findUsers({ query: 'einstein' })).users).toHaveLength(1);
    await host.close();
    await waitFor(() => !isAlive(pid), 10_000, 'the reattached driver to be stopped');
    expect(existsSync(info.address)).toBe(false);
  });

  it('each reattached host has its own broker ids: a second host never reaches the first one’s helpers', async () => {
    const { line } = await byHand(BIN.fixture);
    const attach = async (events: string[]) => {
      const driver = launchDriver({
        name: 'debug',
        path: BIN.fixture,
        contract: fixtureContract,
        reattach: line,
        logger: captureLogger(),
      });
      onTestFinished(() => driver.close());
      await driver.ready;
      // Each host numbers its offers from 1, as go-plugin does.
      const id = await driver.broker.offer(AuditLogDefinition, {
        record: (req) => {
          events.push(req.event);
          return { count: String(events.length) };
        },
      });
      expect(id).toBe(1);
      return driver;
    };
    const audited = async (driver: Awaited<ReturnType<typeof attach>>) => {
      await driver.client.configure({ config: { audit: 1 } });
      return (await driver.client.getUser({ userId: { opaqueId: 'audit' } })).user?.username;
    };
    const [first, second]: string[][] = [[], []];
    const a = await attach(first);
    expect(await audited(a)).toBe('audited:1');
    const b = await attach(second);
    expect(await audited(b)).toBe('audited:1');
    expect(await audited(a)).toBe('audited:2');
    expect([first.length, second.length]).toEqual([2, 1]);
    // The first host gone (its helper's socket with it), the second's calls still find its own.
    await a.close();
    expect(await audited(b)).toBe('audited:2');
    expect([first.length, second.length]).toEqual([2, 2]);
  });

  it('bad reattach info is a clear error', async () => {
    const driver = launchDriver({
      name: 'debug',
      path: BIN.demo,
      contract: userprovider,
      reattach: '{"version": 1}',
      logger: captureLogger(),
    });
    const err = await expectRejection(driver.ready, DriverkitError);
    expect(err.code).toBe('INVALID_OPTIONS');
    expect(err.message).toMatch(
      /driver "debug" .*reattach info not understood: network must be "unix" or "tcp"/,
    );
  });
});
