// Drivers as services on other "machines" (network namespaces on one bridge): mTLS across
// them, replicas killed and cut off under load, and replicas found by DNS from a host on a
// machine of its own. Skipped, not passed, where namespaces cannot be made.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { readStatus, statusPath } from '../src/host/status-file.js';
import { launchDriver } from '../src/launch/driver.js';
import { certificates } from './certs.js';
import { fixtureContract } from './fixtures/contract.js';
import { captureLogger, load, spawnUntil, waitFor } from './helpers.js';
import { canMakeMachines, type Machines, machines } from './netns.js';
import { BIN, CLI } from './paths.js';

const PORT = 7443;

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dk-mach-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Starts `bin` as a service on machine `name`, listening on its address; killed at test end. */
function serviceOn(m: Machines, name: string, bin: string, env: Record<string, string>) {
  const [cmd, args] = m.exec(name, [bin]);
  return spawnUntil(cmd, args, /serving as a service/, {
    on: 'stderr',
    env: { PATH: process.env.PATH, DRIVERKIT_LISTEN: `tcp://${m.address[name]}:${PORT}`, ...env },
  });
}

describe.skipIf(!canMakeMachines)('drivers as services on other machines', () => {
  it('mTLS across machines; 3 replicas under 64 calls: SIGKILL, drain and restart, a partition and its heal, SIGSTOP, a certificate rotation to a new CA fail no call', async () => {
    const m = machines(['r1', 'r2', 'r3']);
    const replicas = ['r1', 'r2', 'r3'];
    const dir = tempDir();
    const ips = replicas.map((r) => m.address[r]);
    const certs = certificates(dir, 'm', ips);
    // The files the services read, rotated in place below as cert-manager would.
    const live = { cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key'), ca: join(dir, 'ca.crt') };
    copyFileSync(certs.cert, live.cert);
    copyFileSync(certs.key, live.key);
    // The host's trust, read at each new connection.
    copyFileSync(certs.ca, live.ca);
    const start = (r: string) =>
      serviceOn(m, r, BIN.fixture, {
        DRIVERKIT_TLS_CERT: live.cert,
        DRIVERKIT_TLS_KEY: live.key,
        DRIVERKIT_TLS_CLIENT_CA: certs.ca,
      });
    const procs = await Promise.all(replicas.map(start));
    const driver = launchDriver({
      name: 'remote',
      path: 'remote',
      contract: fixtureContract,
      address: replicas.map((r) => `tls://${m.address[r]}:${PORT}`),
      tls: { caFile: live.ca, certFile: certs.clientCert, keyFile: certs.clientKey },
      logger: captureLogger(),
    });
    onTestFinished(() => driver.close());
    await driver.ready;
    const state = (i: number) => driver.replicas![i].state;
    const calls = load(() =>
      driver.client.getUser({ userId: { opaqueId: 'config' } }, { timeout: 20_000 }),
    );
    await calls.more(300);

    procs[0].child.kill('SIGKILL');
    await waitFor(() => state(0) === 'ejected', 5000, 'r1 ejected');
    await calls.more(300);
    procs[0] = await start('r1');
    await waitFor(() => state(0) === 'ready', 5000, 'r1 ready again');

    procs[1].child.kill('SIGTERM');
    expect((await procs[1].done).code).toBe(0);
    await calls.more(300);
    procs[1] = await start('r2');
    await waitFor(() => state(1) === 'ready', 5000, 'r2 ready again');

    m.link('r3', false);
    const cut = Date.now();
    // Three checks unanswered in a row (1 s each) eject; calls on it wait for the heal.
    await waitFor(() => state(2) === 'ejected', 8000, 'r3 ejected');
    expect(Date.now() - cut).toBeLessThan(6000);
    await calls.more(300);
    m.link('r3', true);
    const healed = Date.now();
    await waitFor(() => state(2) === 'ready', 5000, 'r3 ready again');
    expect(Date.now() - healed).toBeLessThan(2000);
    await calls.more(300);

    // A hung replica: out after three missed checks; its stuck calls finish on SIGCONT.
    const hung = procs[2].child;
    onTestFinished(() => void hung.kill('SIGCONT'));
    hung.kill('SIGSTOP');
    const stopped = Date.now();
    await waitFor(() => state(2) === 'ejected', 8000, 'r3 ejected while stopped');
    expect(Date.now() - stopped).toBeLessThan(6000);
    await calls.more(300);
    hung.kill('SIGCONT');
    await waitFor(() => state(2) === 'ready', 5000, 'r3 ready after SIGCONT');

    const reloaded = procs.map(
      ({ child }) =>
        new Promise<void>((resolve) =>
          child.stderr!.on('data', (d: Buffer) => {
            if (d.toString().includes('TLS certificates reloaded')) resolve();
          }),
        ),
    );
    // A rotation to a new CA: the hosts trust both first (as a trust bundle is rolled out),
    // then every replica's files are replaced.
    const next = certificates(dir, 'm2', ips);
    writeFileSync(live.ca, readFileSync(certs.ca, 'utf8') + readFileSync(next.ca, 'utf8'));
    copyFileSync(next.cert, live.cert);
    copyFileSync(next.key, live.key);
    await Promise.all(reloaded);
    await calls.more(300);
    // A host that trusts only the new CA reaches every replica: each serves the new certificate.
    const fresh = launchDriver({
      name: 'fresh',
      path: 'fresh',
      contract: fixtureContract,
      address: replicas.map((r) => `tls://${m.address[r]}:${PORT}`),
      tls: { caFile: next.ca, certFile: certs.clientCert, keyFile: certs.clientKey },
      logger: captureLogger(),
    });
    onTestFinished(() => fresh.close());
    await fresh.ready;
    await waitFor(
      () => fresh.replicas!.every((r) => r.state === 'ready'),
      5000,
      () => `every replica ready to the new CA (${JSON.stringify(fresh.replicas)})`,
    );
    const { failures } = await calls.stop();
    expect(failures.map((e) => e.message)).toEqual([]);
  });

  it('dns:/// with mTLS from a host (serve) on its own machine: each record a replica, added and removed with DNS', async () => {
    const m = machines(['h', 'r1', 'r2', 'r3']);
    const dir = tempDir();
    const certs = certificates(
      dir,
      'd',
      ['r1', 'r2', 'r3'].map((r) => m.address[r]),
    );
    await Promise.all(
      ['r1', 'r2', 'r3'].map((r) =>
        serviceOn(m, r, BIN.demo, {
          DRIVERKIT_TLS_CERT: certs.cert,
          DRIVERKIT_TLS_KEY: certs.key,
          DRIVERKIT_TLS_CLIENT_CA: certs.ca,
        }),
      ),
    );
    const name = 'users.drivers.test';
    m.hosts('h', [
      [name, m.address.r1],
      [name, m.address.r2],
    ]);
    const config = join(dir, 'driverkit.toml');
    writeFileSync(
      config,
      `bin_dir = "bin"\n[drivers.users]\ntype = "userprovider"\naddress = "dns:///${name}:${PORT}"\ntls_ca = "${certs.ca}"\ntls_cert = "${certs.clientCert}"\ntls_key = "${certs.clientKey}"\n`,
    );
    const [cmd, args] = m.exec('h', [process.execPath, CLI, 'serve', '--config', config]);
    await spawnUntil(cmd, args, /driverkit: serving .* on (\S+)\n/, {
      env: { PATH: process.env.PATH },
      endSignal: 'SIGTERM',
    });
    const replicas = () =>
      (readStatus(statusPath(join(dir, 'bin')), config)?.drivers.users?.replicas ?? [])
        .filter((r) => r.state === 'ready')
        .map((r) => r.address)
        .sort();
    const at = (...rs: string[]) => rs.map((r) => `tls://${m.address[r]}:${PORT}`).sort();
    await waitFor(
      () => replicas().join() === at('r1', 'r2').join(),
      15_000,
      () => `r1, r2 (${replicas()})`,
    );
    m.hosts('h', [
      [name, m.address.r2],
      [name, m.address.r3],
    ]);
    await waitFor(
      () => replicas().join() === at('r2', 'r3').join(),
      15_000,
      () => `r2, r3 (${replicas()})`,
    );
  });
});
