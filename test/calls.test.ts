import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { userprovider } from '../src/contracts/userprovider.js';
import { RpcError } from '../src/errors.js';
import { createClient, type Interceptor } from '../src/rpc/client.js';
import { Status } from '../src/status.js';
import { fixtureContract } from './fixtures/contract.js';
import { captureLogger, expectRejection, useDriver, waitFor } from './helpers.js';
import { BIN } from './paths.js';

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dk-calls-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const rpcError = (p: Promise<unknown>) => expectRejection(p, RpcError);

describe('typed calls', () => {
  it('a deadline ends a hanging call with DEADLINE_EXCEEDED, and the caller stack is kept', async () => {
    const driver = useDriver({ name: 'hang', path: BIN.fixture, contract: fixtureContract });
    await driver.ready;
    const err = await rpcError(
      driver.client.getUser({ userId: { opaqueId: 'hang' } }, { timeout: 200 }),
    );
    expect(err.status).toBe(Status.DEADLINE_EXCEEDED);
    expect(err.stack).toContain('calls.test.ts');
  });

  it('aborting a call cancels it in the driver, whose handler sees its signal fire', async () => {
    const marker = join(tempDir(), 'cancelled');
    const driver = useDriver({
      name: 'cancel',
      path: BIN.fixture,
      contract: fixtureContract,
      env: { FIXTURE_MARKER: marker },
    });
    await driver.ready;
    const controller = new AbortController();
    const call = driver.client.getUser(
      { userId: { opaqueId: 'hang' } },
      { signal: controller.signal },
    );
    const marked = (text: string) => () => {
      try {
        return readFileSync(marker, 'utf8') === text;
      } catch {
        return false;
      }
    };
    await waitFor(marked('started'), 5000, 'the handler to start');
    controller.abort();
    expect((await rpcError(call)).status).toBe(Status.CANCELLED);
    await waitFor(marked('cancelled'), 5000, 'the handler to see the cancellation');
  });

  it('an already aborted signal fails at once without a call', async () => {
    const driver = useDriver({ name: 'pre', path: BIN.fixture, contract: fixtureContract });
    await driver.ready;
    const err = await rpcError(
      driver.client.getUser({ userId: { opaqueId: 'x' } }, { signal: AbortSignal.abort() }),
    );
    expect(err.status).toBe(Status.CANCELLED);
  });

  it('a crash mid-call fails the call naming the driver, its exit and its stderr; exited fires', async () => {
    const driver = useDriver({
      name: 'crashy',
      path: BIN.fixture,
      contract: fixtureContract,
      env: { FIXTURE_MODE: 'logs' },
    });
    await driver.ready;
    const err = await rpcError(driver.client.getUser({ userId: { opaqueId: 'crash' } }));
    expect(err.status).toBe(Status.UNAVAILABLE);
    expect(err.message).toContain('driver "crashy"');
    expect(await driver.exited).toEqual({ code: 3, signal: null });
    expect(driver.state).toBe('exited');
  });

  it("a live driver's UNAVAILABLE is its answer: no wait for an exit, no stderr tail, the driver stays ready", async () => {
    const driver = useDriver({
      name: 'backend-down',
      path: BIN.fixture,
      contract: fixtureContract,
    });
    await driver.ready;
    const t0 = Date.now();
    for (let i = 0; i < 4; i++) {
      const err = await rpcError(driver.client.getUser({ userId: { opaqueId: 'unavailable' } }));
      expect(err.status).toBe(Status.UNAVAILABLE);
      expect(err.shortMessage).toBe(
        '[UNAVAILABLE] backend down (/driverkit.userprovider.v1.UserProvider/GetUser)',
      );
      expect(err.exitCode).toBeUndefined();
      expect(err.stderrTail).toEqual([]);
    }
    // Four calls together take less than the 250 ms one call used to wait for an exit.
    expect(Date.now() - t0).toBeLessThan(250);
    expect(driver.state).toBe('ready');
  });

  it('a step of its own runs around every call of a client built with createClient', async () => {
    const driver = useDriver({ name: 'steps', path: BIN.fixture, contract: fixtureContract });
    await driver.ready;
    const seen: string[] = [];
    const tag: Interceptor = (next) => (call) => {
      seen.push(call.path);
      return next({
        ...call,
        options: { ...call.options, metadata: { ...call.options.metadata, 'x-tag': 'tagged' } },
      });
    };
    const users = createClient(fixtureContract.versions[1], (call) => driver.invoke(call), tag);
    const { user } = await users.getUser({ userId: { opaqueId: 'metadata' } });
    expect(JSON.parse(user!.username)).toMatchObject({ 'x-tag': 'tagged' });
    expect(seen).toEqual(['/driverkit.userprovider.v1.UserProvider/GetUser']);
  });

  it('metadata travels with the call', async () => {
    const driver = useDriver({ name: 'md', path: BIN.demo, contract: userprovider });
    await driver.ready;
    // The demo driver ignores it; what matters is that a metadata call is well-formed.
    const res = await driver.client.findUsers(
      { query: 'rich' },
      { metadata: { 'x-request-id': 'r-1' } },
    );
    expect(res.users.map((u) => u.username)).toEqual(['richard']);
  });

  it('calling before ready throws DRIVER_NOT_READY', () => {
    const driver = useDriver({ name: 'early', path: BIN.demo, contract: userprovider });
    expect(() => driver.client).toThrow(
      /driver "early".*no calls possible: the driver is starting/,
    );
  });
});

