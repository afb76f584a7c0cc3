// A connection that stops making progress is found by PING, not left "SERVING" while every
// call on it hangs: its calls fail fast with UNAVAILABLE, the driver is killed, and a
// supervisor restarts it by policy. A stopped process (SIGSTOP) reads nothing and answers
// no PING, as a deadlocked peer did.
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { generateIdentity } from '../src/protocol/mtls.js';
import { dial } from '../src/transport/client.js';
import { userprovider } from '../src/contracts/userprovider.js';
import { RpcError } from '../src/errors.js';
import { Status } from '../src/status.js';
import { openHost } from '../src/host/host.js';
import { fixtureContract } from './fixtures/contract.js';
import { launchDriver } from '../src/launch/driver.js';
import {
  captureLogger,
  expectRejection,
  isAlive,
  recordGroup,
  spawnUntil,
  useDriver,
  waitFor,
} from './helpers.js';
import { BIN } from './paths.js';

const KEEPALIVE = { intervalMs: 200, timeoutMs: 1_500 };

describe('a stalled connection', () => {
  it('fails its calls with UNAVAILABLE long before their deadline and kills the driver', async () => {
    const logger = captureLogger();
    const driver = useDriver({
      name: 'stalls',
      path: BIN.fixture,
      contract: fixtureContract,
      keepalive: KEEPALIVE,
      logger,
    });
    await driver.ready;
    process.kill(driver.pid!, 'SIGSTOP');
    const started = Date.now();
    const err = await expectRejection(
      driver.client.getUser({ userId: { opaqueId: 'x' } }, { timeout: 60_000 }),
      RpcError,
    );
    expect(err.status).toBe(Status.UNAVAILABLE);
    expect(err.details).toMatch(/answered no HTTP\/2 PING for 1500 ms/);
    expect(Date.now() - started).toBeLessThan(30_000);
    const exit = await driver.exited;
    expect(exit.signal).toBe('SIGKILL');
    expect(logger.entries.some((e) => e.message === 'driver stalled; killing it')).toBe(true);
  });

  it('is found as soon on a quiet connection, where another PING would be a strike', async () => {
    const logger = captureLogger();
    const driver = useDriver({
      name: 'quiet',
      path: BIN.fixture,
      contract: fixtureContract,
      keepalive: KEEPALIVE,
      logger,
    });
    await driver.ready;
    await driver.client.getUser({ userId: { opaqueId: 'x' } });
    // The condition under test is time itself: quiet past a PING and its ack, after which a
    // grpc-go peer counts another PING within 5 minutes as a strike.
    await new Promise((resolve) => setTimeout(resolve, 4 * KEEPALIVE.intervalMs));
    process.kill(driver.pid!, 'SIGSTOP');
    const stopped = Date.now();
    const exit = await driver.exited;
    expect(exit.signal).toBe('SIGKILL');
    // interval + timeout, and room for a busy machine; the old watch waited 5 minutes.
    expect(Date.now() - stopped).toBeLessThan(KEEPALIVE.intervalMs + KEEPALIVE.timeoutMs + 5000);
    expect(
      logger.entries.find((e) => e.message === 'driver stalled; killing it')?.fields,
    ).toMatchObject({
      reason: expect.stringMatching(/answered no (health check|HTTP\/2 PING) for 1500 ms/),
    });
  });

  it('is restarted by policy: the next call reaches a new process', async () => {
    const host = await openHost({
      config: {
        drivers: {
          users: {
            type: 'userprovider',
            driver: BIN.fixture,
            env: { FIXTURE_CONTRACT: 'userprovider' },
            config: {},
            restart: 'on-failure',
            restart_delay: '10ms',
            ping_interval: `${KEEPALIVE.intervalMs}ms`,
            ping_timeout: `${KEEPALIVE.timeoutMs}ms`,
          },
        },
      },
      logger: captureLogger(),
    });
    const pids: number[] = [];
    onTestFinished(async () => {
      await host.close();
      for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
    });
    const users = await host.client('users', userprovider);
    const pid = async () => {
      const res = await users.getUser({ userId: { opaqueId: 'config' } }, { timeout: 20_000 });
      const p = Number(res.user!.displayName);
      pids.push(p);
      recordGroup(p);
      return p;
    };
    const first = await pid();
    process.kill(first, 'SIGSTOP');
    const err = await expectRejection(
      users.getUser({ userId: { opaqueId: 'x' } }, { timeout: 60_000 }),
      RpcError,
    );
    expect(err.status).toBe(Status.UNAVAILABLE);
    // The next call waits through the restart and reaches the new process.
    expect(await pid()).not.toBe(first);
  });
});

