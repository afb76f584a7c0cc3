// driverkit serve's hot reload from outside: --watch swaps an edited source driver in without
// a failed call, a broken edit leaves the old one serving, and SIGHUP reloads the config.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, credentials } from '@grpc/grpc-js';
import { describe, expect, it, onTestFinished } from 'vitest';
import { internalServices } from '../src/contracts/internal.js';
import { RpcError } from '../src/errors.js';
import { createClient, errorStep } from '../src/rpc/client.js';
import { Status } from '../src/status.js';
import { counter } from './fixtures/gen/contracts/counter.js';
import { grpcInvoke } from './grpc-js/invoke.js';
import { expectRejection, load, spawnUntil, waitFor } from './helpers.js';
import { counterProject, processesOf } from './hot-reload.js';
import { BIN, CLI, ROOT } from './paths.js';

const COUNTER_TYPE = `[types.counter]\nproto = "${join(ROOT, 'test/fixtures/protos/counter/v1/counter.proto')}"\n`;

type Counter = {
  add(
    r: { value: string },
    o?: { metadata?: Record<string, string> },
  ): Promise<{ total: string; count: string }>;
  count(r: { n: number; size: number }): AsyncIterable<{ i: number }>;
};

const mapError = (err: { code: number; details: string }, method: string) =>
  new RpcError(err.code as never, err.details, { method });

/** `driverkit serve` of the config in `dir`; its stderr so far, a client of its gateway. */
async function serve(dir: string, ...args: string[]) {
  const running = await spawnUntil(
    process.execPath,
    [CLI, 'serve', '--listen', '127.0.0.1:0', ...args],
    /driverkit: serving .* on (\S+)\n/,
    { cwd: dir, endSignal: 'SIGTERM' },
  );
  let stderr = '';
  running.child.stderr!.on('data', (d: string) => (stderr += d));
  const channel = new Client(running.match[1], credentials.createInsecure());
  onTestFinished(() => channel.close());
  const client = createClient(
    counter.versions[1],
    grpcInvoke(channel),
    errorStep(mapError),
  ) as unknown as Counter;
  const health = createClient(internalServices.health, grpcInvoke(channel), errorStep(mapError));
  const said = (pattern: RegExp, what: string) =>
    waitFor(
      () => pattern.test(stderr),
      60_000,
      () => `${what}; stderr:\n${stderr}`,
    );
  return { ...running, client, health, said, stderr: () => stderr };
}

