import { existsSync } from 'node:fs';
import { connect } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { AuditLogDefinition } from '../src/gen/driverkit/audit/v1/audit.js';
import { DriverkitError } from '../src/errors.js';
import { launchDriver } from '../src/launch/driver.js';
import { openHost } from '../src/host/host.js';
import { userprovider } from '../src/contracts/userprovider.js';
import { captureLogger, expectRejection, isAlive, spawnUntil, waitFor } from './helpers.js';
import { fixtureContract } from './fixtures/contract.js';
import { BIN } from './paths.js';

/** Starts the demo driver by hand, as under a debugger, and resolves with its reattach line; killed at test end. */
async function byHand(path = BIN.demo): Promise<{ line: string; pid: number }> {
  const { match, child } = await spawnUntil(path, ['--driverkit-reattach'], /^(.*)\n/, {
    env: { PATH: process.env.PATH },
  });
  return { line: match[1], pid: child.pid! };
}

describe('reattach', () => {
  it('a driver started by hand prints its reattach info; closing leaves it running unless asked', async () => {
    const { line, pid } = await byHand();
    expect(line).toMatch(
      /^DRIVERKIT_REATTACH=\{"protocol":"grpc","version":1,"network":"unix","address":"[^"]+","pid":\d+\}$/,
    );
    const info = JSON.parse(line.slice(line.indexOf('=') + 1));
    expect(info.pid).toBe(pid);

    const looking = launchDriver({
      name: 'debug',
      path: BIN.demo,
      contract: userprovider,
      reattach: line,
      logger: captureLogger(),
    });
    await looking.ready;
    expect(looking.pid).toBe(pid);
    expect((await looking.client.findUsers({ query: 'marie' })).users).toHaveLength(1);
    await looking.close();
    expect(isAlive(pid)).toBe(true);

    const host = await openHost({
      config: {
        drivers: {
          users: { type: 'userprovider', driver: BIN.demo, reattach: line, kill_on_close: true },
        },
      },
      logger: captureLogger(),
    });
    const users = await host.client('users', userprovider);
    expect((await users.findUsers({ query: 'einstein' })).users).toHaveLength(1);
    await host.close();
    await waitFor(() => !isAlive(pid), 10_000, 'the reattached driver to be stopped');
    expect(existsSync(info.address)).toBe(false);
  });

  it('each reattached host has its own broker ids: a second host never reaches the first one’s helpers', async () => {
    const { line } = await byHand(BIN.fixture);
    const attach = async (events: string[]) => {
      const driver = launchDriver({
        name: 'debug',
        path: BIN.fixture,
        contract: fixtureContract,
        reattach: line,
        logger: captureLogger(),
      });
      onTestFinished(() => driver.close());
      await driver.ready;
      // Each host numbers its offers from 1, as go-plugin does.
      const id = await driver.broker.offer(AuditLogDefinition, {
        record: (req) => {
          events.push(req.event);
          return { count: String(events.length) };
        },
      });
      expect(id).toBe(1);
      return driver;
    };
    const audited = async (driver: Awaited<ReturnType<typeof attach>>) => {
      await driver.client.configure({ config: { audit: 1 } });
      return (await driver.client.getUser({ userId: { opaqueId: 'audit' } })).user?.username;
    };
    const [first, second]: string[][] = [[], []];
    const a = await attach(first);
    expect(await audited(a)).toBe('audited:1');
    const b = await attach(second);
    expect(await audited(b)).toBe('audited:1');
    expect(await audited(a)).toBe('audited:2');
    expect([first.length, second.length]).toEqual([2, 1]);
    // The first host gone (its helper's socket with it), the second's calls still find its own.
    await a.close();
    expect(await audited(b)).toBe('audited:2');
    expect([first.length, second.length]).toEqual([2, 2]);
  });

  it('refuses what it cannot check: a TCP address off loopback, AutoMTLS, a pid that is not the listener', async () => {
    const attach = (reattach: string, more: { autoMTLS?: boolean; killOnClose?: boolean } = {}) =>
      // Options are checked at once (a throw), the rest on start (a rejection): both alike here.
      Promise.resolve().then(
        () =>
          launchDriver({
            name: 'debug',
            path: BIN.demo,
            contract: userprovider,
            reattach,
            logger: captureLogger(),
            ...more,
          }).ready,
      );
    const remote = '{"version":1,"network":"tcp","address":"192.0.2.7:7443"}';
    const off = await expectRejection(attach(remote), DriverkitError);
    expect(off.code).toBe('INVALID_OPTIONS');
    expect(off.message).toMatch(/expected a loopback TCP address .*allowRemote/);

    const { line, pid } = await byHand();
    const tls = await expectRejection(attach(line, { autoMTLS: true }), DriverkitError);
    expect(tls.message).toMatch(/`autoMTLS` to be off with `reattach`/);

    // A pid that is not the driver's: never signalled, even with killOnClose.
    const { child: bystander } = await spawnUntil(
      process.execPath,
      ['-e', 'console.log("up"); setInterval(() => {}, 1e6)'],
      /up/,
    );
    const info = { ...JSON.parse(line.slice(line.indexOf('=') + 1)), pid: bystander.pid };
    const wrongPid = await expectRejection(
      attach(JSON.stringify(info), { killOnClose: true }),
      DriverkitError,
    );
    expect(wrongPid.message).toMatch(
      new RegExp(`expected pid ${bystander.pid} to be the process listening at unix:`),
    );
    // An address that does not answer: the attach fails, and its pid is left alone.
    const gone = { ...info, address: `${info.address}.missing` };
    const failed = await expectRejection(
      attach(JSON.stringify(gone), { killOnClose: true }),
      DriverkitError,
    );
    expect(failed.code).toBe('CONNECT_FAILED');
    expect(isAlive(bystander.pid!)).toBe(true);
    expect(isAlive(pid)).toBe(true);
  });

  it('a running driver of another type is refused on attach, by what it says it is', async () => {
    const { line } = await byHand(BIN.kv);
    const err = await expectRejection(
      launchDriver({
        name: 'debug',
        path: BIN.demo,
        contract: userprovider,
        reattach: line,
        logger: captureLogger(),
      }).ready,
      DriverkitError,
    );
    expect(err.code).toBe('DRIVER_INCOMPATIBLE');
    expect(err.message).toMatch(/expected a driver of type "userprovider" .*got one of type "kv"/);
  });

  it.each([
    { name: 'its pid', withPid: true },
    { name: 'its connection alone', withPid: false },
  ])(
    "a reattached driver's death is noticed by $name: state, exit event, exited",
    async ({ withPid }) => {
      const { line, pid } = await byHand();
      const info = JSON.parse(line.slice(line.indexOf('=') + 1));
      if (!withPid) delete info.pid;
      const driver = launchDriver({
        name: 'debug',
        path: BIN.demo,
        contract: userprovider,
        reattach: JSON.stringify(info),
        logger: captureLogger(),
      });
      onTestFinished(() => driver.close());
      await driver.ready;
      expect((await driver.client.findUsers({ query: 'marie' })).users).toHaveLength(1);
      const exitEvent = new Promise((resolve) => driver.once('exit', resolve));
      process.kill(pid, 'SIGKILL');
      await expect(driver.exited).resolves.toEqual({ code: null, signal: null });
      await exitEvent;
      expect(driver.state).toBe('exited');
    },
  );

  it('a host that drops its connection with the broker stream open does not take the driver down', async () => {
    const { line, pid } = await byHand();
    const { address } = JSON.parse(line.slice(line.indexOf('=') + 1));
    // As a go-plugin host does on connect: StartStream, then (here) the connection cut.
    const session = connect('http://localhost', { createConnection: () => netConnect(address) });
    const stream = session.request({
      ':method': 'POST',
      ':path': '/plugin.GRPCBroker/StartStream',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    stream.on('error', () => {});
    session.on('error', () => {});
    await new Promise<void>((resolve) => stream.write(Buffer.alloc(5), () => resolve()));
    session.destroy();
    const driver = launchDriver({
      name: 'debug',
      path: BIN.demo,
      contract: userprovider,
      reattach: line,
      logger: captureLogger(),
    });
    onTestFinished(() => driver.close());
    await driver.ready;
    expect((await driver.client.findUsers({ query: 'marie' })).users).toHaveLength(1);
    expect(isAlive(pid)).toBe(true);
  });

  it('bad reattach info is a clear error', async () => {
    const driver = launchDriver({
      name: 'debug',
      path: BIN.demo,
      contract: userprovider,
      reattach: '{"version": 1}',
      logger: captureLogger(),
    });
    const err = await expectRejection(driver.ready, DriverkitError);
    expect(err.code).toBe('INVALID_OPTIONS');
    expect(err.message).toMatch(
      /driver "debug" .*reattach info not understood: network must be "unix" or "tcp"/,
    );
  });
});
