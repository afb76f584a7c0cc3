import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { parseDuration } from '../src/config/duration.js';
import { DriverkitError } from '../src/errors.js';
import { VERSION } from '../src/version.js';
import { ROOT } from './paths.js';
import { readFileSync } from 'node:fs';

function configDir(toml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'dk-config-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'driver.sh'), '#!/bin/sh\n', { mode: 0o755 });
  writeFileSync(join(dir, 'driverkit.toml'), toml);
  return dir;
}

async function configError(toml: string): Promise<DriverkitError> {
  const dir = configDir(toml);
  const err = await loadConfig(join(dir, 'driverkit.toml')).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(DriverkitError);
  expect((err as DriverkitError).code).toBe('CONFIG_INVALID');
  expect((err as DriverkitError).message).toContain(join(dir, 'driverkit.toml'));
  return err as DriverkitError;
}

describe('config', () => {
  it('resolves paths against the file, defaults type and bin_dir, allows two instances of one type', async () => {
    const dir = configDir(`
[drivers.userprovider]
driver = "./driver.sh"

[drivers.staff]
type = "userprovider"
driver = "src"
args = ["--verbose"]
env = { LEVEL = "debug" }
start_timeout = "10s"
shutdown_grace = 500
[drivers.staff.config]
users = "./staff.json"
`);
    const c = await loadConfig(join(dir, 'driverkit.toml'));
    expect(c.binDir).toBe(join(dir, 'bin'));
    expect(c.drivers.map((d) => [d.name, d.type, d.driver])).toEqual([
      ['userprovider', 'userprovider', join(dir, 'driver.sh')],
      ['staff', 'userprovider', join(dir, 'src')],
    ]);
    expect(c.drivers[1]).toMatchObject({ args: ['--verbose'], env: { LEVEL: 'debug' }, startTimeout: 10_000, shutdownGrace: 500, config: { users: './staff.json' } });
    expect(c.drivers[0].restart).toEqual({ policy: 'never', delay: 200, maxDelay: 10_000, maxRestarts: 5 });
  });

  it.each([
    { name: 'unknown top-level key', toml: 'bin_dri = "x"\n[drivers.a]\ndriver = "driver.sh"', message: /bin_dri: expected no such key \(known: bin_dir, listen, drivers\), got string "x"/ },
    { name: 'unknown driver key', toml: '[drivers.a]\ndriver = "driver.sh"\ntimeout = 5', message: /drivers\.a\.timeout: expected no such key/ },
    { name: 'wrong type', toml: '[drivers.userprovider]\ndriver = "driver.sh"\nargs = "x"', message: /drivers\.userprovider\.args: expected an array of strings, got string "x"/ },
    { name: 'bad duration', toml: '[drivers.userprovider]\ndriver = "driver.sh"\nstart_timeout = "soon"', message: /drivers\.userprovider\.start_timeout: expected a duration/ },
    { name: 'missing driver key', toml: '[drivers.users]\ntype = "userprovider"', message: /drivers\.users\.driver: expected the path of an executable or of a source folder$/m },
    { name: 'driver path that does not exist', toml: '[drivers.users]\ntype = "userprovider"\ndriver = "./nope"', message: /drivers\.users\.driver: expected an executable or a source folder, but nothing is at .*nope/ },
    { name: 'unknown type', toml: '[drivers.a]\ndriver = "driver.sh"', message: /drivers\.a\.type: expected a known driver type \(userprovider\), got string "a"/ },
    { name: 'no drivers', toml: 'bin_dir = "bin"', message: /drivers: expected at least one \[drivers\.NAME\] table/ },
    { name: 'unknown restart policy', toml: '[drivers.userprovider]\ndriver = "driver.sh"\nrestart = "always"', message: /drivers\.userprovider\.restart: expected "never" or "on-failure", got string "always"/ },
    { name: 'negative max_restarts', toml: '[drivers.userprovider]\ndriver = "driver.sh"\nmax_restarts = -1', message: /max_restarts: expected a non-negative integer/ },
    { name: 'bad sha256', toml: '[drivers.userprovider]\ndriver = "driver.sh"\nsha256 = "abc"', message: /sha256: expected 64 hex digits/ },
    { name: 'malformed TOML', toml: '[drivers.a\ndriver = 1', message: /not valid TOML at line 1/ },
  ])('$name', async ({ toml, message }) => {
    expect((await configError(toml)).message).toMatch(message);
  });

  it('a missing config file is named', async () => {
    const err = await loadConfig('/nonexistent/driverkit.toml').catch((e) => e);
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toMatch(/\/nonexistent\/driverkit.toml: cannot read the config file: ENOENT/);
  });

  it.each([
    { value: 250, want: 250 },
    { value: '250ms', want: 250 },
    { value: '1.5s', want: 1500 },
    { value: '2m', want: 120_000 },
    { value: '5', want: undefined },
    { value: -1, want: undefined },
  ])('duration $value', ({ value, want }) => expect(parseDuration(value)).toBe(want));

  it('VERSION matches package.json', () => {
    expect(VERSION).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  });

  it('the example config in the repo is valid', async () => {
    const c = await loadConfig(join(ROOT, 'driverkit.toml'));
    expect(c.drivers.length).toBeGreaterThan(0);
  });
});
