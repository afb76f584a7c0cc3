import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, credentials, type ServiceError } from '@grpc/grpc-js';
import { describe, expect, it, onTestFinished } from 'vitest';
import { internalServices } from '../src/contracts/internal.js';
import { userprovider } from '../src/contracts/userprovider.js';
import { RpcError } from '../src/errors.js';
import { createClient, errorStep } from '../src/rpc/client.js';
import { grpcInvoke } from './grpc-js/invoke.js';
import { Status } from '../src/status.js';
import { startGateway } from '../src/gateway/gateway.js';
import { openHost } from '../src/host/host.js';
import { captureLogger, expectRejection, spawnCollect, spawnUntil, waitFor } from './helpers.js';
import { BIN, CLI, ROOT } from './paths.js';

const EINSTEIN = '4c510ada-c86b-4815-8820-42cdf82c3d51';

function processesUnder(dir: string): string[] {
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(join(dir, 'bin')));
}

describe('a relayed call whose driver is gone before its request is in', () => {
  it('ends with a status; the gateway does not crash (invoke threw in the stream’s end listener)', async () => {
    const users = userprovider.versions[1];
    const gateway = await startGateway(
      {
        instances: () => [{ name: 'users', services: [users] }],
        // As a host does for an instance a reload removed: it throws, it does not reject.
        invoke: () => {
          throw new Error('unknown driver "users"');
        },
        isReady: () => true,
      },
      '127.0.0.1:0',
    );
    onTestFinished(() => gateway.close());
    const channel = new Client(gateway.address, credentials.createInsecure());
    onTestFinished(() => channel.close());
    const mapError = (err: { code: number; details: string }, method: string) =>
      new RpcError(err.code as never, err.details, { method });
    const client = createClient(users, grpcInvoke(channel), errorStep(mapError));
    for (let i = 0; i < 2; i++) {
      const err = await expectRejection(client.getUser({ userId: { opaqueId: 'x' } }), RpcError);
      expect(err.status).toBe(Status.INTERNAL);
      expect(err.details).toBe('the gateway failed to relay the call');
    }
  });
});

