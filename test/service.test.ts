// A driver run as a service (DRIVERKIT_LISTEN): no host starts it; hosts find it by address,
// tell what it is by DriverInfo, and share it. TLS from files (rotated), SIGTERM drains.
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:http2';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { Client, credentials } from '@grpc/grpc-js';
import { describe, expect, it, onTestFinished } from 'vitest';
import { internalServices } from '../src/contracts/internal.js';
import { userprovider } from '../src/contracts/userprovider.js';
import { DriverkitError, RpcError } from '../src/errors.js';
import { validateConfig } from '../src/config/schema.js';
import { openHost } from '../src/host/host.js';
import { launchDriver } from '../src/launch/driver.js';
import type { DriverOptions } from '../src/launch/options.js';
import { createClient, errorStep } from '../src/rpc/client.js';
import { Status } from '../src/status.js';
import { grpcInvoke } from './grpc-js/invoke.js';
import { counter } from './fixtures/gen/contracts/counter.js';
import {
  captureLogger,
  expectRejection,
  hasGoToolchain,
  isAlive,
  requestQueue,
  spawnCollect,
  spawnUntil,
  waitFor,
} from './helpers.js';
import { certificates } from './certs.js';
import { BIN, CLI, ROOT } from './paths.js';

const EINSTEIN = '4c510ada-c86b-4815-8820-42cdf82c3d51';

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dk-svc-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Starts `bin` as a service; resolves once it says where it listens. Killed at test end. */
async function service(bin: string, env: Record<string, string>) {
  const running = await spawnUntil(bin, [], /"address":"(unix|tcp):\/\/([^"]+)"/, {
    on: 'stderr',
    env: { PATH: process.env.PATH, ...env },
  });
  return { ...running, address: running.match[2] };
}

/** A driver dialed by address, closed at test end. */
function dialed<C extends DriverOptions['contract']>(
  contract: C,
  address: string,
  more: Partial<DriverOptions<C>> = {},
) {
  const driver = launchDriver({
    name: 'svc',
    path: address,
    contract,
    address,
    logger: captureLogger(),
    ...more,
  });
  onTestFinished(() => driver.close());
  return driver;
}

