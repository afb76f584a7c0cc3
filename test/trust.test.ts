// Trust boundaries between host, driver and callers: what a driver or a caller says cannot
// hang the host or take another's name.
import { describe, expect, it, onTestFinished } from 'vitest';
import { DriverkitError, RpcError } from '../src/errors.js';
import { Status } from '../src/status.js';
import { openHost } from '../src/supervise/host.js';
import { fixtureContract } from './fixtures/contract.js';
import { captureLogger, expectRejection, isAlive, useDriver } from './helpers.js';
import { BIN } from './paths.js';

describe('trust boundaries', () => {
  it("a Configure that never answers fails the start at call_timeout, and the driver is stopped", async () => {
    const host = await openHost({
      config: { drivers: { stuck: { type: 'userprovider', driver: BIN.fixture, call_timeout: '300ms', env: { FIXTURE_CONTRACT: 'userprovider', FIXTURE_CONFIGURE: 'hang' } } } },
      logger: captureLogger(),
    });
    onTestFinished(() => host.close());
    const err = await expectRejection(host.driver('stuck'), RpcError);
    expect(err.status).toBe(Status.DEADLINE_EXCEEDED);
    expect(err.method).toBe('/driverkit.userprovider.v1.UserProvider/Configure');
    expect(err.driver).toBe('stuck');
    expect(host.status().stuck.state).toBe('stopped');
    await host.close();
    await expect(host.driver('stuck')).rejects.toBeInstanceOf(DriverkitError);
  });

  it("a caller's log fields cannot change which driver a log line is attributed to", async () => {
    const logger = captureLogger();
    const driver = useDriver({ name: 'users', path: BIN.fixture, contract: fixtureContract, logger });
    await driver.ready;
    await driver.client.getUser({ userId: { opaqueId: 'context' } }, { context: { fields: { driver: 'demo', step: 'forged' } } });
    const line = logger.entries.find((e) => e.message === 'handling');
    expect(line?.fields).toMatchObject({ driver: 'users', step: 'context' });
    expect(isAlive(driver.pid!)).toBe(true);
  });
});