describe('driverkit serve (gateway)', () => {
  it('relays calls to the default or the named instance, answers health, and stops cleanly on SIGTERM', async () => {
    mkdirSync(join(ROOT, '.cache'), { recursive: true });
    const dir = mkdtempSync(join(ROOT, '.cache', 'gateway-test-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    cpSync(join(ROOT, 'drivers/userprovider'), join(dir, 'drivers/userprovider'), {
      recursive: true,
    });
    writeFileSync(
      join(dir, 'staff.json'),
      JSON.stringify([{ id: { opaque_id: 's1' }, username: 'staffer' }]),
    );
    writeFileSync(
      join(dir, 'driverkit.toml'),
      `[drivers.staff]\ntype = "userprovider"\ndriver = "drivers/userprovider/json"\nconfig = { users = "staff.json" }\n\n[drivers.demo]\ntype = "userprovider"\ndriver = "drivers/userprovider/demo"\n`,
    );
    const { address, stop } = await startServe(dir);

    const channel = new Client(address, credentials.createInsecure());
    onTestFinished(() => channel.close());
    const mapError = (err: { code: number; details: string }, method: string) =>
      new RpcError(err.code as never, err.details, { method });
    const users = createClient(userprovider.versions[1], grpcInvoke(channel), errorStep(mapError));
    const health = createClient(internalServices.health, grpcInvoke(channel), errorStep(mapError));

    // No header: the first userprovider in the config (staff).
    expect((await users.getUser({ userId: { opaqueId: 's1' } })).user?.username).toBe('staffer');
    // The header picks an instance.
    const viaDemo = await users.getUser(
      { userId: { opaqueId: EINSTEIN } },
      { metadata: { 'driverkit-driver': 'demo' } },
    );
    expect(viaDemo.user?.username).toBe('einstein');
    // The driver's own errors pass through unchanged.
    const notFound = await expectRejection(
      users.getUser({ userId: { opaqueId: EINSTEIN } }),
      RpcError,
    );
    expect(notFound.status).toBe(Status.NOT_FOUND);
    const badRoute = await expectRejection(
      users.getUser({ userId: { opaqueId: 'x' } }, { metadata: { 'driverkit-driver': 'nope' } }),
      RpcError,
    );
    expect(badRoute.status).toBe(Status.INVALID_ARGUMENT);
    expect(badRoute.details).toMatch(/no UserProvider driver named "nope" \(known: staff, demo\)/);

    for (const service of ['', 'driverkit.userprovider.v1.UserProvider', 'demo', 'staff']) {
      expect((await health.check({ service })).status, service).toBe(1);
    }
    expect((await expectRejection(health.check({ service: 'nope' }), RpcError)).status).toBe(
      Status.NOT_FOUND,
    );

    expect(processesUnder(dir)).toHaveLength(2);
    expect(await stop()).toBe(0);
    expect(processesUnder(dir)).toEqual([]);
  });

  it('call_timeout is the deadline of relayed calls that carry none; the driver sees the call cancelled', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dk-gateway-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const marker = join(dir, 'marker');
    const host = await openHost({
      config: {
        drivers: {
          slow: {
            type: 'userprovider',
            driver: BIN.fixture,
            call_timeout: '300ms',
            env: { FIXTURE_CONTRACT: 'userprovider', FIXTURE_MARKER: marker },
          },
        },
      },
      logger: captureLogger(),
    });
    onTestFinished(() => host.close());
    const gateway = await startGateway(host, '127.0.0.1:0');
    onTestFinished(() => gateway.close());
    const channel = new Client(gateway.address, credentials.createInsecure());
    onTestFinished(() => channel.close());
    const users = createClient(userprovider.versions[1], grpcInvoke(channel));
    // Started first, with a deadline of the caller's own: the 300 ms are the call's alone,
    // not a lazy start's too (which a busy machine can stretch past them).
    await users.getUser({ userId: { opaqueId: 'x' } }, { timeout: 20_000 });
    // No errorStep here: what comes back is grpc-js's own error.
    const err = await expectRejection<ServiceError>(
      users.getUser({ userId: { opaqueId: 'hang' } }),
    );
    expect(err.code).toBe(Status.DEADLINE_EXCEEDED);
    await waitFor(
      () => existsSync(marker) && readFileSync(marker, 'utf8') === 'cancelled',
      5000,
      'the handler to see its call cancelled',
    );
    // A deadline of the caller's own still wins.
    const own = await users.getUser({ userId: { opaqueId: 'x' } }, { timeout: 5000 });
    expect(own.user?.username).toBe('x');
  });

  it('a driver that keeps crashing is given up: health NOT_SERVING, ls says so, the rest serves on', async () => {
    mkdirSync(join(ROOT, '.cache'), { recursive: true });
    const dir = mkdtempSync(join(ROOT, '.cache', 'gateway-test-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(
      join(dir, 'driverkit.toml'),
      `[drivers.flaky]
type = "userprovider"
driver = "${BIN.fixture}"
restart = "on-failure"
restart_delay = "20ms"
max_restarts = 1
` +
        `env = { FIXTURE_CONTRACT = "userprovider", FIXTURE_MODE = "crash-soon", FIXTURE_CRASH_MS = "300" }

` +
        `[drivers.demo]
type = "userprovider"
driver = "${BIN.demo}"
`,
    );
    const { address, stop } = await startServe(dir);
    const channel = new Client(address, credentials.createInsecure());
    onTestFinished(() => channel.close());
    const mapError = (err: { code: number; details: string }, method: string) =>
      new RpcError(err.code as never, err.details, { method });
    const health = createClient(internalServices.health, grpcInvoke(channel), errorStep(mapError));
    // Poll health against a deadline: the gateway has no event to wait on from outside.
    await waitFor(
      async () => (await health.check({ service: 'flaky' })).status === 2,
      10_000,
      'flaky to become NOT_SERVING',
      50,
    );
    await waitForLs(dir, /flaky .* failed \(given up\), 1 restarts, last exit 5/);
    expect((await health.check({ service: 'demo' })).status).toBe(1);
    const users = createClient(userprovider.versions[1], grpcInvoke(channel), errorStep(mapError));
    const err = await expectRejection(
      users.findUsers({ query: 'x' }, { metadata: { 'driverkit-driver': 'flaky' } }),
      RpcError,
    );
    expect(err.status).toBe(Status.UNAVAILABLE);
    expect(err.details).toMatch(/given up after 1 restarts/);
    expect(
      (await users.findUsers({ query: 'marie' }, { metadata: { 'driverkit-driver': 'demo' } }))
        .users,
    ).toHaveLength(1);
    expect(await stop()).toBe(0);
  });

  it('a driver whose first start fails does not take serve down: NOT_SERVING, retried, logged; required = true exits', async () => {
    mkdirSync(join(ROOT, '.cache'), { recursive: true });
    const dir = mkdtempSync(join(ROOT, '.cache', 'gateway-test-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const broken = (required: boolean) =>
      `[drivers.broken]\ntype = "userprovider"\ndriver = "${BIN.fixture}"\n` +
      `restart = "on-failure"\nrestart_delay = "20ms"\nmax_restarts = 2\nrequired = ${required}\n` +
      `env = { FIXTURE_CONTRACT = "userprovider", FIXTURE_MODE = "no-output" }\n\n` +
      `[drivers.demo]\ntype = "userprovider"\ndriver = "${BIN.demo}"\n`;
    writeFileSync(join(dir, 'driverkit.toml'), broken(false));
    const { match, child, done } = await spawnUntil(
      process.execPath,
      [CLI, 'serve', '--listen', '127.0.0.1:0'],
      /driverkit: serving .* on (\S+)\n/,
      { cwd: dir },
    );
    const address = match[1];
    const channel = new Client(address, credentials.createInsecure());
    onTestFinished(() => channel.close());
    const mapError = (err: { code: number; details: string }, method: string) =>
      new RpcError(err.code as never, err.details, { method });
    const health = createClient(internalServices.health, grpcInvoke(channel), errorStep(mapError));
    expect((await health.check({ service: 'broken' })).status).toBe(2);
    expect((await health.check({ service: 'demo' })).status).toBe(1);
    // Retried by its policy (it keeps failing here), then given up: ls says so.
    await waitForLs(dir, /broken .* failed \(given up\), 2 restarts/);
    const users = createClient(userprovider.versions[1], grpcInvoke(channel), errorStep(mapError));
    expect(
      (await users.findUsers({ query: 'marie' }, { metadata: { 'driverkit-driver': 'demo' } }))
        .users,
    ).toHaveLength(1);
    child.kill('SIGTERM');
    const ended = await done;
    expect(ended.code).toBe(0);
    expect(ended.stderr).toMatch(/driver failed to start; serving the others.*broken/);

    writeFileSync(join(dir, 'driverkit.toml'), broken(true));
    const run = await spawnCollect(process.execPath, [CLI, 'serve', '--listen', '127.0.0.1:0'], {
      cwd: dir,
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/driver "broken"/);
    expect(processesUnder(dir)).toEqual([]);
  });

  it('serve on an address in use says so and names --listen, before any driver starts', async () => {
    mkdirSync(join(ROOT, '.cache'), { recursive: true });
    const dir = mkdtempSync(join(ROOT, '.cache', 'gateway-test-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const marker = join(dir, 'started');
    writeFileSync(
      join(dir, 'driverkit.toml'),
      `[drivers.users]\ntype = "userprovider"\ndriver = "${BIN.fixture}"\n` +
        `env = { FIXTURE_CONTRACT = "userprovider", FIXTURE_CONFIGURE = "hang", FIXTURE_MARKER = "${marker}" }\n`,
    );
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => void taken.close());
    const { port } = taken.address() as AddressInfo;
    const run = await spawnCollect(
      process.execPath,
      [CLI, 'serve', '--listen', `127.0.0.1:${port}`],
      {
        cwd: dir,
      },
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the address is taken.*--listen`),
    );
    expect(run.stderr).not.toMatch(/unexpected error|\n\s+at /);
    expect(existsSync(marker)).toBe(false);
  });
});

/** Starts `driverkit serve` on a free port in `dir`; `stop` sends SIGTERM and resolves with the exit code. */
async function startServe(
  dir: string,
): Promise<{ address: string; stop: () => Promise<number | null> }> {
  const { match, child, done } = await spawnUntil(
    process.execPath,
    [CLI, 'serve', '--listen', '127.0.0.1:0'],
    /driverkit: serving .* on (\S+)\n/,
    { cwd: dir },
  );
  return {
    address: match[1],
    stop: async () => {
      child.kill('SIGTERM');
      return (await done).code;
    },
  };
}

/** Runs `driverkit ls` until its output matches (bounded). */
async function waitForLs(dir: string, pattern: RegExp): Promise<void> {
  let out = '';
  const matches = async () => {
    const ls = await spawnCollect(process.execPath, [CLI, 'ls'], { cwd: dir });
    expect(ls.code, ls.stderr).toBe(0);
    out = ls.stdout;
    return pattern.test(out);
  };
  await waitFor(matches, 10_000, () => `driverkit ls to match ${pattern}, last:\n${out}`, 100);
}