describe('a driver run as a service', () => {
  it('serves hosts on a unix socket: DriverInfo picks the version, Configure is the deployment’s', async () => {
    const dir = tempDir();
    const users = join(ROOT, 'examples/users.json');
    const svc = await service(BIN.json, {
      DRIVERKIT_LISTEN: `unix://${join(dir, 'users.sock')}`,
      DRIVERKIT_CONFIGURE: JSON.stringify({ config: { users } }),
    });
    // Two hosts share it.
    const [a, b] = [
      dialed(userprovider, `unix://${svc.address}`),
      dialed(userprovider, `unix://${svc.address}`),
    ];
    await Promise.all([a.ready, b.ready]);
    expect(a.version).toBe(1);
    const [ra, rb] = await Promise.all([
      a.client.getUser({ userId: { opaqueId: EINSTEIN } }),
      b.client.getUser({ userId: { opaqueId: EINSTEIN } }),
    ]);
    expect([ra.user?.username, rb.user?.username]).toEqual(['einstein', 'einstein']);
    const refused = await expectRejection(
      a.client.configure({ config: { users: '/etc/passwd' } }),
      RpcError,
    );
    expect(refused.status).toBe(Status.PERMISSION_DENIED);
    expect(refused.details).toMatch(
      /its configuration is its deployment’s \(DRIVERKIT_CONFIGURE\)/,
    );
    // A host that closes leaves the service to its platform.
    await a.close();
    expect(isAlive(svc.child.pid!)).toBe(true);
    expect((await b.client.findUsers({ query: 'marie' })).users).toHaveLength(1);
  });

  it('a config entry with address: the host dials it, never configures it, and shows its replicas', async () => {
    const dir = tempDir();
    const svc = await service(BIN.demo, { DRIVERKIT_LISTEN: `unix://${join(dir, 'users.sock')}` });
    const host = await openHost({
      config: { drivers: { users: { type: 'userprovider', address: `unix://${svc.address}` } } },
      logger: captureLogger(),
    });
    onTestFinished(() => host.close());
    const users = await host.client('users', userprovider);
    expect((await users.findUsers({ query: 'einstein' })).users).toHaveLength(1);
    expect(host.status().users.replicas).toEqual([
      { address: `unix://${svc.address}`, state: 'ready', inflight: 0, failures: 0 },
    ]);
    await host.close();
    expect(isAlive(svc.child.pid!)).toBe(true);

    const invalid = (entry: Record<string, unknown>) => () =>
      validateConfig({ drivers: { users: { type: 'userprovider', ...entry } } }, 'f.toml', '/w');
    expect(invalid({ address: 'unix:///s.sock', config: { users: 'x' } })).toThrow(
      /drivers\.users\.config: expected no config table with address: a service is configured by its deployment/,
    );
    expect(invalid({ address: 'unix:///s.sock', driver: '/bin/true' })).toThrow(
      /drivers\.users\.address: expected one of driver, package or address, not driver and address/,
    );
    expect(invalid({ address: 'http://x:1' })).toThrow(/drivers\.users\.address: expected "unix:/);
  });

  it('refuses plaintext, or TLS without a client CA, off loopback unless told; a host refuses a service of another type', async () => {
    const plain = await spawnCollect(BIN.demo, [], {
      env: { PATH: process.env.PATH, DRIVERKIT_LISTEN: 'tcp://0.0.0.0:0' },
    });
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(
      /0\.0\.0\.0:0 is off loopback, and no TLS certificate is set: set DRIVERKIT_TLS_CERT/,
    );
    // TLS alone would let any client that reaches it call every method: mTLS, or say so.
    const certs = certificates(tempDir(), 'exposed');
    const tlsOnly: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      DRIVERKIT_LISTEN: 'tcp://0.0.0.0:0',
      DRIVERKIT_TLS_CERT: certs.cert,
      DRIVERKIT_TLS_KEY: certs.key,
    };
    const exposed = await spawnCollect(BIN.demo, [], { env: tlsOnly });
    expect(exposed.code).toBe(1);
    expect(exposed.stderr).toMatch(
      /0\.0\.0\.0:0 is off loopback, and no client CA is set: .*DRIVERKIT_TLS_CLIENT_CA .*DRIVERKIT_INSECURE=1/,
    );
    const meant = await service(BIN.demo, { ...tlsOnly, DRIVERKIT_INSECURE: '1' });
    expect(meant.address).toMatch(/:\d+$/);

    const svc = await service(BIN.counter, { DRIVERKIT_LISTEN: 'tcp://127.0.0.1:0' });
    const wrong = await expectRejection(
      dialed(userprovider, `tcp://${svc.address}`).ready,
      DriverkitError,
    );
    expect(wrong.code).toBe('DRIVER_INCOMPATIBLE');
    expect(wrong.message).toMatch(
      /expected a driver of type "userprovider" .*got one of type "counter"/,
    );
    const offLoopback = await expectRejection(
      dialed(counter, 'tcp://192.0.2.1:7443').ready,
      DriverkitError,
    );
    expect(offLoopback.message).toMatch(/plaintext off loopback; use tls:\/\//);
  });

  it('over TCP with mTLS from files: a host without a client certificate is refused; rotated files serve new connections, open ones go on', async () => {
    const dir = tempDir();
    const first = certificates(dir, 'one');
    const live = { cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key'), ca: join(dir, 'ca.crt') };
    copyFileSync(first.cert, live.cert);
    copyFileSync(first.key, live.key);
    copyFileSync(first.ca, live.ca);
    const svc = await service(BIN.demo, {
      DRIVERKIT_LISTEN: 'tcp://127.0.0.1:0',
      DRIVERKIT_TLS_CERT: live.cert,
      DRIVERKIT_TLS_KEY: live.key,
      DRIVERKIT_TLS_CLIENT_CA: live.ca,
      DRIVERKIT_HEALTH_LISTEN: 'tcp://127.0.0.1:0',
    });
    const address = `tls://${svc.address}`;
    // Probes that speak no TLS get health alone, in plaintext, on a port of its own.
    const probe = new Client(
      /"health":"tcp:\/\/([^"]+)"/.exec(svc.match.input)![1],
      credentials.createInsecure(),
    );
    onTestFinished(() => probe.close());
    const health = createClient(internalServices.health, grpcInvoke(probe));
    expect((await health.check({ service: '' })).status).toBe(1);
    const tls = { caFile: first.ca, certFile: first.clientCert, keyFile: first.clientKey };
    const host = dialed(userprovider, address, { tls });
    await host.ready;
    expect((await host.client.findUsers({ query: 'einstein' })).users).toHaveLength(1);

    // mTLS mistakes fail the start at once (the start timeout is 60 s), each named.
    let started = Date.now();
    const anonymous = await expectRejection(
      dialed(userprovider, address, { tls: { caFile: first.ca } }).ready,
      DriverkitError,
    );
    expect(anonymous.code).toBe('CONNECT_FAILED');
    expect(anonymous.message).toMatch(/got none: tls:\/\/127\.0\.0\.1:\d+: .*certificate/);
    expect(Date.now() - started).toBeLessThan(10_000);
    started = Date.now();
    const strangers = certificates(dir, 'strangers');
    const wrongCa = await expectRejection(
      dialed(userprovider, address, {
        tls: { caFile: strangers.ca, certFile: first.clientCert, keyFile: first.clientKey },
      }).ready,
      DriverkitError,
    );
    expect(wrongCa.message).toMatch(/got none: tls:\/\/127\.0\.0\.1:\d+: .*certificate/);
    expect(Date.now() - started).toBeLessThan(10_000);

    // cert-manager's rotation: a new CA and certificates, written over the files.
    const second = certificates(dir, 'two');
    const reloaded = new Promise<void>((resolve) => {
      const look = (d: Buffer) => d.toString().includes('TLS certificates reloaded') && resolve();
      svc.child.stderr!.on('data', look);
    });
    copyFileSync(second.cert, live.cert);
    copyFileSync(second.key, live.key);
    copyFileSync(second.ca, live.ca);
    await reloaded;
    // Files land one by one: a host that meets a half-rotated service fails its start at
    // once, and starts again, as a supervisor's backoff would.
    const rotated = { caFile: second.ca, certFile: second.clientCert, keyFile: second.clientKey };
    let next = dialed(userprovider, address, { tls: rotated });
    await waitFor(
      () =>
        next.ready.then(
          () => true,
          () => ((next = dialed(userprovider, address, { tls: rotated })), false),
        ),
      10_000,
      'a host of the rotated CA to start',
    );
    expect((await next.client.findUsers({ query: 'marie' })).users).toHaveLength(1);
    // The first host's connection was made before the rotation, and keeps working.
    expect((await host.client.findUsers({ query: 'marie' })).users).toHaveLength(1);
  });

  it('SIGTERM: NOT_SERVING first, then GOAWAY; a call in flight finishes, and the service exits 0', async () => {
    const svc = await service(BIN.counter, {
      DRIVERKIT_LISTEN: 'tcp://127.0.0.1:0',
      DRIVERKIT_DRAIN_DELAY_MS: '600000',
    });
    const host = dialed(counter, `tcp://${svc.address}`);
    await host.ready;
    const q = requestQueue<{ i: number }>();
    const echoes = host.client.echo(q.requests)[Symbol.asyncIterator]();
    q.send({ i: 1 });
    expect((await echoes.next()).value).toMatchObject({ i: 1 });

    const draining = new Promise<void>((resolve) => {
      const look = (d: Buffer) => d.toString().includes('SIGTERM: draining') && resolve();
      svc.child.stderr!.on('data', look);
    });
    svc.child.kill('SIGTERM');
    await draining;
    const late = await expectRejection(
      dialed(counter, `tcp://${svc.address}`, { startTimeout: 1000 }).ready,
      DriverkitError,
    );
    expect(late.message).toMatch(/NOT_SERVING, expected SERVING/);
    // The second signal ends the delay: GOAWAY, and the open stream still finishes.
    svc.child.kill('SIGTERM');
    q.send({ i: 2 });
    expect((await echoes.next()).value).toMatchObject({ i: 2 });
    q.end();
    expect((await echoes.next()).done).toBe(true);
    expect((await svc.done).code).toBe(0);
  });
});

