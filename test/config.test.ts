import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, expectTypeOf, it, onTestFinished } from 'vitest';
import type { Contract } from '../src/contracts/contract.js';
import { loadConfig } from '../src/config/load.js';
import { parseDuration } from '../src/config/duration.js';
import { DRIVER_KEYS, TOP_KEYS } from '../src/config/keys.js';
import { TYPE_KEYS, type TypeDecl } from '../src/config/types.js';
import { GATEWAY_KEYS, type GatewayConfig } from '../src/config/gateway.js';
import type { RestartPolicy } from '../src/config/restart.js';
import { type Config, type DriverEntry, validateConfig } from '../src/config/schema.js';
import { keyTable } from '../src/config/table.js';
import type { ReattachInfo } from '../src/protocol/reattach.js';
import { DriverkitError } from '../src/errors.js';
import { VERSION } from '../src/version.js';
import { ROOT } from './paths.js';
import { readFileSync } from 'node:fs';

const SHA = 'AB'.repeat(32);
const REATTACH =
  'DRIVERKIT_REATTACH={"protocol":"grpc","version":1,"network":"unix","address":"/tmp/d.sock","pid":42}';

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
  const err = await loadConfig(join(dir, 'driverkit.toml')).then(
    () => undefined,
    (e: unknown) => e,
  );
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
    expect(c.drivers[1]).toMatchObject({
      args: ['--verbose'],
      env: { LEVEL: 'debug' },
      startTimeout: 10_000,
      shutdownGrace: 500,
      config: { users: './staff.json' },
    });
    expect(c.drivers[0].restart).toEqual({
      policy: 'never',
      delay: 200,
      maxDelay: 10_000,
      maxRestarts: 5,
    });
  });

  it.each([
    {
      name: 'unknown top-level key',
      toml: 'bin_dri = "x"\n[drivers.a]\ndriver = "driver.sh"',
      message:
        /bin_dri: expected no such key \(did you mean "bin_dir"\? known: bin_dir, socket_dir, socket_owner, mode, listen, gateway, indexes, trusted_keys, build_packages, max_download_size, max_unpacked_size, download_timeout, types, drivers\), got string "x"/,
    },
    {
      name: 'unknown driver key',
      toml: '[drivers.a]\ndriver = "driver.sh"\ntimeout = 5',
      message: /drivers\.a\.timeout: expected no such key \(known: /,
    },
    {
      name: 'a typo of a driver key',
      toml: '[drivers.a]\ndriver = "driver.sh"\ncall_timout = "1s"',
      message: /drivers\.a\.call_timout: expected no such key \(did you mean "call_timeout"\?/,
    },
    {
      name: 'wrong type',
      toml: '[drivers.userprovider]\ndriver = "driver.sh"\nargs = "x"',
      message: /drivers\.userprovider\.args: expected an array of strings, got string "x"/,
    },
    {
      name: 'bad duration',
      toml: '[drivers.userprovider]\ndriver = "driver.sh"\nstart_timeout = "soon"',
      message: /drivers\.userprovider\.start_timeout: expected a duration/,
    },
    {
      name: 'missing driver key',
      toml: '[drivers.users]\ntype = "userprovider"',
      message:
        /drivers\.users\.driver: expected the path of an executable or of a source folder \(or package = "NAME\[@RANGE\]", or address = "tls:\/\/HOST:PORT"\)$/m,
    },
    {
      name: 'driver path that does not exist',
      toml: '[drivers.users]\ntype = "userprovider"\ndriver = "./nope"',
      message:
        /drivers\.users\.driver: expected an executable or a source folder, but nothing is at .*nope/,
    },
    {
      name: 'unknown type',
      toml: '[drivers.a]\ndriver = "driver.sh"',
      message:
        /drivers\.a\.type: expected a known driver type \(userprovider, authprovider; declare others in \[types.NAME\]\), got string "a"/,
    },
    {
      name: 'no drivers',
      toml: 'bin_dir = "bin"',
      message: /drivers: expected at least one \[drivers\.NAME\] table/,
    },
    {
      name: 'unknown restart policy',
      toml: '[drivers.userprovider]\ndriver = "driver.sh"\nrestart = "always"',
      message:
        /drivers\.userprovider\.restart: expected "never" or "on-failure", got string "always"/,
    },
    {
      name: 'negative max_restarts',
      toml: '[drivers.userprovider]\ndriver = "driver.sh"\nmax_restarts = -1',
      message: /max_restarts: expected a non-negative integer/,
    },
    {
      name: 'bad sha256',
      toml: '[drivers.userprovider]\ndriver = "driver.sh"\nsha256 = "abc"',
      message: /sha256: expected 64 hex digits/,
    },
    { name: 'malformed TOML', toml: '[drivers.a\ndriver = 1', message: /not valid TOML at line 1/ },
  ])('$name', async ({ toml, message }) => {
    expect((await configError(toml)).message).toMatch(message);
  });

  it('a missing config file is named', async () => {
    const err = await loadConfig('/nonexistent/driverkit.toml').catch((e) => e);
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toMatch(
      /\/nonexistent\/driverkit.toml: cannot read the config file: ENOENT/,
    );
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

  // validateConfig is pure: the rest of the key table, without files.
  it.each([
    {
      name: 'top level not a table',
      raw: [],
      message: 'f.toml: (top level): expected a table, got an array',
    },
    {
      name: 'empty bin_dir',
      raw: { bin_dir: '', drivers: { userprovider: { driver: 'd' } } },
      message: 'f.toml: bin_dir: expected a folder path (string), got string ""',
    },
    {
      name: 'listen without a port',
      raw: { listen: 'localhost', drivers: { userprovider: { driver: 'd' } } },
      message: 'f.toml: listen: expected an address "HOST:PORT", got string "localhost"',
    },
    {
      name: 'drivers not a table',
      raw: { drivers: 3 },
      message: 'f.toml: drivers: expected a table of [drivers.NAME] tables, got number 3',
    },
    {
      name: 'empty drivers',
      raw: { drivers: {} },
      message: 'f.toml: drivers: expected at least one [drivers.NAME] table',
    },
    {
      name: 'bad instance name',
      raw: { drivers: { 'a b': { driver: 'd' } } },
      message:
        'f.toml: drivers.a b: expected a name of letters, digits, "_", "." or "-", got string "a b"',
    },
    {
      name: 'entry not a table',
      raw: { drivers: { userprovider: 'd' } },
      message: 'f.toml: drivers.userprovider: expected a table, got string "d"',
    },
    {
      name: 'type not a string',
      raw: { drivers: { a: { type: 1, driver: 'd' } } },
      message: 'f.toml: drivers.a.type: expected a driver type name (string), got number 1',
    },
    {
      name: 'type from the prototype',
      raw: { drivers: { a: { type: 'constructor', driver: 'd' } } },
      message:
        'f.toml: drivers.a.type: expected a known driver type (userprovider, authprovider; declare others in [types.NAME]), got string "constructor"',
    },
    {
      name: 'driver not a string',
      raw: { drivers: { userprovider: { driver: 1 } } },
      message:
        'f.toml: drivers.userprovider.driver: expected the path of an executable or of a source folder (string), got number 1',
    },
    {
      name: 'env of numbers',
      raw: { drivers: { userprovider: { driver: 'd', env: { A: 1 } } } },
      message: 'f.toml: drivers.userprovider.env: expected a table of strings, got a table',
    },
    {
      name: 'bad call_timeout',
      raw: { drivers: { userprovider: { driver: 'd', call_timeout: -5 } } },
      message:
        'f.toml: drivers.userprovider.call_timeout: expected a duration such as "10s", "500ms" or a number of milliseconds, got number -5',
    },
    {
      name: 'bad restart_delay',
      raw: { drivers: { userprovider: { driver: 'd', restart_delay: 'x' } } },
      message:
        'f.toml: drivers.userprovider.restart_delay: expected a duration such as "10s", "500ms" or a number of milliseconds, got string "x"',
    },
    {
      name: 'auto_mtls not a boolean',
      raw: { drivers: { userprovider: { driver: 'd', auto_mtls: 'yes' } } },
      message: 'f.toml: drivers.userprovider.auto_mtls: expected true or false, got string "yes"',
    },
    {
      name: 'kill_on_close not a boolean',
      raw: { drivers: { userprovider: { driver: 'd', kill_on_close: 1 } } },
      message: 'f.toml: drivers.userprovider.kill_on_close: expected true or false, got number 1',
    },
    {
      name: 'bad reattach',
      raw: { drivers: { userprovider: { driver: 'd', reattach: '{' } } },
      message:
        'f.toml: drivers.userprovider.reattach: expected the DRIVERKIT_REATTACH={...} line a driver prints, or a table (not JSON), got string "{"',
    },
    {
      name: 'config not a table',
      raw: { drivers: { userprovider: { driver: 'd', config: [] } } },
      message: 'f.toml: drivers.userprovider.config: expected a table, got an array',
    },
  ])('$name', ({ raw, message }) => {
    expect(() => validateConfig(raw, 'f.toml', '/w')).toThrow(
      new DriverkitError('CONFIG_INVALID', message),
    );
  });

  it('assembles restart, lower-cases sha256, parses reattach, keeps absolute paths', () => {
    const c = validateConfig(
      {
        bin_dir: '/b',
        listen: 'h:1',
        drivers: {
          userprovider: {
            driver: '/x/d',
            sha256: SHA,
            restart: 'on-failure',
            restart_delay: '1s',
            max_restarts: 0,
            reattach: REATTACH,
            kill_on_close: true,
            auto_mtls: false,
            call_timeout: '2m',
          },
        },
      },
      'f.toml',
      '/w',
    );
    expect(c).toMatchObject({ file: 'f.toml', dir: '/w', binDir: '/b', listen: 'h:1' });
    expect(c.drivers[0]).toMatchObject({
      name: 'userprovider',
      type: 'userprovider',
      driver: '/x/d',
      args: [],
      env: {},
      config: {},
      sha256: SHA.toLowerCase(),
      killOnClose: true,
      autoMTLS: false,
      callTimeout: 120_000,
    });
    expect(c.drivers[0].contract.type).toBe('userprovider');
    expect(c.drivers[0].restart).toEqual({
      policy: 'on-failure',
      delay: 1000,
      maxDelay: 10_000,
      maxRestarts: 0,
    });
    expect(c.drivers[0].reattach).toEqual({
      protocol: 'grpc',
      version: 1,
      network: 'unix',
      address: '/tmp/d.sock',
      pid: 42,
    });
  });

  it('entries do not share default arrays or tables', () => {
    const c = validateConfig(
      { drivers: { userprovider: { driver: 'd' }, b: { type: 'userprovider', driver: 'd' } } },
      'f.toml',
      '/w',
    );
    c.drivers[0].args.push('x');
    expect(c.drivers[1].args).toEqual([]);
  });

  it('DriverEntry and Config keep the shapes their consumers read', () => {
    expectTypeOf<DriverEntry>().toEqualTypeOf<{
      name: string;
      type: string;
      contract: Contract;
      driver: string;
      args: string[];
      env: Record<string, string>;
      inheritEnv: string[];
      startTimeout?: number;
      shutdownGrace?: number;
      drainTimeout?: number;
      sha256?: string;
      callTimeout?: number;
      pingInterval?: number;
      pingTimeout?: number;
      restart: RestartPolicy;
      reattach?: ReattachInfo;
      killOnClose?: boolean;
      address?: string | string[];
      tlsCa?: string;
      tlsCert?: string;
      tlsKey?: string;
      tlsServerName?: string;
      insecure?: boolean;
      allowUnverifiedType?: boolean;
      autoMTLS?: boolean;
      required?: boolean;
      allowRemote?: boolean;
      config: Record<string, unknown>;
      gatewayAllow?: string[];
      package?: { name: string; range?: string };
    }>();
    expectTypeOf<Config>().toEqualTypeOf<{
      file: string;
      dir: string;
      contracts: Readonly<Record<string, Contract>>;
      binDir: string;
      socketDir?: string;
      socketOwner?: number;
      mode: 'development' | 'production';
      listen?: string;
      gateway: GatewayConfig;
      indexes: string[];
      trustedKeys: string[];
      buildPackages: boolean;
      maxDownloadBytes?: number;
      maxUnpackedBytes?: number;
      downloadTimeout?: number;
      types: TypeDecl[];
      drivers: DriverEntry[];
    }>();
  });

  // The README's key reference is generated from the key tables; rewrite it with
  // DRIVERKIT_WRITE_DOCS=1 npx vitest run test/config.test.ts
  it("README.md's config key reference matches the key tables", () => {
    const readme = join(ROOT, 'README.md');
    const text = readFileSync(readme, 'utf8');
    const [begin, end] = [
      '<!-- config keys: generated from src/config/keys.ts -->\n',
      '\n<!-- end of config keys -->',
    ];
    const want = `${keyTable(TOP_KEYS)}\n\nThe \`[gateway]\` table:\n\n${keyTable(GATEWAY_KEYS)}\n\nEach \`[types.NAME]\` table:\n\n${keyTable(TYPE_KEYS)}\n\nEach \`[drivers.NAME]\` table:\n\n${keyTable(DRIVER_KEYS)}`;
    const [from, to] = [text.indexOf(begin), text.indexOf(end)];
    expect(from, 'README.md has the config keys markers').toBeGreaterThan(-1);
    expect(to).toBeGreaterThan(from);
    const have = text.slice(from + begin.length, to);
    if (have !== want && process.env.DRIVERKIT_WRITE_DOCS)
      writeFileSync(readme, text.slice(0, from + begin.length) + want + text.slice(to));
    else expect(have).toBe(want);
  });
});
