import { describe, expect, it, onTestFinished } from 'vitest';
import { userprovider } from '../src/contracts/userprovider.js';
import { DriverkitError, RpcError } from '../src/errors.js';
import { openHost } from '../src/host/host.js';
import type { SupervisorStatus } from '../src/host/supervisor.js';
import { Status } from '../src/status.js';
import { captureLogger, expectRejection, isAlive, recordGroup } from './helpers.js';
import { BIN } from './paths.js';

/** A host over one fixture driver under the UserProvider handshake, closed at test end. */
async function hostWith(driver: Record<string, unknown>, env: Record<string, string> = {}) {
  const states: SupervisorStatus['state'][] = [];
  const waiters: Array<() => void> = [];
  const host = await openHost({
    config: {
      drivers: {
        users: {
          type: 'userprovider',
          driver: BIN.fixture,
          env: { FIXTURE_CONTRACT: 'userprovider', ...env },
          config: { answer: 42 },
          ...driver,
        },
      },
    },
    logger: captureLogger(),
    onState: (_, s) => {
      states.push(s.state);
      for (const w of waiters.splice(0)) w();
    },
  });
  const pids = new Set<number>();
  onTestFinished(async () => {
    await host.close();
    for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
  });
  /** Resolves when the driver reaches `state` (an event, not a sleep). */
  const reach = (state: SupervisorStatus['state']) =>
    new Promise<void>((resolve) => {
      const check = () => (states.includes(state) ? resolve() : waiters.push(check));
      check();
    });
  const users = await host.client('users', userprovider);
  const pidNow = async () => {
    const pid = Number(
      (await users.getUser({ userId: { opaqueId: 'config' } }, { timeout: 10_000 })).user!
        .displayName,
    );
    pids.add(pid);
    recordGroup(pid);
    return pid;
  };
  return { host, users, states, reach, pidNow };
}

describe('restart policy', () => {
  it('on-failure: a crash mid-call fails that call clearly; the driver comes back configured', async () => {
    const { host, users, reach, pidNow } = await hostWith({
      restart: 'on-failure',
      restart_delay: '50ms',
    });
    const first = await pidNow();
    const err = await expectRejection(users.getUser({ userId: { opaqueId: 'crash' } }), RpcError);
    expect(err.status).toBe(Status.UNAVAILABLE);
    expect(err.message).toMatch(/exit code 3/);
    await reach('restarting');
    // This call arrives during the restart and waits for the new process.
    const { user } = await users.getUser({ userId: { opaqueId: 'config' } }, { timeout: 10_000 });
    expect(JSON.parse(user!.username)).toEqual({ answer: 42 });
    expect(await pidNow()).not.toBe(first);
    expect(host.status().users).toMatchObject({
      state: 'ready',
      restarts: 1,
      lastExit: { code: 3, signal: null },
    });
  });

  it('a call whose deadline passes during the restart fails clearly', async () => {
    const { users, reach, pidNow } = await hostWith({ restart: 'on-failure', restart_delay: '2s' });
    await pidNow();
    await expectRejection(users.getUser({ userId: { opaqueId: 'crash' } }), RpcError);
    await reach('restarting');
    const err = await expectRejection(
      users.getUser({ userId: { opaqueId: 'x' } }, { timeout: 50 }),
      DriverkitError,
    );
    expect(err.code).toBe('DRIVER_NOT_READY');
    expect(err.message).toMatch(
      /driver "users" .*still restarting when the call's deadline passed/,
    );
  });

  it('a driver that keeps crashing is given up after max_restarts, with a clear state and error', async () => {
    // Each process crashes soon after its Configure: on a busy machine that may be before
    // the host saw it ready, which is a failed start, retried by the same policy.
    let failed!: () => void;
    const given = new Promise<void>((resolve) => (failed = resolve));
    const host = await openHost({
      config: {
        drivers: {
          users: {
            type: 'userprovider',
            driver: BIN.fixture,
            env: { FIXTURE_CONTRACT: 'userprovider', FIXTURE_MODE: 'crash-soon' },
            config: {},
            restart: 'on-failure',
            restart_delay: '20ms',
            max_restarts: 2,
          },
        },
      },
      logger: captureLogger(),
      onState: (_, s) => s.state === 'failed' && failed(),
    });
    onTestFinished(() => host.close());
    host.driver('users').catch(() => {});
    await given;
    expect(host.status().users).toMatchObject({
      state: 'failed',
      restarts: 2,
      lastExit: { code: 5 },
    });
    const err = await expectRejection(host.driver('users'), DriverkitError);
    expect(err.code).toBe('DRIVER_FAILED');
    expect(err.message).toMatch(/driver "users" .*given up after 2 restarts.*\(exit code 5\)/);
  });

  it('never (the default): a crashed driver stays down and calls say so', async () => {
    const { users, reach, pidNow } = await hostWith({});
    await pidNow();
    await expectRejection(users.getUser({ userId: { opaqueId: 'crash' } }), RpcError);
    await reach('exited');
    const err = await expectRejection(users.findUsers({ query: 'x' }), DriverkitError);
    expect(err.code).toBe('DRIVER_FAILED');
    expect(err.message).toMatch(
      /driver "users" .*exited on its own and its restart policy is "never"; set restart = "on-failure" in \[drivers.users\] to have it restarted \(exit code 3\)/,
    );
  });
});