describe('a service that is down', () => {
  it('fails its start at once, naming each replica and why; then fails calls fast until it is up', async () => {
    const dir = tempDir();
    const sockets = [join(dir, 'a.sock'), join(dir, 'b.sock')];
    const started = Date.now();
    const err = await expectRejection(
      dialed(userprovider, sockets[0], { address: sockets.map((p) => `unix://${p}`) }).ready,
      DriverkitError,
    );
    expect(err.code).toBe('CONNECT_FAILED');
    for (const p of sockets) expect(err.message).toContain(`unix://${p}: `);
    expect(Date.now() - started).toBeLessThan(10_000);

    // Through a host: failed, calls fail fast, and its backoff finds it once it listens.
    const host = await openHost({
      config: {
        drivers: {
          svc: { type: 'userprovider', address: `unix://${sockets[0]}`, restart_delay: '100ms' },
        },
      },
      logger: captureLogger(),
    });
    onTestFinished(() => host.close());
    await expectRejection(host.driver('svc'), DriverkitError);
    const fast = Date.now();
    const down = await expectRejection(host.client('svc', userprovider), DriverkitError);
    expect(Date.now() - fast).toBeLessThan(100);
    expect(down.message).toMatch(
      /driver "svc".*not serving \(failed\): its last start failed: .*unix:\/\/.*a\.sock: connect ENOENT/,
    );
    await service(BIN.demo, { DRIVERKIT_LISTEN: `unix://${sockets[0]}` });
    await waitFor(() => host.isReady('svc'), 10_000, 'the service found by the backoff');
    const users = await host.client('svc', userprovider);
    expect((await users.findUsers({ query: 'marie' })).users).toHaveLength(1);
  });
});