describe('json driver configuration', () => {
  it.each([
    {
      name: 'no users key',
      config: {},
      status: Status.INVALID_ARGUMENT,
      message: /config key "users" must be the path of a JSON file, got null/,
    },
    {
      name: 'users not a string',
      config: { users: 5 },
      status: Status.INVALID_ARGUMENT,
      message: /got 5/,
    },
    {
      name: 'missing file',
      config: { users: '/nonexistent/users.json' },
      status: Status.FAILED_PRECONDITION,
      message: /cannot read users file "\/nonexistent\/users.json"/,
    },
  ])('$name', async ({ config, status, message }) => {
    const driver = useDriver({ name: 'json', path: BIN.json, contract: userprovider });
    await driver.ready;
    const err = await rpcError(driver.client.configure({ config }));
    expect(err.status).toBe(status);
    expect(err.message).toMatch(message);
  });

  it('invalid JSON and a non-array are FAILED_PRECONDITION; the driver keeps running', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'broken.json'), '[{"username": ');
    writeFileSync(join(dir, 'object.json'), '{"users": []}');
    const driver = useDriver({ name: 'json', path: BIN.json, contract: userprovider, cwd: dir });
    await driver.ready;
    const broken = await rpcError(driver.client.configure({ config: { users: 'broken.json' } }));
    expect(broken.status).toBe(Status.FAILED_PRECONDITION);
    expect(broken.message).toMatch(/is not valid JSON/);
    expect(
      (await rpcError(driver.client.configure({ config: { users: 'object.json' } }))).message,
    ).toMatch(/must hold a JSON array/);
    expect(driver.state).toBe('ready');
  });

  it("the json driver's errors never quote a file's content, and a device that never ends is refused unread", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'secret'), 'root:x:0:0:root:/root:/bin/bash\n');
    const driver = useDriver({ name: 'json', path: BIN.json, contract: userprovider, cwd: dir });
    await driver.ready;
    const leak = await rpcError(driver.client.configure({ config: { users: 'secret' } }));
    expect(leak.message).toMatch(/users file ".*secret" is not valid JSON/);
    expect(leak.message).not.toContain('root:x');
    const zero = await rpcError(driver.client.configure({ config: { users: '/dev/zero' } }));
    expect(zero.message).toMatch(/cannot read users file ".*zero": not a regular file/);
  });

  it('lookups before Configure are FAILED_PRECONDITION', async () => {
    const driver = useDriver({ name: 'json', path: BIN.json, contract: userprovider });
    await driver.ready;
    const err = await rpcError(driver.client.findUsers({ query: 'a' }));
    expect(err.status).toBe(Status.FAILED_PRECONDITION);
    expect(err.message).toMatch(/not configured/);
  });

  it('reloads on a second Configure', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'one.json'),
      JSON.stringify([{ id: { opaqueId: 'u1' }, username: 'ada' }]),
    );
    writeFileSync(
      join(dir, 'two.json'),
      JSON.stringify([{ id: { opaque_id: 'u2' }, username: 'grace' }]),
    );
    const driver = useDriver({ name: 'json', path: BIN.json, contract: userprovider, cwd: dir });
    await driver.ready;
    await driver.client.configure({ config: { users: 'one.json' } });
    expect((await driver.client.getUser({ userId: { opaqueId: 'u1' } })).user?.username).toBe(
      'ada',
    );
    await driver.client.configure({ config: { users: join(dir, 'two.json') } });
    expect((await driver.client.getUser({ userId: { opaqueId: 'u2' } })).user?.username).toBe(
      'grace',
    );
    expect((await rpcError(driver.client.getUser({ userId: { opaqueId: 'u1' } }))).status).toBe(
      Status.NOT_FOUND,
    );
  });
});

describe('context across the boundary', () => {
  it('request id, user, token and log fields reach the handler, and its log lines carry them', async () => {
    const logger = captureLogger();
    const driver = useDriver({ name: 'ctx', path: BIN.fixture, contract: fixtureContract, logger });
    await driver.ready;
    const context = {
      requestId: 'req-42',
      user: 'einstein',
      token: 's3cret',
      fields: { tenant: 'cern' },
    };
    const { user } = await driver.client.getUser({ userId: { opaqueId: 'context' } }, { context });
    expect(JSON.parse(user!.username)).toEqual(context);
    // The log line travels on stderr, which may trail the reply.
    await waitFor(
      () => logger.entries.some((e) => e.message === 'handling'),
      5000,
      'the driver log line',
    );
    const line = logger.entries.find((e) => e.message === 'handling');
    expect(line?.fields).toMatchObject({
      driver: 'ctx',
      request_id: 'req-42',
      tenant: 'cern',
      step: 'context',
    });
  });

  it('a request id is made up when the context has none', async () => {
    const driver = useDriver({ name: 'ctx', path: BIN.fixture, contract: fixtureContract });
    await driver.ready;
    const { user } = await driver.client.getUser(
      { userId: { opaqueId: 'context' } },
      { context: { user: 'marie' } },
    );
    expect(JSON.parse(user!.username)).toMatchObject({
      user: 'marie',
      requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
  });
});
