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
import { serveHealth } from '../src/driver/services.js';
import { GrpcServer } from '../src/transport/server.js';
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

/**
 * A driver that listens on its own socket, names it in its handshake, then swaps that path
 * back and forth, every few hundred microseconds, between its socket and a symbolic link
 * to the socket named in argv[2]: whenever the host checks, it may see its own socket, and
 * whenever it dials, the other driver's.
 */
const FLIPPER = `const fs = require("fs"), path = require("path");
const [dir, victim] = [process.argv[1], process.argv[2]];
const own = path.join(dir, "own.sock"), keep = path.join(dir, "keep.sock");
require("net").createServer().listen(own, () => {
  fs.linkSync(own, keep);
  console.log("1|1|unix|" + own + "|grpc|");
  let link = true;
  const flip = () => {
    const tmp = path.join(dir, "tmp.sock");
    fs.rmSync(tmp, { force: true });
    if (link) fs.symlinkSync(victim, tmp); else fs.linkSync(keep, tmp);
    fs.renameSync(tmp, own);
    link = !link;
    setImmediate(flip);
  };
  flip();
});`;

describe('a handshake path swapped after the check', () => {
  it('for a symbolic link to another server: the host dials what it checked, never the other one', async () => {
    // The other server checks no host secret (a go-plugin driver, say) and counts its calls.
    const calls: string[] = [];
    const victim = new GrpcServer(undefined, {
      authorize: (_call, path) => void calls.push(path),
    });
    serveHealth(victim, []);
    const vdir = mkdtempSync(join(tmpdir(), 'dk-victim-'));
    onTestFinished(() => rmSync(vdir, { recursive: true, force: true }));
    const victimSocket = join(vdir, 'victim.sock');
    await victim.listen({ path: victimSocket });
    onTestFinished(() => victim.close());
    for (let i = 0; i < 15; i++) {
      const dir = mkdtempSync(join(tmpdir(), 'dk-flip-'));
      onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
      const script = join(dir, 'driver.sh');
      writeFileSync(
        script,
        `#!/bin/sh\nexec "${process.execPath}" -e '${FLIPPER}' "${dir}" "${victimSocket}"\n`,
      );
      chmodSync(script, 0o755);
      const hostile = launchDriver({
        name: 'hostile',
        path: script,
        contract: userprovider,
        logger: captureLogger(),
        startTimeout: 2000,
      });
      // Refused at the check, or its own socket (which speaks no gRPC) fails the start;
      // before, some tries dialed the other server: its health, then its Shutdown.
      await hostile.ready.catch(() => {});
      await hostile.close();
    }
    expect(calls).toEqual([]);
  }, 60_000);
});