describe('a connection that never finishes connecting', () => {
  it('a TLS handshake the peer never answers ends its calls, even one with no deadline', async () => {
    // Accepts, reads, says nothing: a TLS client waits for its ServerHello forever.
    const silent = createServer((socket) => socket.resume());
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const open = new Set<Socket>();
    silent.on('connection', (s) => open.add(s));
    onTestFinished(() => {
      silent.close();
      for (const s of open) s.destroy();
    });
    const port = (silent.address() as AddressInfo).port;
    const [ours, theirs] = await Promise.all([generateIdentity(), generateIdentity()]);
    const stalls: string[] = [];
    const channel = dial(
      { network: 'tcp', address: `127.0.0.1:${port}` },
      {
        tls: { certPem: ours.certPem, keyPem: ours.keyPem, peerCertPem: theirs.certPem },
        keepalive: { intervalMs: 100, timeoutMs: 300 },
        onStall: (reason) => stalls.push(reason),
      },
    );
    onTestFinished(() => channel.close());
    const err = (await channel
      .invoke({
        path: '/x.Y/Z',
        request: Buffer.alloc(0),
        serialize: (b: unknown) => b as Buffer,
        deserialize: (b: Buffer) => b,
        options: {},
        requestStream: false,
        responseStream: true,
      })
      .then(async (stream) => {
        for await (const _ of stream as AsyncIterable<unknown>);
      })
      .catch((e) => e)) as { code?: number; details?: string };
    expect(err.code).toBe(Status.UNAVAILABLE);
    expect(stalls).toEqual([expect.stringMatching(/did not finish connecting in \d+ ms$/)]);
  });
});

describe('a reattached driver whose connection stalled', () => {
  it('is reconnected, not killed, and its stdout comes over the new connection', async () => {
    const { match, child } = await spawnUntil(BIN.fixture, ['--driverkit-reattach'], /^(.*)\n/, {
      env: { PATH: process.env.PATH, FIXTURE_CONTRACT: 'userprovider' },
    });
    const logger = captureLogger();
    const stdout: string[] = [];
    const driver = launchDriver({
      name: 'attached',
      path: BIN.fixture,
      contract: userprovider,
      reattach: match[1],
      keepalive: { intervalMs: 100, timeoutMs: 300 },
      stdout: (chunk) => stdout.push(chunk.toString()),
      logger,
    });
    onTestFinished(() => driver.close());
    await driver.ready;
    process.kill(child.pid!, 'SIGSTOP');
    onTestFinished(() => void process.kill(child.pid!, 'SIGCONT'));
    await waitFor(
      () => logger.entries.some((e) => e.message === 'driver stalled; reconnecting'),
      20_000,
      'the stall to be seen',
    );
    process.kill(child.pid!, 'SIGCONT');
    // The next call opens the new connection; the driver's stdout then comes over it.
    await driver.client.getUser({ userId: { opaqueId: 'stdout' } });
    await waitFor(
      () => stdout.join('').includes('after the handshake'),
      20_000,
      'stdout over the new connection',
    );
    expect(isAlive(child.pid!)).toBe(true);
  });
});
