// Replicas of a driver run as a service, under 64 concurrent calls: balanced, a replica
// killed, drained, restarted one by one or hung, and the calls go on.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { methodPath } from '../src/contracts/contract.js';
import { userprovider } from '../src/contracts/userprovider.js';
import { serveHealth } from '../src/driver/services.js';
import { DriverkitError } from '../src/errors.js';
import { launchDriver } from '../src/launch/driver.js';
import { GrpcServer } from '../src/transport/server.js';
import type { DriverOptions } from '../src/launch/options.js';
import { counter } from './fixtures/gen/contracts/counter.js';
import { fixtureContract } from './fixtures/contract.js';
import {
  captureLogger,
  expectRejection,
  load,
  requestQueue,
  spawnUntil,
  waitFor,
} from './helpers.js';
import { BIN } from './paths.js';

/** `n` replicas of `bin` as services on unix sockets of fixed paths; `restart(i)` starts one anew at its path. */
async function replicas(bin: string, n: number) {
  const dir = mkdtempSync(join(tmpdir(), 'dk-rep-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const paths = Array.from({ length: n }, (_, i) => join(dir, `r${i}.sock`));
  const start = (i: number) =>
    spawnUntil(bin, [], /serving as a service/, {
      on: 'stderr',
      env: { PATH: process.env.PATH, DRIVERKIT_LISTEN: `unix://${paths[i]}` },
    });
  const procs = await Promise.all(paths.map((_, i) => start(i)));
  return {
    addresses: paths.map((p) => `unix://${p}`),
    procs,
    restart: async (i: number) => (procs[i] = await start(i)),
  };
}

function dial<C extends DriverOptions['contract']>(contract: C, address: string[]) {
  const driver = launchDriver({
    name: 'svc',
    path: 'replicas',
    contract,
    address,
    logger: captureLogger(),
  });
  onTestFinished(() => driver.close());
  return driver;
}

describe('replicas of a service', () => {
  it('balances calls over every replica; SIGKILL of one fails no idempotent call', async () => {
    const set = await replicas(BIN.fixture, 3);
    const driver = dial(fixtureContract, set.addresses);
    await driver.ready;
    const pids = new Map<string, number>();
    const calls = load(async () => {
      const { user } = await driver.client.getUser({ userId: { opaqueId: 'config' } });
      pids.set(user!.displayName, (pids.get(user!.displayName) ?? 0) + 1);
    });
    await calls.more(600);
    expect([...pids.keys()].sort()).toEqual(set.procs.map((p) => String(p.child.pid)).sort());
    for (const n of pids.values()) expect(n).toBeGreaterThan(60);

    set.procs[0].child.kill('SIGKILL');
    await waitFor(() => driver.replicas![0].state === 'ejected', 5000, 'replica 0 ejected');
    await calls.more(600);
    const { failures } = await calls.stop();
    expect(failures.map((e) => e.message)).toEqual([]);
  });

  it('SIGTERM of one replica, then a rolling restart of all three: no call fails', async () => {
    const set = await replicas(BIN.counter, 3);
    const driver = dial(counter, set.addresses);
    await driver.ready;
    // `add` is not idempotent: only calls a replica never saw are sent again.
    const calls = load(() => driver.client.add({ value: '1' }));
    await calls.more(300);
    for (const i of [0, 1, 2]) {
      const { done } = set.procs[i];
      set.procs[i].child.kill('SIGTERM');
      expect((await done).code).toBe(0);
      await calls.more(200);
      await set.restart(i);
      await waitFor(() => driver.replicas![i].state === 'ready', 5000, `replica ${i} ready again`);
      await calls.more(200);
    }
    const { failures } = await calls.stop();
    expect(failures.map((e) => e.message)).toEqual([]);
  });

  it('a call that is not idempotent, in flight on a replica SIGKILLed, fails with UNAVAILABLE: it is never sent twice', async () => {
    const set = await replicas(BIN.counter, 3);
    const driver = dial(counter, set.addresses);
    await driver.ready;
    // 64 callers keep about 21 `add` calls in flight on each replica.
    const calls = load(() => driver.client.add({ value: '1' }));
    await calls.more(300);
    set.procs[0].child.kill('SIGKILL');
    await waitFor(() => driver.replicas![0].state === 'ejected', 5000, 'replica 0 ejected');
    await calls.more(300);
    const { failures } = await calls.stop();
    // Idempotent, these would have gone to another replica (see the first test); these may
    // have run, so they fail instead, each naming the broken connection.
    expect(failures.length).toBeGreaterThan(0);
    for (const e of failures) expect(e.message).toMatch(/\[UNAVAILABLE\]/);
  });

  it('a health check missed once ejects nothing and cuts no open stream', async () => {
    const set = await replicas(BIN.counter, 1);
    const driver = dial(counter, set.addresses);
    await driver.ready;
    const streams = Array.from({ length: 50 }, () => {
      const { requests, send } = requestQueue<{ i: number }>();
      return { send, replies: driver.client.echo(requests)[Symbol.asyncIterator]() };
    });
    onTestFinished(() => void streams.map((s) => s.replies.return?.()));
    await Promise.all(
      streams.map(async (s, i) => {
        s.send({ i });
        expect((await s.replies.next()).value).toMatchObject({ i });
      }),
    );
    // A replica too busy to answer for 1.8 s (a check every 500 ms, 1 s to answer): one check
    // missed, as on a loaded machine. It used to eject the replica and replace its connection.
    const { child } = set.procs[0];
    onTestFinished(() => void child.kill('SIGCONT'));
    child.kill('SIGSTOP');
    await new Promise((resolve) => setTimeout(resolve, 1800));
    child.kill('SIGCONT');
    for (const [i, s] of streams.entries()) {
      s.send({ i: i + 5000 });
      expect((await s.replies.next()).value).toMatchObject({ i: i + 5000 });
    }
    expect(driver.replicas![0].state).toBe('ready');
  });

  it('a hung replica (SIGSTOP) is ejected after three missed checks and no idempotent call fails; it comes back on SIGCONT', async () => {
    const set = await replicas(BIN.fixture, 3);
    const driver = dial(fixtureContract, set.addresses);
    await driver.ready;
    const calls = load(() =>
      driver.client.getUser({ userId: { opaqueId: 'config' } }, { timeout: 20_000 }),
    );
    await calls.more(300);
    const stopped = set.procs[1].child;
    onTestFinished(() => void stopped.kill('SIGCONT'));
    stopped.kill('SIGSTOP');
    const at = Date.now();
    await waitFor(() => driver.replicas![1].state === 'ejected', 8000, 'replica 1 ejected');
    // Three checks unanswered in a row, 1 s each: one late answer must not eject.
    expect(Date.now() - at).toBeLessThan(6000);
    await calls.more(300);
    stopped.kill('SIGCONT');
    await waitFor(() => driver.replicas![1].state === 'ready', 5000, 'replica 1 ready again');
    const { failures } = await calls.stop();
    expect(failures.map((e) => e.message)).toEqual([]);
  });
});

describe('a replica that does not say what it is', () => {
  /** A server with health and GetUser but no DriverInfo (a plain go-plugin service, or an impostor); counts its calls. */
  async function unverified() {
    const dir = mkdtempSync(join(tmpdir(), 'dk-rep-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const server = new GrpcServer();
    serveHealth(server, []);
    let calls = 0;
    const getUser = userprovider.versions[1].methods.getUser;
    server.unary(
      methodPath(userprovider.versions[1], getUser),
      { request: getUser.requestType, response: getUser.responseType },
      (request, _call, done) => {
        calls++;
        done(null, { user: { id: request.userId?.opaqueId, username: 'taken' } });
      },
    );
    const path = join(dir, 'impostor.sock');
    await server.listen({ path });
    onTestFinished(() => server.close());
    return { address: `unix://${path}`, calls: () => calls };
  }

  it('is refused, and sent no call, unless allowUnverifiedType takes it on trust', async () => {
    const impostor = await unverified();
    const refused = launchDriver({
      name: 'svc',
      path: 'replicas',
      contract: userprovider,
      address: [impostor.address],
      logger: captureLogger(),
    });
    onTestFinished(() => refused.close());
    const err = await expectRejection(refused.ready, DriverkitError);
    expect(err.code).toBe('DRIVER_INCOMPATIBLE');
    expect(err.message).toMatch(/answers no DriverInfo.*allow_unverified_type/);
    // No client to call it with, and no call went its way.
    expect(() => refused.client).toThrow(DriverkitError);
    expect(impostor.calls()).toBe(0);

    const trusted = launchDriver({
      name: 'svc',
      path: 'replicas',
      contract: userprovider,
      address: [impostor.address],
      allowUnverifiedType: true,
      logger: captureLogger(),
    });
    onTestFinished(() => trusted.close());
    await trusted.ready;
    expect((await trusted.client.getUser({ userId: { opaqueId: 'x' } })).user?.username).toBe(
      'taken',
    );
    expect(impostor.calls()).toBe(1);
  });
});
