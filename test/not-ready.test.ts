// "Not ready" is a state, never a per-call retry: a driver whose start failed is `failed`,
// keeps the error, and is started again only by its restart backoff, whatever its restart
// policy. Calls meanwhile fail fast (UNAVAILABLE through the gateway) naming the driver, its
// state, the last error and what to change; the driver's own Configure status is not
// handed to callers as theirs.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { internalServices } from '../src/contracts/internal.js';
import { userprovider } from '../src/contracts/userprovider.js';
import { HealthCheckResponse_ServingStatus } from '../src/gen/grpc/health/v1/health.js';
import { DriverkitError, RpcError } from '../src/errors.js';
import { startGateway } from '../src/gateway/gateway.js';
import { openHost } from '../src/host/host.js';
import type { SupervisorStatus } from '../src/host/supervisor.js';
import { dial } from '../src/launch/dial.js';
import { createClient } from '../src/rpc/client.js';
import { Status } from '../src/status.js';
import { captureLogger, expectRejection, waitFor } from './helpers.js';
import { BIN } from './paths.js';

const { SERVING, NOT_SERVING } = HealthCheckResponse_ServingStatus;

/** A host whose driver "users" refuses its Configure until `gate` exists. */
async function refusingHost(restart: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'dk-not-ready-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const starts = join(dir, 'starts');
  const gate = join(dir, 'gate');
  const states: SupervisorStatus[] = [];
  const waiters: Array<() => void> = [];
  const host = await openHost({
    config: {
      drivers: {
        users: {
          type: 'userprovider',
          driver: BIN.fixture,
          env: {
            FIXTURE_CONTRACT: 'userprovider',
            FIXTURE_CONFIGURE: 'refuse',
            FIXTURE_GATE: gate,
            FIXTURE_STARTS: starts,
          },
          config: {},
          ...restart,
        },
      },
    },
    logger: captureLogger(),
    onState: (_, s) => {
      states.push(s);
      for (const w of waiters.splice(0)) w();
    },
  });
  /** Resolves when the driver has reached `state` (an event, not a sleep). */
  const reach = (state: SupervisorStatus['state']) =>
    new Promise<void>((resolve) => {
      const check = () => (states.some((s) => s.state === state) ? resolve() : waiters.push(check));
      check();
    });
  onTestFinished(() => host.close());
  const startCount = () =>
    existsSync(starts) ? readFileSync(starts, 'utf8').split('\n').filter(Boolean).length : 0;
  return { host, gate, reach, startCount };
}

describe('a driver whose start failed', () => {
  it('is failed: calls fail fast, start nothing, and say which driver, its state, why and what next', async () => {
    const { host, startCount } = await refusingHost({
      restart_delay: '60s',
      restart_max_delay: '60s',
    });
    // Whoever started it hears the driver's own answer.
    const first = await expectRejection(host.driver('users'), RpcError);
    expect(first.status).toBe(Status.INVALID_ARGUMENT);
    expect(host.status().users).toMatchObject({
      state: 'failed',
      lastError: expect.stringMatching(
        /Configure answered \[INVALID_ARGUMENT\] config key "users"/,
      ),
      nextStartAt: expect.any(Number),
    });
    const gateway = await startGateway(host, '127.0.0.1:0');
    onTestFinished(() => gateway.close());
    const channel = dial({ network: 'tcp', address: gateway.address });
    onTestFinished(() => channel.close());
    const users = createClient(userprovider.versions[1], channel.invoke);
    for (let i = 0; i < 10; i++) {
      const started = performance.now();
      const err = await expectRejection(users.findUsers({ query: 'x' }), RpcError);
      // Fast: not the 60 s until its next start (2 s of slack for a busy machine).
      expect(performance.now() - started).toBeLessThan(2000);
      // UNAVAILABLE: the caller's request was fine; the driver is down.
      expect(err.status).toBe(Status.UNAVAILABLE);
      expect(err.details).toMatch(
        /^driver "users": not serving \(failed\): its last start failed: its Configure answered \[INVALID_ARGUMENT\] config key "users" must be a file path.*; the next start is in \d+\.\d s$/,
      );
    }
    // The library's way in fails as fast, with the same words.
    const started = performance.now();
    const direct = await expectRejection(host.client('users', userprovider), DriverkitError);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(direct.code).toBe('DRIVER_FAILED');
    expect(direct.message).toMatch(/driver "users" .*not serving \(failed\)/);
    expect(startCount()).toBe(1);
  });

  it('is started again by its backoff alone, whatever its restart policy (here "never")', async () => {
    const { host, gate, reach, startCount } = await refusingHost({ restart_delay: '50ms' });
    await expectRejection(host.driver('users'), RpcError);
    writeFileSync(gate, '');
    // No call is made: the backoff brings it up, and then it serves.
    await reach('ready');
    expect(startCount()).toBeGreaterThanOrEqual(2);
    expect(host.status().users).toMatchObject({ state: 'ready' });
    const users = await host.client('users', userprovider);
    expect((await users.findUsers({ query: 'x' })).users).toBeDefined();
  });
});

describe('a driver whose backend is down', () => {
  it('is NOT_SERVING through the gateway, for its name and for "", and status says why', async () => {
    const host = await openHost({
      config: {
        drivers: {
          users: {
            type: 'userprovider',
            driver: BIN.fixture,
            env: { FIXTURE_CONTRACT: 'userprovider', FIXTURE_BACKEND: 'down' },
            config: {},
          },
          demo: { type: 'userprovider', driver: BIN.demo },
        },
      },
      logger: captureLogger(),
    });
    onTestFinished(() => host.close());
    await Promise.all([host.driver('users'), host.driver('demo')]);
    const gateway = await startGateway(host, '127.0.0.1:0');
    onTestFinished(() => gateway.close());
    const channel = dial({ network: 'tcp', address: gateway.address });
    onTestFinished(() => channel.close());
    const health = createClient(internalServices.health, channel.invoke);
    const status = async (service: string) => (await health.check({ service })).status;
    // The host asks each driver's own health every second: its answer is the gateway's.
    await waitFor(
      async () => (await status('users')) === NOT_SERVING,
      10_000,
      'health of "users" to follow its backend',
    );
    expect(await status('')).toBe(NOT_SERVING);
    expect(await status('demo')).toBe(SERVING);
    expect(host.status().users).toMatchObject({ state: 'ready', backend: 'NOT_SERVING' });
    expect(host.status().demo.backend).toBeUndefined();
  });
});