describe('driverkit serve --watch', () => {
  // Eight edits: each a full swap; the swap bench measures twenty (bench/rows/swap.ts).
  it('8 edits of a TS driver, each swapped in under 64 concurrent calls and 8 open streams: no call fails', async () => {
    const { dir, edit } = counterProject();
    writeFileSync(
      join(dir, 'driverkit.toml'),
      `${COUNTER_TYPE}\n[drivers.c]\ntype = "counter"\ndriver = "./counter"\ndrain_timeout = "500ms"\n`,
    );
    const { client, child, done } = await serve(dir, '--watch');
    const binary = join(dir, 'bin', 'counter', 'counter');
    let newest = 0;
    const calls = load(async () => {
      newest = Math.max(newest, Number((await client.add({ value: '1' })).total));
    });
    // 4 streams that end on their own (OK) and 4 that run until the swap ends them.
    const streams = { ok: 0, endedByReload: 0, other: [] as Error[], ticks: 0 };
    let stopped = false;
    const streaming = Array.from({ length: 8 }, async (_, k) => {
      while (!stopped) {
        try {
          for await (const _tick of client.count({ n: k < 4 ? 40 : 0, size: 1024 })) {
            streams.ticks++;
            if (stopped) break;
          }
          streams.ok++;
        } catch (err) {
          if (
            err instanceof RpcError &&
            err.status === Status.UNAVAILABLE &&
            /ended by a reload/.test(err.message)
          )
            streams.endedByReload++;
          else streams.other.push(err as Error);
        }
      }
    });
    await calls.more(100);
    for (let gen = 2; gen <= 9; gen++) {
      edit(gen);
      await waitFor(
        () => newest === gen,
        60_000,
        () => `generation ${gen} to answer (newest ${newest})`,
      );
      await calls.more(50);
    }
    await waitFor(() => streams.endedByReload > 0 && streams.ok > 0, 30_000, 'streams to end');
    stopped = true;
    const result = await calls.stop();
    await Promise.all(streaming);
    expect(result.failures).toEqual([]);
    expect(streams.other).toEqual([]);
    expect(streams.ticks).toBeGreaterThan(0);
    // Every replaced process exited once its calls ended (or its drain time was up).
    await waitFor(() => processesOf(binary).length === 1, 10_000, 'old processes to exit');
    child.kill('SIGTERM');
    expect((await done).code).toBe(0);
    expect(processesOf(binary)).toEqual([]);
  }, 240_000);

  it('a broken edit (syntax error, a driver that exits at start) is reported and the old driver keeps serving; an edited config is reloaded', async () => {
    const { dir, edit } = counterProject();
    writeFileSync(
      join(dir, 'driverkit.toml'),
      `${COUNTER_TYPE}\n[drivers.c]\ntype = "counter"\ndriver = "./counter"\n`,
    );
    const { client, health, said } = await serve(dir, '--watch');
    const gen = async () => Number((await client.add({ value: '1' })).total);
    expect(await gen()).toBe(1);
    edit(2, 'syntax-error');
    await said(
      /swap failed; the running driver keeps serving[^\n]*node build failed/,
      'a failed build',
    );
    expect(await gen()).toBe(1);
    expect((await health.check({ service: 'c' })).status).toBe(1);
    edit(3, 'exits-at-start');
    await said(/swap failed[^\n]*closed stdout before the handshake/, 'a failed start');
    expect(await gen()).toBe(1);
    expect((await health.check({ service: 'c' })).status).toBe(1);
    edit(4);
    await said(/driver swapped/, 'the good edit to swap');
    expect(await gen()).toBe(4);
    // The config file is watched too: a driver added to it starts.
    writeFileSync(
      join(dir, 'driverkit.toml'),
      `${COUNTER_TYPE}\n[drivers.c]\ntype = "counter"\ndriver = "./counter"\n[drivers.d]\ntype = "counter"\ndriver = "${BIN.counter}"\n`,
    );
    await said(/config reloaded/, 'the config change to reload');
    const d = { metadata: { 'driverkit-driver': 'd' } };
    expect((await client.add({ value: '9' }, d)).total).toBe('9');
    expect(await gen()).toBe(4);
  }, 120_000);
});