describe('a service under half-open calls', () => {
  it('1,024 connections each holding a call that never sends its request do not lock a new host out', async () => {
    const svc = await service(BIN.demo, { DRIVERKIT_LISTEN: 'tcp://127.0.0.1:0' });
    // Every connection the service takes (1,024), each with a call whose message never comes.
    const sessions = await Promise.all(
      Array.from({ length: 1024 }, async () => {
        const session = connect(`http://${svc.address}`);
        session.on('error', () => {});
        const headers = { ':method': 'POST', 'content-type': 'application/grpc', te: 'trailers' };
        const stream = session.request({
          ...headers,
          ':path': '/driverkit.userprovider.v1.UserProvider/FindUsers',
        });
        stream.on('error', () => {});
        stream.write(Buffer.from([0, 0, 0, 0, 9])); // a 9-byte message, of which nothing follows
        // A health check behind it on the same connection: once it is answered, the service
        // has taken the connection and the half-open call in (frames arrive in order).
        const check = session.request({ ...headers, ':path': '/grpc.health.v1.Health/Check' });
        // Past a quarter of them, one peer's own oldest give way (maxSessionsPerPeer).
        check.on('error', () => {});
        check.end(Buffer.from([0, 0, 0, 0, 0]));
        check.resume();
        await new Promise((resolve) => check.once('close', resolve));
        return session;
      }),
    );
    onTestFinished(() => sessions.forEach((s) => s.destroy()));
    const host = dialed(userprovider, `tcp://${svc.address}`);
    await host.ready;
    for (let i = 0; i < 5; i++)
      expect((await host.client.findUsers({ query: 'marie' })).users).toHaveLength(1);
  });
});

