// A socket folder is trusted only as ssh's StrictModes trusts a home folder: one others can
// write in (without the sticky bit) is refused, a socket another user made is refused, and
// silent sockets are asked at once, so they cannot hold the real drivers back.
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { DriverkitError } from '../src/errors.js';
import { openHost } from '../src/host/host.js';
import { captureLogger, expectRejection, spawnUntil } from './helpers.js';
import { BIN } from './paths.js';

/** A folder for sockets, of `mode`, inside a private temp folder (removed at test end). */
function socketFolder(mode: number): string {
  const root = mkdtempSync(join(tmpdir(), 'dk-sockdir-'));
  onTestFinished(() => rmSync(root, { recursive: true, force: true }));
  chmodSync(root, 0o755);
  const dir = join(root, 'sockets');
  mkdirSync(dir);
  chmodSync(dir, mode);
  return dir;
}

/** The demo UserProvider as a service at `dir/NAME.sock`, as user `uid` (default ours). */
async function sidecar(dir: string, name: string, uid?: number) {
  return spawnUntil(BIN.demo, [], /serving as a service/, {
    on: 'stderr',
    env: { PATH: process.env.PATH, DRIVERKIT_LISTEN: `unix://${join(dir, `${name}.sock`)}` },
    ...(uid === undefined ? {} : { uid, gid: uid }),
  });
}

/** The drivers a host found in its socket folder. */
const foundIn = (host: Awaited<ReturnType<typeof hostOf>>['host']) =>
  host.config.drivers.map((d) => d.name).filter((n) => n !== 'local');

async function hostOf(dir: string, more: Record<string, unknown> = {}) {
  const logger = captureLogger();
  // A config needs a driver of its own; it is never started here.
  const drivers = { local: { type: 'userprovider', driver: BIN.demo } };
  const host = await openHost({ config: { socket_dir: dir, drivers, ...more }, logger });
  onTestFinished(() => host.close());
  return { host, logger };
}

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

describe('a socket folder', () => {
  it('writable by others, without the sticky bit, is refused: anyone could replace a socket', async () => {
    const dir = socketFolder(0o777);
    await sidecar(dir, 'users');
    const { host } = await hostOf(dir);
    const err = await expectRejection(host.discover(), DriverkitError);
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toMatch(/socket_dir: refused: .* is writable by others \(mode 0777\)/);
    expect(foundIn(host)).toEqual([]);
  });

  it.skipIf(!isRoot)(
    'sticky and world-writable (1777): a socket another user planted is refused, the real one found',
    async () => {
      const dir = socketFolder(0o1777);
      // User nobody binds a driver of a known type, which would answer DriverInfo.
      await sidecar(dir, 'auth', NOBODY);
      await sidecar(dir, 'users');
      const { host, logger } = await hostOf(dir);
      await host.discover();
      expect(foundIn(host)).toEqual(['users']);
      expect(logger.entries).toContainEqual(
        expect.objectContaining({
          message: 'socket refused: made by another user',
          fields: expect.objectContaining({ uid: NOBODY }),
        }),
      );
    },
  );

  it('20 sockets that never answer hold the real driver back by less than 3 s', async () => {
    const dir = socketFolder(0o700);
    for (let i = 0; i < 20; i++) {
      // Accepts, then says nothing: its DriverInfo never comes.
      const silent = createServer(() => {});
      await new Promise<void>((resolve) => silent.listen(join(dir, `silent${i}.sock`), resolve));
      onTestFinished(() => void silent.close());
    }
    await sidecar(dir, 'users');
    const { host } = await hostOf(dir);
    const started = Date.now();
    await host.discover();
    expect(Date.now() - started).toBeLessThan(3000);
    expect(foundIn(host)).toEqual(['users']);
  });

  it.skipIf(!isRoot)(
    "the sidecars' own user, named by socket_owner, may own the folder and its sockets",
    async () => {
      const dir = socketFolder(0o700);
      chownSync(dir, NOBODY, NOBODY);
      await sidecar(dir, 'users', NOBODY);
      const refused = await hostOf(dir);
      const err = await expectRejection(refused.host.discover(), DriverkitError);
      expect(err.message).toMatch(/is owned by uid 65534, not by this process's user .* or root;/);
      const { host } = await hostOf(dir, { socket_owner: NOBODY });
      await host.discover();
      expect(foundIn(host)).toEqual(['users']);
    },
  );
});
