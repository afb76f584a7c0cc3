// Hot reload in the library: host.replace() swaps a source driver's new build in beside the
// old one without a failed call, a broken edit leaves the old one serving, and
// host.reload() applies a new config driver by driver.
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { configFromObject } from '../src/config/load.js';
import { DriverHost, openHost } from '../src/host/host.js';
import { counter } from './fixtures/gen/contracts/counter.js';
import {
  captureLogger,
  collect,
  expectRejection,
  hasGoToolchain,
  isAlive,
  load,
  waitFor,
} from './helpers.js';
import { counterProject, type Edit, processesOf } from './hot-reload.js';
import { BIN, ROOT } from './paths.js';

type Counter = {
  add(r: { value: string }): Promise<{ total: string; count: string }>;
  count(r: { n: number; size: number }): AsyncIterable<{ i: number; payload: Uint8Array }>;
};

async function sourceHost(drain = '1s') {
  const project = counterProject();
  const logger = captureLogger();
  const host = await openHost({
    config: {
      bin_dir: 'bin',
      drivers: { c: { type: 'counter', driver: './counter', drain_timeout: drain } },
    },
    dir: project.dir,
    contracts: [counter],
    logger,
  });
  onTestFinished(() => host.close());
  const client = (await host.client('c', counter)) as unknown as Counter;
  const binary = join(project.dir, 'bin', 'counter', 'counter');
  return { ...project, host, client, logger, binary };
}

const generation = async (c: Counter) => Number((await c.add({ value: '1' })).total);

describe('host.replace()', () => {
  it('swaps in the edited build under 64 concurrent calls and open streams: no call fails, the old process drains and exits', async () => {
    const { host, client, edit, binary } = await sourceHost('2s');
    expect(await generation(client)).toBe(1);
    const oldPid = host.status().c.pid!;
    let newest = 1;
    const calls = load(async () => {
      newest = Math.max(newest, await generation(client));
    });
    // A stream of 20 ticks opened on the old process ends there, OK, after the swap.
    const finite = collect(client.count({ n: 20, size: 1024 }));
    await calls.more(200);
    edit(2);
    await host.replace('c');
    await calls.more(200);
    const result = await calls.stop();
    expect(result.failures).toEqual([]);
    expect(newest).toBe(2);
    expect(await generation(client)).toBe(2);
    expect((await finite).map((t) => t.i)).toEqual([...Array(20).keys()]);
    const newPid = host.status().c.pid!;
    expect(newPid).not.toBe(oldPid);
    await waitFor(() => processesOf(binary).length === 1, 10_000, 'the old process to exit');
    expect(processesOf(binary)).toEqual([newPid]);
  }, 60_000);

  it('ends a stream still open on the old process after drain_timeout as UNAVAILABLE "ended by a reload"', async () => {
    const { host, client, edit } = await sourceHost('300ms');
    const endless = client.count({ n: 0, size: 16 })[Symbol.asyncIterator]();
    expect((await endless.next()).done).toBe(false);
    edit(2);
    await host.replace('c');
    const err = await expectRejection(
      (async () => {
        for (;;) if ((await endless.next()).done) return;
      })(),
    );
    expect(err.message).toMatch(
      /\[UNAVAILABLE\] ended by a reload: driver "c" was replaced; call again to reach its new process \(its old process, pid \d+, closed after drain_timeout, 300 ms\)/,
    );
    expect(await generation(client)).toBe(2);
  }, 60_000);

  it.each<[Edit, string, RegExp]>([
    ['syntax-error', 'BUILD_FAILED', /node build failed/],
    ['exits-at-start', 'EXITED_BEFORE_HANDSHAKE', /generation 2 refuses to start/],
    // The SDK checks the magic cookie of the type it serves, as go-plugin does.
    ['wrong-type', 'EXITED_BEFORE_HANDSHAKE', /This binary is a plugin/],
  ])(
    'a broken edit (%s) fails with %s and the old process keeps serving',
    async (how, code, said) => {
      const { host, client, edit, binary } = await sourceHost();
      const oldPid = host.status().c.pid!;
      edit(2, how);
      const err = await expectRejection(host.replace('c'));
      expect((err as { code?: string }).code).toBe(code);
      expect(err.message).toMatch(said);
      expect(host.status().c).toMatchObject({ state: 'ready', pid: oldPid });
      expect(await generation(client)).toBe(1);
      // The failed start left nothing running; a good edit then swaps as usual.
      if (how !== 'syntax-error') expect(processesOf(binary)).toEqual([oldPid]);
      edit(3);
      await host.replace('c');
      expect(await generation(client)).toBe(3);
    },
    60_000,
  );

  it('a newer replace cancels one still starting (RELOAD_CANCELLED); the newer one serves', async () => {
    const { host, client, edit } = await sourceHost();
    edit(2);
    const older = host.replace('c');
    edit(3);
    const newer = host.replace('c');
    const err = await expectRejection(older);
    expect((err as { code?: string }).code).toBe('RELOAD_CANCELLED');
    await newer;
    expect(await generation(client)).toBe(3);
  }, 60_000);
});