describe('driverkit serve in front of services', () => {
  it('its readiness follows its required service, and SIGTERM drains: NOT_SERVING, calls still answered, exit 0', async () => {
    const dir = tempDir();
    const svc = await service(BIN.demo, { DRIVERKIT_LISTEN: `unix://${join(dir, 'users.sock')}` });
    const probePort = await freePort();
    writeFileSync(
      join(dir, 'driverkit.toml'),
      `[gateway]\ndrain_delay = "10m"\nhealth_listen = "127.0.0.1:${probePort}"\n\n[drivers.users]\ntype = "userprovider"\naddress = "unix://${svc.address}"\nrequired = true\n`,
    );
    const { match, child, done } = await spawnUntil(
      process.execPath,
      [CLI, 'serve', '--listen', '127.0.0.1:0'],
      /driverkit: serving .* on (\S+)\n/,
      { cwd: dir, on: 'stdout' },
    );
    const channel = new Client(match[1], credentials.createInsecure());
    onTestFinished(() => channel.close());
    const map = (err: { code: number; details: string }, method: string) =>
      new RpcError(err.code as never, err.details, { method });
    const users = createClient(userprovider.versions[1], grpcInvoke(channel), errorStep(map));
    const health = createClient(internalServices.health, grpcInvoke(channel), errorStep(map));
    const status = async () => (await health.check({ service: '' })).status;
    expect(await status()).toBe(1);
    const probe = new Client(`127.0.0.1:${probePort}`, credentials.createInsecure());
    onTestFinished(() => probe.close());
    const probed = createClient(internalServices.health, grpcInvoke(probe));
    expect((await probed.check({ service: '' })).status).toBe(1);

    // The only replica gone: the gateway is not ready (polled: no event reaches a client).
    svc.child.kill('SIGKILL');
    await waitFor(async () => (await status()) === 2, 10_000, 'NOT_SERVING without a replica');
    const back = await service(BIN.demo, { DRIVERKIT_LISTEN: `unix://${svc.address}` });
    await waitFor(async () => (await status()) === 1, 10_000, 'SERVING again');

    const draining = new Promise<void>((resolve) => {
      const look = (d: Buffer) => d.toString().includes('draining') && resolve();
      child.stderr!.on('data', look);
    });
    child.kill('SIGTERM');
    await draining;
    expect(await status()).toBe(2);
    expect((await users.findUsers({ query: 'einstein' })).users).toHaveLength(1);
    child.kill('SIGTERM');
    expect((await done).code).toBe(0);
    expect(isAlive(back.child.pid!)).toBe(true);
  });
});

/** A TCP port free a moment ago (for a config that needs a fixed one). */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

describe.skipIf(!hasGoToolchain)('a go-plugin driver as a service', () => {
  it('driverkit serve with one entry is its launcher: hosts dial it by address, DriverInfo and all', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'driverkit.toml'),
      `bin_dir = "bin"\n[drivers.users]\ntype = "userprovider"\ndriver = "${join(ROOT, 'drivers/userprovider/go')}"\nconfig = { any = "thing" }\n`,
    );
    const { match } = await spawnUntil(
      process.execPath,
      [CLI, 'serve', '--listen', '127.0.0.1:0'],
      /driverkit: serving .* on (\S+)\n/,
      { cwd: dir, endSignal: 'SIGTERM' },
    );
    const host = dialed(userprovider, `tcp://${match[1]}`);
    await host.ready;
    expect(host.version).toBe(1);
    expect((await host.client.findUsers({ query: 'einstein' })).users).toHaveLength(1);
    // Another type's host is told what it dialed.
    const wrong = await expectRejection(dialed(counter, `tcp://${match[1]}`).ready, DriverkitError);
    expect(wrong.message).toMatch(
      /expected a driver of type "counter" .*got one of type "userprovider"/,
    );
  }, 120_000);
});

