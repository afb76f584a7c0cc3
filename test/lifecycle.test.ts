import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { userprovider } from '../src/contracts/userprovider.js';
import { DriverkitError } from '../src/errors.js';
import { launchDriver, startDriver } from '../src/host/driver.js';
import { fixtureContract, hostSpeaking } from './fixtures/contract.js';
import { captureLogger, isAlive, useDriver, waitFor } from './helpers.js';
import { BIN } from './paths.js';

async function startError(p: Promise<unknown>): Promise<DriverkitError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DriverkitError);
  return err as DriverkitError;
}

describe('close()', () => {
  it('exits through Shutdown, quickly, leaving no process and no socket file', async () => {
    const driver = await startDriver({ name: 'demo', path: BIN.demo, contract: userprovider, logger: captureLogger() });
    const socket = driver.handshake!.address;
    expect(existsSync(socket)).toBe(true);
    const t0 = Date.now();
    await driver.close();
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(await driver.exited).toEqual({ code: 0, signal: null });
    expect(isAlive(driver.pid!)).toBe(false);
    expect(existsSync(socket)).toBe(false);
    await driver.close(); // idempotent
    expect(driver.state).toBe('closed');
  });

  it('kills a driver that ignores Shutdown and SIGTERM after grace, then SIGKILL', async () => {
    const driver = useDriver({ name: 'stubborn', path: BIN.fixture, contract: fixtureContract, env: { FIXTURE_MODE: 'stubborn' }, shutdownGrace: 300, killTimeout: 300 });
    await driver.ready;
    const socket = driver.handshake!.address;
    const t0 = Date.now();
    await driver.close();
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(550);
    expect(took).toBeLessThan(3000);
    expect(await driver.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(existsSync(socket), 'socket of a SIGKILLed driver is removed by the host').toBe(false);
    expect(driver.stderrTail).toContain('ignoring SIGTERM');
  });

  it('kills the whole process group, grandchildren included', async () => {
    const logger = captureLogger();
    const driver = useDriver({ name: 'parent', path: BIN.fixture, contract: fixtureContract, env: { FIXTURE_MODE: 'grandchild' }, logger });
    await driver.ready;
    const line = driver.stderrTail.find((l) => l.startsWith('grandchild pid'))!;
    const grandchild = Number(line.split(' ').pop());
    expect(isAlive(grandchild)).toBe(true);
    await driver.close();
    await waitFor(() => !isAlive(grandchild), 2000, 'the grandchild to die');
  });

  it('can be called while the driver is starting: start rejects, nothing remains', async () => {
    const driver = launchDriver({ name: 'slow', path: BIN.fixture, contract: fixtureContract, env: { FIXTURE_MODE: 'silent' }, logger: captureLogger(), killTimeout: 300 });
    await waitFor(() => driver.pid !== undefined, 2000, 'spawn');
    await driver.close();
    const err = await startError(driver.ready);
    expect(err.code).toBe('DRIVER_CLOSED');
    expect(isAlive(driver.pid!)).toBe(false);
  });

  it('can be called before the process even spawned', async () => {
    const driver = launchDriver({ name: 'early', path: BIN.demo, contract: userprovider, logger: captureLogger() });
    await driver.close();
    expect((await startError(driver.ready)).code).toBe('DRIVER_CLOSED');
    if (driver.pid !== undefined) expect(isAlive(driver.pid)).toBe(false);
    // `exited` settles even when no process was ever started.
    expect(await driver.exited).toEqual(driver.pid === undefined ? { code: null, signal: null } : expect.anything());
  });
});

describe('version negotiation end to end', () => {
  it.each([
    { host: [1, 2], driver: '1,2', want: 2 },
    { host: [1], driver: '1,2', want: 1 },
    { host: [2, 3], driver: '1,2', want: 2 },
  ])('host $host, driver $driver -> $want', async ({ host, driver: versions, want }) => {
    const driver = useDriver({ name: 'v', path: BIN.fixture, contract: hostSpeaking(...host), env: { FIXTURE_VERSIONS: versions } });
    await driver.ready;
    expect(driver.version).toBe(want);
    const { user } = await driver.client.getUser({ userId: { opaqueId: 'u' } });
    expect(user?.username).toBe('u');
  });
});

describe('transports', () => {
  it('serves over loopback TCP within the port range', async () => {
    const driver = useDriver({ name: 'tcp', path: BIN.fixture, contract: fixtureContract, env: { FIXTURE_MODE: 'tcp' }, portRange: { min: 23100, max: 23200 } });
    await driver.ready;
    expect(driver.handshake?.network).toBe('tcp');
    const port = Number(driver.handshake!.address.split(':')[1]);
    expect(port).toBeGreaterThanOrEqual(23100);
    expect(port).toBeLessThanOrEqual(23200);
    expect((await driver.client.getUser({ userId: { opaqueId: 'a' } })).user?.username).toBe('a');
  });
});
