// A config entry naming a package: installed on first use from the config's indexes,
// served, listed, and pinned by driverkit.lock at every start.
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DriverkitError } from '../src/errors.js';
import { openHost } from '../src/host/host.js';
import { captureLogger, expectRejection, spawnUntil } from './helpers.js';
import { cli, publish, tempDir } from './packages-helpers.js';
import { CLI } from './paths.js';

const EINSTEIN = '4c510ada-c86b-4815-8820-42cdf82c3d51';

describe('package entries in config', () => {
  it('driverkit serve installs a package on first use and serves it; ls shows it installed', async () => {
    const index = tempDir('pkg-index');
    await publish(index, '1.0.0');
    const project = tempDir('pkg-project');
    writeFileSync(
      join(project, 'driverkit.toml'),
      `indexes = ["${index}"]\n\n[drivers.users]\ntype = "userprovider"\npackage = "demo@^1.0"\n`,
    );
    expect((await cli(project, 'ls')).stdout).toMatch(
      /users\s+userprovider\s+package\s+demo@\^1\.0\s+not installed/,
    );
    const serve = await spawnUntil(
      process.execPath,
      [CLI, 'serve', '--listen', '127.0.0.1:0'],
      /serving users on (\S+)\n/,
      {
        cwd: project,
        env: { ...process.env, DRIVERKIT_HOME: join(project, '.home'), DRIVERKIT_INDEX: '' },
        endSignal: 'SIGTERM',
      },
    );
    expect(
      JSON.parse(readFileSync(join(project, 'driverkit.lock'), 'utf8')).drivers.demo.version,
    ).toBe('1.0.0');
    serve.child.kill('SIGTERM');
    expect((await serve.done).code).toBe(0);
    expect((await cli(project, 'ls')).stdout).toMatch(
      /users\s+userprovider\s+package\s+demo@\^1\.0\s+installed 1\.0\.0/,
    );
    const call = await cli(
      project,
      'call',
      'users',
      'GetUser',
      JSON.stringify({ user_id: { opaque_id: EINSTEIN } }),
    );
    expect(JSON.parse(call.stdout).user.username).toBe('einstein');
  });

  it('an installed binary changed after install is refused at start (the lock pins its digest)', async () => {
    const index = tempDir('pkg-index');
    await publish(index, '1.0.0');
    const project = tempDir('pkg-project');
    writeFileSync(
      join(project, 'driverkit.toml'),
      `indexes = ["${index}"]\n\n[drivers.users]\ntype = "userprovider"\npackage = "demo"\n`,
    );
    expect((await cli(project, 'install', 'demo', '--index', index)).code).toBe(0);
    const lock = JSON.parse(readFileSync(join(project, 'driverkit.lock'), 'utf8'));
    appendFileSync(join(project, lock.drivers.demo.binary), '\n// changed\n');
    const host = await openHost({
      config: join(project, 'driverkit.toml'),
      logger: captureLogger(),
    });
    const err = await expectRejection(host.driver('users'), DriverkitError);
    await host.close();
    expect(err.code).toBe('CHECKSUM_MISMATCH');
  });

  it('a committed lock works in another clone: install --frozen restores from a folder index inside the project', async () => {
    const project = tempDir('pkg-project');
    const index = join(project, 'index');
    mkdirSync(index);
    await publish(index, '1.0.0');
    expect((await cli(project, 'install', 'demo', '--index', 'index')).code).toBe(0);
    const lock = JSON.parse(readFileSync(join(project, 'driverkit.lock'), 'utf8'));
    expect(lock.drivers.demo.url).not.toMatch(/^file:/);
    // Another clone: the index and the lock, at another path, nothing installed.
    const clone = tempDir('pkg-clone');
    cpSync(index, join(clone, 'index'), { recursive: true });
    cpSync(join(project, 'driverkit.lock'), join(clone, 'driverkit.lock'));
    const frozen = await cli(clone, 'install', '--frozen');
    expect(frozen.code, frozen.stderr).toBe(0);
    expect(existsSync(join(clone, lock.drivers.demo.binary))).toBe(true);
  });

  it('driver and package together, or none of driver, package and address, is a config error', async () => {
    const project = tempDir('pkg-project');
    writeFileSync(
      join(project, 'driverkit.toml'),
      '[drivers.users]\ntype = "userprovider"\ndriver = "x"\npackage = "demo"\n',
    );
    expect((await cli(project, 'ls')).stderr).toMatch(
      /drivers\.users\.package: expected one of driver, package or address, not driver and package/,
    );
    writeFileSync(join(project, 'driverkit.toml'), '[drivers.users]\ntype = "userprovider"\n');
    expect((await cli(project, 'ls')).stderr).toMatch(
      /drivers\.users\.driver: expected the path of an executable or of a source folder \(or package = "NAME\[@RANGE\]", or address = "tls:\/\/HOST:PORT"\)/,
    );
  });
});