describe('a socket folder', () => {
  it('each NAME.sock in socket_dir is driver NAME, found and forgotten as sockets come and go', async () => {
    const dir = tempDir();
    const sockets = join(dir, 'sockets');
    mkdirSync(sockets);
    const alpha = await service(BIN.demo, {
      DRIVERKIT_LISTEN: `unix://${join(sockets, 'alpha.sock')}`,
    });
    writeFileSync(
      join(dir, 'driverkit.toml'),
      `socket_dir = "sockets"\n[drivers.local]\ntype = "userprovider"\ndriver = "${BIN.demo}"\n`,
    );
    const { match } = await spawnUntil(
      process.execPath,
      [CLI, 'serve', '--listen', '127.0.0.1:0'],
      /driverkit: serving (.*) on (\S+)\n/,
      { cwd: dir, endSignal: 'SIGTERM' },
    );
    expect(match[1]).toBe('local, alpha');
    const channel = new Client(match[2], credentials.createInsecure());
    onTestFinished(() => channel.close());
    const map = (err: { code: number; details: string }, method: string) =>
      new RpcError(err.code as never, err.details, { method });
    const users = createClient(userprovider.versions[1], grpcInvoke(channel), errorStep(map));
    const via = (name: string) => ({ metadata: { 'driverkit-driver': name } });
    const answers = (name: string) =>
      users.findUsers({ query: 'einstein' }, via(name)).then(
        (r) => r.users.length === 1,
        () => false,
      );
    expect(await answers('alpha')).toBe(true);

    // A socket appears: a driver of that name (polled: the client has no event to wait on).
    await service(BIN.demo, { DRIVERKIT_LISTEN: `unix://${join(sockets, 'beta.sock')}` });
    await waitFor(() => answers('beta'), 10_000, 'beta found');
    const ls = await spawnCollect(process.execPath, [CLI, 'ls'], { cwd: dir });
    expect(ls.stdout).toMatch(/^beta\s+userprovider\s+socket\s+\S*beta\.sock\s+found\s+ready/m);
    // Its socket goes (the service drains and removes it): so does the driver.
    alpha.child.kill('SIGTERM');
    await alpha.done;
    await waitFor(
      () =>
        users.findUsers({ query: 'x' }, via('alpha')).then(
          () => false,
          (e: Error) => /no UserProvider driver named "alpha"/.test(e.message),
        ),
      10_000,
      'alpha gone',
    );
    expect(await answers('beta')).toBe(true);
  });
});

describe('driverkit serve over TLS from files', () => {
  it('hosts dial it by tls:// address with mTLS, and rotated files serve new connections', async () => {
    const dir = tempDir();
    const first = certificates(dir, 'g1');
    const live = { cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') };
    copyFileSync(first.cert, live.cert);
    copyFileSync(first.key, live.key);
    writeFileSync(
      join(dir, 'driverkit.toml'),
      `[gateway]\ntls_cert = "${live.cert}"\ntls_key = "${live.key}"\nclient_ca = "${first.ca}"\n[drivers.users]\ntype = "userprovider"\ndriver = "${BIN.demo}"\n`,
    );
    const { match } = await spawnUntil(
      process.execPath,
      [CLI, 'serve', '--listen', '127.0.0.1:0'],
      /driverkit: serving .* on (\S+)\n/,
      { cwd: dir, endSignal: 'SIGTERM' },
    );
    const clientTls = { certFile: first.clientCert, keyFile: first.clientKey };
    const host = dialed(userprovider, `tls://${match[1]}`, {
      tls: { caFile: first.ca, ...clientTls },
    });
    await host.ready;
    expect((await host.client.findUsers({ query: 'einstein' })).users).toHaveLength(1);

    const next = certificates(dir, 'g2');
    copyFileSync(next.cert, live.cert);
    copyFileSync(next.key, live.key);
    const wanted = new X509Certificate(readFileSync(next.cert)).fingerprint256;
    const [hostName, port] = [
      match[1].slice(0, match[1].lastIndexOf(':')),
      Number(match[1].split(':').pop()),
    ];
    const served = () =>
      new Promise<string>((resolve) => {
        const s = tlsConnect(
          {
            host: hostName,
            port,
            ca: [readFileSync(first.ca), readFileSync(next.ca)],
            cert: readFileSync(first.clientCert),
            key: readFileSync(first.clientKey),
            ALPNProtocols: ['h2'],
          },
          () => {
            resolve(s.getPeerX509Certificate()?.fingerprint256 ?? '');
            s.destroy();
          },
        );
        s.on('error', () => resolve(''));
      });
    // grpc-js reads the files every second: polled, as the change has no event outside.
    await waitFor(
      async () => (await served()) === wanted,
      10_000,
      'the renewed certificate served',
    );
    const fresh = dialed(userprovider, `tls://${match[1]}`, {
      tls: { caFile: next.ca, ...clientTls },
    });
    await fresh.ready;
    expect((await fresh.client.findUsers({ query: 'marie' })).users).toHaveLength(1);
    expect((await host.client.findUsers({ query: 'marie' })).users).toHaveLength(1);
  });
});
