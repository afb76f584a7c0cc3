import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { buildDriver } from '../src/build/build.js';
import { userprovider } from '../src/contracts/userprovider.js';
import { DriverkitError, RpcError } from '../src/errors.js';
import {
  expectRejection,
  hasGoToolchain,
  isAlive,
  recordGroup,
  spawnUntil,
  useDriver,
  waitFor,
} from './helpers.js';
import { BIN, CLI, ROOT } from './paths.js';

/** A scratch folder inside the repo, so sources resolve `driverkit/driver` as drivers/ do. */
function scratch(): string {
  mkdirSync(join(ROOT, '.cache'), { recursive: true });
  const dir = mkdtempSync(join(ROOT, '.cache', 'build-test-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const source = (name: string) => `
import { serve, userprovider } from 'driverkit/driver';
await serve({ contract: userprovider, handlers: { 1: {
  configure: () => ({}),
  getUser: (req) => ({ user: { id: req.userId, username: ${JSON.stringify(name)} } }),
  getUserByClaim: () => ({}), getUserGroups: () => ({ groups: [] }), findUsers: () => ({ users: [] }),
} } });
`;

function tsDriver(root: string, name = 'v1'): string {
  const folder = join(root, 'src', 'hello');
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'main.ts'), source(name));
  return folder;
}

async function username(binary: string): Promise<string | undefined> {
  const driver = useDriver({ name: 'built', path: binary, contract: userprovider });
  await driver.ready;
  const { user } = await driver.client.getUser({ userId: { opaqueId: 'x' } });
  await driver.close();
  return user?.username;
}

const hasGo = hasGoToolchain;

describe('build from source', () => {
  it('builds on first use, reuses the binary untouched, rebuilds after a change', async () => {
    const root = scratch();
    const folder = tsDriver(root);
    const binDir = join(root, 'bin');
    const first = await buildDriver({ folder, type: 'userprovider', binDir });
    expect(first).toEqual({
      binary: join(binDir, 'userprovider', 'hello'),
      cached: false,
      toolchain: 'node',
    });
    expect(await username(first.binary)).toBe('v1');
    const before = statSync(first.binary);

    expect((await buildDriver({ folder, type: 'userprovider', binDir })).cached).toBe(true);
    // A touch without a change is not a change.
    utimesSync(join(folder, 'main.ts'), new Date(), new Date(Date.now() + 5000));
    expect((await buildDriver({ folder, type: 'userprovider', binDir })).cached).toBe(true);
    const after = statSync(first.binary);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);

    writeFileSync(join(folder, 'main.ts'), source('v2'));
    expect((await buildDriver({ folder, type: 'userprovider', binDir })).cached).toBe(false);
    expect(await username(first.binary)).toBe('v2');
  });

  it('a broken build reports the compiler output and keeps the previous binary', async () => {
    const root = scratch();
    const folder = tsDriver(root);
    const binDir = join(root, 'bin');
    const { binary } = await buildDriver({ folder, type: 'userprovider', binDir });
    const good = readFileSync(binary);
    writeFileSync(
      join(folder, 'main.ts'),
      'import { serve } from "driverkit/driver";\nserve({ contract: ;\n',
    );
    const err = await expectRejection(
      buildDriver({ folder, type: 'userprovider', binDir, driver: 'hello' }),
      DriverkitError,
    );
    expect(err.code).toBe('BUILD_FAILED');
    expect(err.message).toMatch(/driver "hello" \(.*src\/hello\): node build failed/);
    expect(err.message).toMatch(/last lines of the build output ---\n.*main\.ts:2:\d+: /);
    expect(readFileSync(binary).equals(good)).toBe(true);
    expect(await username(binary)).toBe('v1');
    // No temporary files are left beside the binary.
    expect(readdirSync(join(binDir, 'userprovider')).sort()).toEqual([
      '.hello.stamp.json',
      'hello',
    ]);
  });

  it('two builds of one folder at once: one builds, the other waits and reuses it', async () => {
    const root = scratch();
    const folder = tsDriver(root);
    const binDir = join(root, 'bin');
    const results = await Promise.all([
      buildDriver({ folder, type: 'userprovider', binDir }),
      buildDriver({ folder, type: 'userprovider', binDir }),
    ]);
    expect(results.map((r) => r.cached).sort()).toEqual([false, true]);
    expect(await username(results[0].binary)).toBe('v1');
  });

  it('refuses a driver whose manifest wants another driverkit, naming both versions', async () => {
    const root = scratch();
    const folder = tsDriver(root);
    writeFileSync(
      join(folder, 'driverkit.json'),
      JSON.stringify({ type: 'userprovider', version: '2.3.0', driverkit: '>=9.0.0' }),
    );
    const err = await expectRejection(
      buildDriver({ folder, type: 'userprovider', binDir: join(root, 'bin'), driver: 'hello' }),
      DriverkitError,
    );
    expect(err.code).toBe('DRIVER_INCOMPATIBLE');
    expect(err.message).toMatch(
      /driver 2\.3\.0 needs driverkit >=9\.0\.0 .*, but this is driverkit 0\.1\.0/,
    );
  });

  it('refuses a driver whose manifest names another type', async () => {
    const root = scratch();
    const folder = tsDriver(root);
    writeFileSync(
      join(folder, 'package.json'),
      JSON.stringify({ name: 'hello', driverkit: { type: 'groupprovider' } }),
    );
    const err = await expectRejection(
      buildDriver({ folder, type: 'userprovider', binDir: join(root, 'bin') }),
      DriverkitError,
    );
    expect(err.code).toBe('DRIVER_INCOMPATIBLE');
    expect(err.message).toMatch(
      /is a "groupprovider" driver .*package\.json\), but is configured as "userprovider"/,
    );
  });

  it('runs a custom build command from the manifest, with $OUT', async () => {
    const root = scratch();
    const folder = join(root, 'custom');
    mkdirSync(folder);
    // Anything that writes an executable to $OUT will do; here a wrapper that execs the demo driver.
    writeFileSync(join(root, 'shared.txt'), 'v1');
    writeFileSync(
      join(folder, 'driverkit.json'),
      JSON.stringify({
        build: `printf '#!/bin/sh\\nexec "%s"\\n' "$(cat target)" > "$OUT"`,
        inputs: ['../shared.txt'],
      }),
    );
    writeFileSync(join(folder, 'target'), BIN.demo);
    const built = await buildDriver({ folder, type: 'userprovider', binDir: join(root, 'bin') });
    expect(built.toolchain).toBe('custom');
    const driver = useDriver({ name: 'custom', path: built.binary, contract: userprovider });
    await driver.ready;
    expect((await driver.client.findUsers({ query: 'einstein' })).users).toHaveLength(1);
    expect(
      (await buildDriver({ folder, type: 'userprovider', binDir: join(root, 'bin') })).cached,
    ).toBe(true);
    // A new file in the folder is a change for folder-wide toolchains.
    writeFileSync(join(folder, 'notes.txt'), 'x');
    expect(
      (await buildDriver({ folder, type: 'userprovider', binDir: join(root, 'bin') })).cached,
    ).toBe(false);
    // So is a change to a file outside it that the manifest lists in "inputs".
    writeFileSync(join(root, 'shared.txt'), 'v2');
    expect(
      (await buildDriver({ folder, type: 'userprovider', binDir: join(root, 'bin') })).cached,
    ).toBe(false);
    expect(
      (await buildDriver({ folder, type: 'userprovider', binDir: join(root, 'bin') })).cached,
    ).toBe(true);
  });

  it('a symlinked input is tracked by its target: changing the target rebuilds', async () => {
    const root = scratch();
    const folder = join(root, 'linked');
    mkdirSync(folder);
    writeFileSync(join(root, 'real-target'), BIN.demo);
    symlinkSync(join(root, 'real-target'), join(folder, 'target'));
    writeFileSync(
      join(folder, 'driverkit.json'),
      JSON.stringify({ build: `printf '#!/bin/sh\\nexec "%s"\\n' "$(cat target)" > "$OUT"` }),
    );
    const build = () => buildDriver({ folder, type: 'userprovider', binDir: join(root, 'bin') });
    expect((await build()).cached).toBe(false);
    expect((await build()).cached).toBe(true);
    writeFileSync(join(root, 'real-target'), BIN.json);
    expect((await build()).cached).toBe(false);
  });

  it('a build whose process is SIGKILLed leaves no build command running, and its temp file goes with the next build', async () => {
    const root = scratch();
    const folder = join(root, 'slow');
    mkdirSync(folder);
    // Writes half a binary, notes its pid (its group), then takes forever.
    writeFileSync(
      join(folder, 'driverkit.json'),
      JSON.stringify({
        type: 'userprovider',
        build: `echo partial > "$OUT"; echo $$ > ${join(root, 'build.pid')}; [ -f ${join(root, 'fast')} ] || sleep 600; printf '#!/bin/sh\\nexec "%s"\\n' "${BIN.demo}" > "$OUT"`,
      }),
    );
    writeFileSync(
      join(root, 'driverkit.toml'),
      `bin_dir = "bin"\n[drivers.users]\ntype = "userprovider"\ndriver = "slow"\n`,
    );
    const cli = spawnUntil(process.execPath, [CLI, 'build'], /never/, { cwd: root }).catch(
      () => undefined,
    );
    await waitFor(
      () =>
        existsSync(join(root, 'build.pid')) &&
        readFileSync(join(root, 'build.pid'), 'utf8').trim() !== '',
      20_000,
      'the build command to start',
    );
    const pid = Number(readFileSync(join(root, 'build.pid'), 'utf8'));
    recordGroup(pid);
    const temps = () =>
      readdirSync(join(root, 'bin', 'userprovider'), { withFileTypes: true })
        .filter((e) => e.name.startsWith('.slow.build-'))
        .map((e) => e.name);
    expect(temps()).toHaveLength(1);
    const builder = Number(temps()[0].split('-').pop());
    process.kill(builder, 'SIGKILL');
    await cli;
    await waitFor(() => !isAlive(pid), 10_000, 'the build command to be stopped');
    writeFileSync(join(root, 'fast'), '');
    expect(
      (await buildDriver({ folder, type: 'userprovider', binDir: join(root, 'bin') })).cached,
    ).toBe(false);
    expect(temps()).toEqual([]);
  });

  it('a folder with nothing to build says what it expected', async () => {
    const root = scratch();
    const folder = join(root, 'empty');
    mkdirSync(folder);
    const err = await expectRejection(
      buildDriver({ folder, type: 'userprovider', binDir: join(root, 'bin') }),
      DriverkitError,
    );
    expect(err.code).toBe('BUILD_FAILED');
    expect(err.message).toMatch(/no entry file: expected one of main\.ts, index\.ts/);
  });

  it.skipIf(!hasGo)(
    'builds a Go driver (plain go-plugin) and loads it',
    async () => {
      const root = scratch();
      const folder = join(root, 'gominimal');
      cpSync(join(ROOT, 'test/fixtures/go-minimal'), folder, { recursive: true });
      const built = await buildDriver({ folder, type: 'userprovider', binDir: join(root, 'bin') });
      expect(built.toolchain).toBe('go');
      // A grace far above a real exit: a close() that waited it out would take 20 s. (This
      // asserted `< 1500` ms against the default 2 s grace, too close to hold on a loaded machine.)
      const grace = 20_000;
      const driver = useDriver({
        name: 'go',
        path: built.binary,
        contract: userprovider,
        shutdownGrace: grace,
      });
      await driver.ready;
      expect(driver.version).toBe(1);
      // It serves no UserProvider: the call reaches it and comes back UNIMPLEMENTED.
      const err = await expectRejection(
        driver.client.getUser({ userId: { opaqueId: 'x' } }),
        RpcError,
      );
      expect(err.statusName).toBe('UNIMPLEMENTED');
      const t0 = Date.now();
      await driver.close();
      expect(Date.now() - t0).toBeLessThan(grace / 2);
      // Exit 0, not SIGTERM: it went on Shutdown.
      expect(await driver.exited).toEqual({ code: 0, signal: null });
      expect(
        (await buildDriver({ folder, type: 'userprovider', binDir: join(root, 'bin') })).cached,
      ).toBe(true);
    },
    120_000,
  );
});