describe('cancelling a swap mid-build', () => {
  /** A source driver whose build command waits for `GO` to exist, then copies the counter driver. */
  async function slowBuildHost() {
    const { dir, folder } = counterProject();
    const go = join(dir, 'GO');
    writeFileSync(go, '');
    writeFileSync(
      join(folder, 'driverkit.json'),
      JSON.stringify({
        type: 'counter',
        version: '0.1.0',
        driverkit: '^0.1.0',
        build: `while [ ! -e ${go} ]; do sleep 0.02; done; cp ${BIN.counter} "$OUT"`,
      }),
    );
    const builds: string[] = [];
    const host = await openHost({
      config: { bin_dir: 'bin', drivers: { c: { type: 'counter', driver: './counter' } } },
      dir,
      contracts: [counter],
      logger: captureLogger(),
      onBuild: (e) => builds.push(e.name),
    });
    onTestFinished(() => host.close());
    await host.driver('c');
    // From now on a build waits until the test says GO.
    rmSync(go);
    const touch = (gen: number) => writeFileSync(join(folder, 'main.ts'), `// ${gen}\n`);
    const waiting = () =>
      processesOf(`while [ ! -e ${go} ]; do sleep 0.02; done; cp ${BIN.counter} "$OUT"`);
    return { host, go, builds, touch, waiting, binary: join(dir, 'bin', 'counter', 'counter') };
  }

  it('a newer replace stops the older build (its tool is killed) and then builds and swaps', async () => {
    const { host, go, builds, touch, waiting } = await slowBuildHost();
    const before = host.status().c.pid;
    touch(2);
    const older = host.replace('c');
    await waitFor(() => builds.length === 2 && waiting().length > 0, 10_000, 'the build to start');
    const olderBuild = waiting();
    touch(3);
    const newer = host.replace('c');
    const err = await expectRejection(older);
    expect((err as { code?: string }).code).toBe('RELOAD_CANCELLED');
    expect(err.message).toMatch(/a newer reload replaced this one before it was ready/);
    await waitFor(() => olderBuild.every((p) => !isAlive(p)), 10_000, 'the older build to die');
    writeFileSync(go, '');
    await newer;
    expect(host.status().c.pid).not.toBe(before);
    expect(host.status().c.state).toBe('ready');
  }, 60_000);

  it('close() during a swap kills the build and leaves no process', async () => {
    const { host, builds, touch, waiting, binary } = await slowBuildHost();
    touch(2);
    // Its rejection is awaited from the start: it comes during close().
    const swap = expectRejection(host.replace('c'));
    await waitFor(() => builds.length === 2 && waiting().length > 0, 10_000, 'the build to start');
    await host.close();
    const err = await swap;
    expect((err as { code?: string }).code).toBe('DRIVER_CLOSED');
    expect(waiting()).toEqual([]);
    expect(processesOf(binary)).toEqual([]);
  }, 60_000);
});

