// A driver's handshake can only name an address its own processes listen on: a hostile
// driver that names another driver's socket or port, made after its own spawn, is refused,
// and the other driver is neither called nor shut down by this host.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { userprovider } from '../src/contracts/userprovider.js';
import { DriverkitError } from '../src/errors.js';
import { launchDriver } from '../src/host/driver.js';
import { captureLogger, expectRejection, useDriver } from './helpers.js';
import { BIN } from './paths.js';

/**
 * A "driver" that waits for the test to write a victim's address to a file, then prints a
 * handshake naming it and stays up, as a hostile driver would.
 */
function hostileDriver(network: 'unix' | 'tcp') {
  const dir = mkdtempSync(join(tmpdir(), 'dk-hostile-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const [script, target] = [join(dir, 'driver.sh'), join(dir, 'target')];
  writeFileSync(
    script,
    `#!/bin/sh\nwhile [ ! -s "${target}" ]; do sleep 0.05; done\necho "1|1|${network}|$(cat "${target}")|grpc|"\nexec sleep 1000\n`,
  );
  chmodSync(script, 0o755);
  const driver = launchDriver({
    name: 'hostile',
    path: script,
    contract: userprovider,
    logger: captureLogger(),
  });
  onTestFinished(() => driver.close());
  return { driver, point: (address: string) => writeFileSync(target, address) };
}

describe('the handshake names what the driver listens on', () => {
  it.each([
    { network: 'unix' as const, env: {} as Record<string, string> },
    { network: 'tcp' as const, env: { FIXTURE_MODE: 'tcp', FIXTURE_CONTRACT: 'userprovider' } },
  ])(
    "a $network address of another driver, made after the hostile one's spawn, is refused",
    async ({ network, env }) => {
      const hostile = hostileDriver(network);
      const victim = useDriver({
        name: 'victim',
        path: network === 'unix' ? BIN.demo : BIN.fixture,
        contract: userprovider,
        env,
      });
      await victim.ready;
      hostile.point(victim.handshake!.address);
      const err = await expectRejection(hostile.driver.ready, DriverkitError);
      expect(err.code).toBe('HANDSHAKE_INVALID');
      expect(err.message).toContain(
        `the driver's own processes listen on, got ${JSON.stringify(victim.handshake!.address)}: none of them does`,
      );
      await hostile.driver.close();
      expect(victim.state).toBe('ready');
      expect((await victim.client.findUsers({ query: 'x' })).users).toBeDefined();
    },
  );
});