describe('driverkit serve: SIGHUP', () => {
  it('adds, removes and swaps drivers, leaves the others alone, and refuses an invalid config whole', async () => {
    const { dir } = counterProject();
    const toml = (drivers: Record<string, string>, extra = '') =>
      writeFileSync(
        join(dir, 'driverkit.toml'),
        [
          COUNTER_TYPE,
          extra,
          ...Object.entries(drivers).map(
            ([name, env]) =>
              `[drivers.${name}]\ntype = "counter"\ndriver = "${BIN.counter}"\nenv = { GEN = "${env}" }\n`,
          ),
        ].join('\n'),
      );
    toml({ a: '1', b: '1', c: '1' });
    const { client, child, said, stderr } = await serve(dir);
    const to = (name: string) => ({ metadata: { 'driverkit-driver': name } });
    const pidOf = async (name: string) => {
      const { readStatus, statusPath } = await import('../src/host/status-file.js');
      return readStatus(statusPath(join(dir, 'bin')), join(dir, 'driverkit.toml'))?.drivers[name]
        ?.pid;
    };
    const before = { a: await pidOf('a'), b: await pidOf('b'), c: await pidOf('c') };
    expect(before.a && before.b && before.c).toBeTruthy();
    toml({ a: '1', c: '2', d: '1' }, '[gateway]\nmax_concurrent_calls = 100\n');
    child.kill('SIGHUP');
    await said(/config reloaded/, 'the reload');
    expect(stderr()).toMatch(/added[^\n]*d[^\n]*removed[^\n]*b[^\n]*changed[^\n]*c/);
    expect(stderr()).toMatch(/take effect only after a restart[^\n]*gateway\.max_concurrent_calls/);
    expect(await pidOf('a')).toBe(before.a);
    expect(await pidOf('c')).not.toBe(before.c);
    expect((await client.add({ value: '7' }, to('d'))).total).toBe('7');
    const gone = await expectRejection(client.add({ value: '1' }, to('b')), RpcError);
    expect(gone.status).toBe(Status.INVALID_ARGUMENT);
    expect(gone.details).toMatch(/no Counter driver named "b" \(known: a, c, d\)/);
    await waitFor(() => !processesOf(BIN.counter).includes(before.b!), 10_000, 'b to stop');

    writeFileSync(join(dir, 'driverkit.toml'), '[drivers.a\ntype = ');
    child.kill('SIGHUP');
    await said(/config reload refused; the running config keeps serving/, 'the refusal');
    expect((await client.add({ value: '3' }, to('a'))).total).toBe('3');
    expect((await client.add({ value: '4' }, to('d'))).total).toBe('4');
  }, 120_000);

  it('a build that hangs does not hold back a config change under --watch: the build is cancelled, the config reloaded, then the driver built again', async () => {
    const { dir, folder, edit } = counterProject();
    // The driver's build waits for GO to exist (it does at the first start).
    const go = join(dir, 'GO');
    writeFileSync(go, '');
    const build = `while [ ! -e ${go} ]; do sleep 0.02; done; cp ${BIN.counter} "$OUT"`;
    writeFileSync(
      join(folder, 'driverkit.json'),
      JSON.stringify({ type: 'counter', version: '0.1.0', driverkit: '^0.1.0', build }),
    );
    const config = `${COUNTER_TYPE}\n[drivers.c]\ntype = "counter"\ndriver = "./counter"\n`;
    writeFileSync(join(dir, 'driverkit.toml'), config);
    const { client, said } = await serve(dir, '--watch');
    expect((await client.add({ value: '1' })).total).toBe('1');
    rmSync(go);
    edit(2);
    await said(/source changed; rebuilding and swapping/, 'the build to start');
    writeFileSync(
      join(dir, 'driverkit.toml'),
      `${config}[drivers.d]\ntype = "counter"\ndriver = "${BIN.counter}"\n`,
    );
    await said(/config reloaded/, 'the config reload, while the build still waits');
    const d = { metadata: { 'driverkit-driver': 'd' } };
    expect((await client.add({ value: '9' }, d)).total).toBe('9');
    // The cancelled build runs again, and its driver is swapped once it can finish.
    writeFileSync(go, '');
    await said(/driver swapped/, 'the driver built again and swapped');
  }, 120_000);

  it('takes new bearer tokens from tokens_file: the revoked one is refused, the new one served; an empty file revokes all', async () => {
    const { dir } = counterProject();
    const tokens = join(dir, 'tokens');
    writeFileSync(tokens, 'ops old-token\n');
    writeFileSync(
      join(dir, 'driverkit.toml'),
      `${COUNTER_TYPE}\n[gateway]\ntokens_file = "tokens"\n[drivers.a]\ntype = "counter"\ndriver = "${BIN.counter}"\n`,
    );
    const { client, child, said } = await serve(dir);
    const as = (token: string) => ({ metadata: { authorization: `Bearer ${token}` } });
    expect((await client.add({ value: '1' }, as('old-token'))).total).toBe('1');
    writeFileSync(tokens, 'ops new-token\n');
    child.kill('SIGHUP');
    await said(/config reloaded/, 'the reload');
    const refused = await expectRejection(client.add({ value: '1' }, as('old-token')), RpcError);
    expect(refused.status).toBe(Status.UNAUTHENTICATED);
    expect((await client.add({ value: '2' }, as('new-token'))).total).toBe('2');
    // Emptied: every token is revoked, and the log says so (it was refused, keeping them).
    writeFileSync(tokens, '# all revoked\n');
    child.kill('SIGHUP');
    await said(/every bearer token revoked: the tokens file has none/, 'the revocation');
    const revoked = await expectRejection(client.add({ value: '3' }, as('new-token')), RpcError);
    expect(revoked.status).toBe(Status.UNAUTHENTICATED);
  }, 60_000);
});
