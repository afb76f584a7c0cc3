import { describe, expect, it, onTestFinished } from 'vitest';
import { openHost } from '../src/host/host.js';
import { userprovider } from '../src/contracts/userprovider.js';
import { DriverkitError } from '../src/errors.js';
import { fixtureContract } from './fixtures/contract.js';
import { captureLogger, expectRejection, useDriver } from './helpers.js';
import { BIN } from './paths.js';

describe('AutoMTLS (TS host ↔ TS driver)', () => {
  it('each side sends a one-time certificate and calls go over verified TLS', async () => {
    const driver = useDriver({
      name: 'tls',
      path: BIN.demo,
      contract: userprovider,
      autoMTLS: true,
    });
    await driver.ready;
    expect(driver.handshake?.serverCert?.length).toBeGreaterThan(50);
    expect((await driver.client.findUsers({ query: 'marie' })).users).toHaveLength(1);
  });

  it('is switched on by auto_mtls in config', async () => {
    const host = await openHost({
      config: { drivers: { users: { type: 'userprovider', driver: BIN.demo, auto_mtls: true } } },
      logger: captureLogger(),
    });
    onTestFinished(() => host.close());
    const driver = await host.driver('users');
    expect(driver.handshake?.serverCert).toBeDefined();
    expect(
      (await (await host.client('users', userprovider)).findUsers({ query: 'rich' })).users,
    ).toHaveLength(1);
  });

  it('works over TCP too', async () => {
    const driver = useDriver({
      name: 'tls',
      path: BIN.fixture,
      contract: fixtureContract,
      env: { FIXTURE_MODE: 'tcp' },
      autoMTLS: true,
    });
    await driver.ready;
    expect(driver.handshake?.network).toBe('tcp');
    expect((await driver.client.getUser({ userId: { opaqueId: 'a' } })).user?.username).toBe('a');
  });

  it('a driver that answers without a certificate is refused, not used in plaintext', async () => {
    // This "driver" prints a plaintext handshake whatever the host asked for.
    const driver = useDriver({
      name: 'plain',
      path: BIN.fixture,
      contract: fixtureContract,
      env: { FIXTURE_MODE: 'line', FIXTURE_LINE: '1|1|unix|/tmp/x|grpc|' },
      autoMTLS: true,
    });
    const err = await expectRejection(driver.ready, DriverkitError);
    expect(err.code).toBe('PROTOCOL_UNSUPPORTED');
    expect(err.message).toMatch(/AutoMTLS was asked for, but the driver sent no certificate/);
  });

  it('a certificate the host did not ask for is refused', async () => {
    const cert = 'A'.repeat(80);
    const driver = useDriver({
      name: 'eager',
      path: BIN.fixture,
      contract: fixtureContract,
      env: { FIXTURE_MODE: 'line', FIXTURE_LINE: `1|1|unix|/tmp/x|grpc|${cert}` },
    });
    expect((await expectRejection(driver.ready, DriverkitError)).message).toMatch(
      /sent a TLS certificate, but this host did not ask for AutoMTLS/,
    );
  });

  it("a driver that does not trust the host's certificate fails the start clearly", async () => {
    const driver = useDriver({
      name: 'mitm',
      path: BIN.fixture,
      contract: fixtureContract,
      env: { FIXTURE_MODE: 'wrong-cert' },
      autoMTLS: true,
      startTimeout: 5000,
    });
    const err = await expectRejection(driver.ready, DriverkitError);
    expect(err.code).toBe('CONNECT_FAILED');
    expect(err.message).toMatch(
      /driver "mitm" .*cannot reach its gRPC server at tcp:127\.0\.0\.1:\d+/,
    );
  });
});
