// Trust boundaries between host, driver and callers: what a driver or a caller says cannot
// hang the host or take another's name.
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { DriverkitError, RpcError } from '../src/errors.js';
import { processStartTime } from '../src/pid.js';
import { Status } from '../src/status.js';
import { openHost } from '../src/host/host.js';
import { fixtureContract } from './fixtures/contract.js';
import { userprovider } from '../src/contracts/userprovider.js';
import {
  captureLogger,
  expectRejection,
  isAlive,
  recordGroup,
  spawnCollect,
  spawnUntil,
  useDriver,
  waitFor,
} from './helpers.js';
import { BIN, CLI } from './paths.js';

describe('trust boundaries', () => {
  it('a Configure that never answers fails the start at call_timeout, and the driver is stopped', async () => {
    const host = await openHost({
      config: {
        drivers: {
          stuck: {
            type: 'userprovider',
            driver: BIN.fixture,
            call_timeout: '300ms',
            env: { FIXTURE_CONTRACT: 'userprovider', FIXTURE_CONFIGURE: 'hang' },
          },
        },
      },
      logger: captureLogger(),
    });
    onTestFinished(() => host.close());
    const err = await expectRejection(host.driver('stuck'), RpcError);
    expect(err.status).toBe(Status.DEADLINE_EXCEEDED);
    expect(err.method).toBe('/driverkit.userprovider.v1.UserProvider/Configure');
    expect(err.driver).toBe('stuck');
    // Not ready is a state: failed, with the error, until its restart backoff tries again.
    expect(host.status().stuck.state).toBe('failed');
    await host.close();
    await expect(host.driver('stuck')).rejects.toBeInstanceOf(DriverkitError);
  });

  it("a caller's log fields cannot change which driver a log line is attributed to", async () => {
    const logger = captureLogger();
    const driver = useDriver({
      name: 'users',
      path: BIN.fixture,
      contract: fixtureContract,
      logger,
    });
    await driver.ready;
    await driver.client.getUser(
      { userId: { opaqueId: 'context' } },
      { context: { fields: { driver: 'demo', step: 'forged' } } },
    );
    // stderr and the reply race: wait for the line.
    await waitFor(
      () => logger.entries.some((e) => e.message === 'handling'),
      10_000,
      "the driver's log line",
    );
    const line = logger.entries.find((e) => e.message === 'handling');
    expect(line?.fields).toMatchObject({ driver: 'users', step: 'context' });
    expect(isAlive(driver.pid!)).toBe(true);
  });

  it.each(['a regular file', 'a folder'])(
    'a handshake naming %s as its socket is refused, and what it named is left alone',
    async (what) => {
      const dir = mkdtempSync(join(tmpdir(), 'dk-trust-'));
      onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
      const target = join(dir, 'precious');
      if (what === 'a folder') mkdirSync(target);
      else writeFileSync(target, 'keep me');
      const driver = useDriver({
        name: 'liar',
        path: BIN.fixture,
        contract: fixtureContract,
        startTimeout: 5000,
        env: { FIXTURE_MODE: 'line', FIXTURE_LINE: `1|1|unix|${target}|grpc|` },
      });
      const err = await expectRejection(driver.ready, DriverkitError);
      expect(err.code).toBe('HANDSHAKE_INVALID');
      expect(err.message).toMatch(
        /expected the handshake to name the socket the driver made, got ".*precious": it is not a socket/,
      );
      await driver.close();
      if (what === 'a folder') expect(statSync(target).isDirectory()).toBe(true);
      else expect(readFileSync(target, 'utf8')).toBe('keep me');
    },
  );

  it("a second driverkit serve on the same config that cannot listen leaves the first one's status file alone", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dk-trust-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(
      join(dir, 'driverkit.toml'),
      `[drivers.demo]\ntype = "userprovider"\ndriver = "${BIN.demo}"\n`,
    );
    const first = await spawnUntil(
      process.execPath,
      [CLI, 'serve', '--listen', '127.0.0.1:0'],
      /serving demo on (\S+)\n/,
      { cwd: dir, endSignal: 'SIGTERM' },
    );
    const status = join(dir, 'bin', '.serve-status.json');
    expect(JSON.parse(readFileSync(status, 'utf8')).pid).toBe(first.child.pid);
    const second = await spawnCollect(
      process.execPath,
      [CLI, 'serve', '--listen', first.match[1]],
      { cwd: dir },
    );
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/cannot listen on 127\.0\.0\.1:\d+/);
    expect(JSON.parse(readFileSync(status, 'utf8')).pid).toBe(first.child.pid);
    first.child.kill('SIGTERM');
    expect((await first.done).code).toBe(0);
  });

  it('a status file naming another live process (pid 1) is not believed: ls ignores it, serve publishes its own', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dk-trust-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const config = join(dir, 'driverkit.toml');
    writeFileSync(config, `[drivers.demo]\ntype = "userprovider"\ndriver = "${BIN.demo}"\n`);
    const status = join(dir, 'bin', '.serve-status.json');
    mkdirSync(join(dir, 'bin'));
    // Everything a forger can know: pid 1's start time and the config's path.
    const forged = {
      pid: 1,
      startTime: processStartTime(1),
      config,
      drivers: { demo: { state: 'ready', restarts: 7 } },
    };
    writeFileSync(status, JSON.stringify(forged));
    const ls = await spawnCollect(process.execPath, [CLI, 'ls'], { cwd: dir });
    expect(ls.stdout).not.toContain('7 restarts');
    const serve = await spawnUntil(
      process.execPath,
      [CLI, 'serve', '--listen', '127.0.0.1:0'],
      /serving demo on (\S+)\n/,
      { cwd: dir, endSignal: 'SIGTERM' },
    );
    expect(JSON.parse(readFileSync(status, 'utf8'))).toMatchObject({
      pid: serve.child.pid,
      config,
    });
    expect((await spawnCollect(process.execPath, [CLI, 'ls'], { cwd: dir })).stdout).toMatch(
      /demo\s.*\sready/,
    );
    serve.child.kill('SIGTERM');
    expect((await serve.done).code).toBe(0);
  });

  it("driverkit serve stops on SIGTERM while a driver's Configure hangs, leaving nothing behind", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dk-trust-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const marker = join(dir, 'marker');
    writeFileSync(
      join(dir, 'driverkit.toml'),
      `[drivers.stuck]\ntype = "userprovider"\ndriver = "${BIN.fixture}"\nenv = { FIXTURE_CONTRACT = "userprovider", FIXTURE_CONFIGURE = "hang", FIXTURE_MARKER = "${marker}" }\n`,
    );
    const serve = spawn(process.execPath, [CLI, 'serve', '--listen', '127.0.0.1:0'], {
      cwd: dir,
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => serve.once('exit', resolve));
    onTestFinished(() => void (serve.exitCode === null && serve.kill('SIGKILL')));
    await waitFor(
      () => /^configuring \d+$/.test(existsSync(marker) ? readFileSync(marker, 'utf8') : ''),
      20_000,
      'the driver to be in its Configure',
    );
    const pid = Number(readFileSync(marker, 'utf8').split(' ')[1]);
    recordGroup(pid);
    serve.kill('SIGTERM');
    // Before, it waited out the 60 s start timeout and ignored SIGTERM meanwhile.
    expect(await exited).toBe(0);
    await waitFor(() => !isAlive(pid), 10_000, 'the driver to be gone');
  });

  it("a handshake naming another driver's socket is refused; that driver is not shut down and keeps its socket", async () => {
    const victim = useDriver({ name: 'victim', path: BIN.demo, contract: userprovider });
    await victim.ready;
    const address = victim.handshake!.address;
    const liar = useDriver({
      name: 'liar',
      path: BIN.fixture,
      contract: fixtureContract,
      env: { FIXTURE_MODE: 'line', FIXTURE_LINE: `1|1|unix|${address}|grpc|` },
    });
    const err = await expectRejection(liar.ready, DriverkitError);
    expect(err.code).toBe('HANDSHAKE_INVALID');
    expect(err.message).toMatch(
      /expected the handshake to name the socket the driver made, got ".*": it existed before the driver started/,
    );
    await liar.close();
    expect(existsSync(address)).toBe(true);
    expect((await victim.client.findUsers({ query: 'marie' })).users).toHaveLength(1);
  });
});
