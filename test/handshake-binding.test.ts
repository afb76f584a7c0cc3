// A driver's handshake can only name an address its own processes listen on: a hostile
// driver that names another driver's socket or port, made after its own spawn, is refused,
// and the other driver is neither called nor shut down by this host.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { userprovider } from '../src/contracts/userprovider.js';
import { DriverkitError } from '../src/errors.js';
import { launchDriver } from '../src/launch/driver.js';
import { captureLogger, expectRejection, useDriver } from './helpers.js';
import { BIN } from './paths.js';

/** How the hostile driver names the victim: as it is, or by a hard link of the victim's socket. */
type How = 'as-is' | 'hard link';

/**
 * A "driver" that waits for the test to write a victim's address to a file, then prints a
 * handshake naming it and stays up, as a hostile driver would; `listen` is a node script
 * it runs to listen somewhere itself, printing the handshake once it does.
 */
function hostileDriver(network: 'unix' | 'tcp', how: How = 'as-is', listen?: string) {
  const dir = mkdtempSync(join(tmpdir(), 'dk-hostile-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const [script, target] = [join(dir, 'driver.sh'), join(dir, 'target')];
  const named = how === 'hard link' ? join(dir, 'link.sock') : '$(cat "$T")';
  const announce = listen
    ? `exec "${process.execPath}" -e '${listen}' "$(cat "$T")"`
    : `echo "1|1|${network}|${named}|grpc|"\nexec sleep 1000`;
  writeFileSync(
    script,
    `#!/bin/sh\nT="${target}"\nwhile [ ! -s "$T" ]; do sleep 0.05; done\n${how === 'hard link' ? `ln "$(cat "$T")" "${named}"\n` : ''}${announce}\n`,
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

// Listens on the victim's port at 127.0.0.2, then names the victim's 127.0.0.1.
const SAME_PORT = `const a = process.argv[1]; const port = Number(a.split(":")[1]);
require("net").createServer().listen(port, "127.0.0.2", () => console.log("1|1|tcp|" + a + "|grpc|"));`;
const TCP = { FIXTURE_MODE: 'tcp', FIXTURE_CONTRACT: 'userprovider' };

describe('the handshake names what the driver listens on', () => {
  it.each([
    { what: 'a unix socket', network: 'unix' as const, how: 'as-is' as How, env: {} },
    {
      what: 'a hard link of a unix socket',
      network: 'unix' as const,
      how: 'hard link' as How,
      env: {},
    },
    { what: 'a TCP port', network: 'tcp' as const, how: 'as-is' as How, env: TCP },
    {
      what: 'a TCP port it also listens on, at another address',
      network: 'tcp' as const,
      how: 'as-is' as How,
      env: TCP,
      listen: SAME_PORT,
    },
  ])(
    "$what of another driver, made after the hostile one's spawn, is refused",
    async ({
      network,
      how,
      env,
      listen,
    }: {
      network: 'unix' | 'tcp';
      how: How;
      env: Record<string, string>;
      listen?: string;
    }) => {
      const hostile = hostileDriver(network, how, listen);
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
      expect(err.message).toMatch(
        /the driver's own processes listen on, got .*: none of them does/,
      );
      await hostile.driver.close();
      expect(victim.state).toBe('ready');
      expect((await victim.client.findUsers({ query: 'x' })).users).toBeDefined();
    },
  );
});