describe('host.reload()', () => {
  it('starts added drivers, drains removed ones, swaps changed ones and leaves the rest alone', async () => {
    const dir = counterProject().dir;
    const entry = (env: Record<string, string> = {}) => ({
      type: 'counter',
      driver: BIN.counter,
      env,
    });
    const config = (drivers: Record<string, unknown>) =>
      configFromObject({ drivers }, dir, [counter]);
    const host = new DriverHost(await config({ a: entry(), b: entry(), c: entry() }), {
      logger: captureLogger(),
    });
    onTestFinished(() => host.close());
    await host.startAll();
    const pids = Object.fromEntries(Object.entries(host.status()).map(([n, s]) => [n, s.pid]));
    const report = await host.reload(
      await config({ a: entry(), c: entry({ CHANGED: '1' }), d: entry() }),
    );
    expect(report).toMatchObject({
      added: ['d'],
      removed: ['b'],
      changed: ['c'],
      unchanged: ['a'],
      failed: [],
      needsRestart: [],
    });
    const status = host.status();
    expect(Object.keys(status)).toEqual(['a', 'c', 'd']);
    expect(status.a.pid).toBe(pids.a);
    expect(status.c.pid).not.toBe(pids.c);
    expect(status.d.state).toBe('ready');
    await waitFor(() => !processesOf(BIN.counter).includes(pids.b!), 10_000, 'b to stop');
    const d = (await host.client('d', counter)) as unknown as Counter;
    expect((await d.add({ value: '5' })).total).toBe('5');
    const gone = await expectRejection(host.driver('b'));
    expect((gone as { code?: string }).code).toBe('UNKNOWN_DRIVER');
    // A changed driver that cannot start keeps its process and its entry; a later reload retries.
    const cPid = host.status().c.pid;
    const notExecutable = join(dir, 'not-executable');
    writeFileSync(notExecutable, '#!/bin/sh\n', { mode: 0o644 });
    const broken = await host.reload(
      await config({ a: entry(), c: { type: 'counter', driver: notExecutable }, d: entry() }),
    );
    expect(broken.failed.map((f) => f.driver)).toEqual(['c']);
    expect(broken.failed[0].error).toMatch(/not-executable/);
    expect(host.entry('c').driver).toBe(BIN.counter);
    expect(host.status().c).toMatchObject({ state: 'ready', pid: cPid });
    const again = await host.reload(
      await config({ a: entry(), c: entry({ CHANGED: '2' }), d: entry() }),
    );
    expect(again).toMatchObject({ changed: ['c'], failed: [] });
    expect(host.status().c.pid).not.toBe(cPid);
  }, 60_000);
});

describe.each([
  { peer: 'TS driver over unix', network: 'unix' },
  { peer: 'TS driver over TCP', network: 'tcp' },
  { peer: 'Go driver (go-plugin, grpc-go)', network: 'go' },
])('swaps under load: $peer', ({ network }) => {
  it.skipIf(network === 'go' && !hasGoToolchain)(
    '3 swaps under 48 unary callers, 8 bidi calls of 256 KiB messages and 8 streams of 64 KiB ticks: every call succeeds',
    async () => {
      const project = counterProject();
      let driver = './counter';
      if (network === 'go') {
        driver = join(project.dir, 'go-counter');
        execFileSync('sh', [join(ROOT, 'test/go/counter/build.sh'), 'plugin'], {
          env: { ...process.env, OUT: driver },
          stdio: 'pipe',
        });
      }
      const host = await openHost({
        config: {
          bin_dir: 'bin',
          drivers: { c: { type: 'counter', driver, env: { COUNTER_NETWORK: network } } },
        },
        dir: project.dir,
        contracts: [counter],
        logger: captureLogger(),
      });
      onTestFinished(() => host.close());
      const client = (await host.client('c', counter)) as unknown as Counter & {
        echo(
          ticks: AsyncIterable<{ i: number; payload: Buffer }>,
        ): AsyncIterable<{ i: number; payload: Uint8Array }>;
      };
      const big = Buffer.alloc(256 << 10, 7);
      async function* ticks() {
        for (let i = 0; i < 4; i++) yield { i, payload: big };
      }
      const unary = load(() => client.add({ value: '1' }), 48);
      const bidi = load(async () => {
        const back = await collect(client.echo(ticks()));
        if (back.length !== 4 || back.some((t) => t.payload.length !== big.length))
          throw new Error(`echo answered ${back.length} ticks`);
      }, 8);
      const streams = load(async () => {
        const got = await collect(client.count({ n: 20, size: 64 << 10 }));
        if (got.length !== 20) throw new Error(`count answered ${got.length} ticks`);
      }, 8);
      const pids = [host.status().c.pid];
      for (let i = 0; i < 3; i++) {
        await Promise.all([unary.more(100), bidi.more(8), streams.more(8)]);
        await host.replace('c');
        pids.push(host.status().c.pid);
      }
      await Promise.all([unary.more(100), bidi.more(8), streams.more(8)]);
      const results = await Promise.all([unary.stop(), bidi.stop(), streams.stop()]);
      for (const r of results) expect(r.failures).toEqual([]);
      expect(new Set(pids).size).toBe(4);
      if (network === 'tcp') expect((await host.driver('c')).handshake?.network).toBe('tcp');
    },
    120_000,
  );
});
