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
  });
});

describe('start failures are clear and leave nothing running', () => {
  const line = (FIXTURE_LINE: string) => ({ FIXTURE_MODE: 'line', FIXTURE_LINE });
  it.each([
    { name: 'garbage first line', env: line('hello'), code: 'HANDSHAKE_INVALID', message: /handshake line not understood: expected CORE\|APP\|NETWORK\|ADDR\|PROTOCOL\[\|CERT\], got "hello"/ },
    { name: 'core version 2', env: line('2|1|unix|/tmp/x|grpc|'), code: 'CORE_VERSION_MISMATCH', message: /driver speaks 2, host speaks 1/ },
    { name: 'netrpc', env: line('1|1|unix|/tmp/x'), code: 'PROTOCOL_UNSUPPORTED', message: /net\/rpc/ },
    { name: 'app version nobody offered', env: line('1|7|unix|/tmp/x|grpc|'), code: 'VERSION_MISMATCH', message: /host speaks 1, 2 of "fixture", the driver answered 7/ },
    { name: 'multiplexing', env: line('1|1|unix|/tmp/x|grpc||true'), code: 'PROTOCOL_UNSUPPORTED', message: /multiplexed/ },
    { name: 'handshake to a socket nobody listens on', env: line('1|1|unix|/tmp/driverkit-nothing-here|grpc|'), code: 'CONNECT_FAILED', message: /cannot reach its gRPC server/ },
    { name: 'exit before the handshake', env: { FIXTURE_MODE: 'exit-early' }, code: 'EXITED_BEFORE_HANDSHAKE', message: /exit code 3[\s\S]*fatal: cannot open database/ },
  ])('$name', async ({ env, code, message }) => {
    const driver = useDriver({ name: 'bad', path: BIN.fixture, contract: fixtureContract, env, startTimeout: 5000 });
    const err = await startError(driver.ready);
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
    expect(err.message).toContain(`driver "bad" (${BIN.fixture})`);
    await driver.exited;
  });

  it('a driver that never handshakes hits the start timeout, with its stderr', async () => {
    const driver = useDriver({ name: 'mute', path: BIN.fixture, contract: fixtureContract, env: { FIXTURE_MODE: 'silent' }, startTimeout: 500 });
    const err = await startError(driver.ready);
    expect(err.code).toBe('HANDSHAKE_TIMEOUT');
    expect(err.message).toMatch(/within 500 ms/);
    expect(err.stderrTail).toContain('starting up very slowly');
    await driver.exited;
  });

  it('no common app version: the driver answers its lowest and the host says so', async () => {
    const driver = useDriver({ name: 'old', path: BIN.fixture, contract: hostSpeaking(3), env: { FIXTURE_VERSIONS: '1,2' } });
    const err = await startError(driver.ready);
    expect(err.code).toBe('VERSION_MISMATCH');
    expect(err.message).toMatch(/host speaks 3 of "fixture", the driver answered 1/);
  });

  it.each([
    { name: 'missing file', path: '/nonexistent/driver', code: 'DRIVER_NOT_FOUND' },
    { name: 'not executable', path: new URL('../package.json', import.meta.url).pathname, code: 'DRIVER_NOT_EXECUTABLE' },
    { name: 'a directory', path: new URL('.', import.meta.url).pathname, code: 'DRIVER_NOT_EXECUTABLE' },
  ])('$name', async ({ path, code }) => {
    const err = await startError(startDriver({ name: 'nope', path, contract: userprovider, logger: captureLogger() }));
    expect(err.code).toBe(code);
    expect(err.message).toContain(`driver "nope" (${path})`);
  });

  it('bad options are refused, quoting the value', () => {
    expect(() => launchDriver({ name: 'x', path: BIN.demo, contract: userprovider, startTimeout: -1 })).toThrow(/expected `startTimeout` to be a non-negative number of milliseconds, got `-1` \(number\)/);
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
