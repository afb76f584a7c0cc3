import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { userprovider } from '../src/contracts/userprovider.js';
import { RpcError } from '../src/errors.js';
import { fixtureContract } from './fixtures/contract.js';
import {
  captureLogger,
  expectRejection,
  isAlive,
  spawnCollect,
  spawnUntil,
  useDriver,
  waitFor,
} from './helpers.js';
import { BIN } from './paths.js';

/** Runs an executable directly (no driverkit host) and collects what it prints. */
const run = (path: string, env: Record<string, string>) =>
  spawnCollect(path, [], { env: { PATH: process.env.PATH!, ...env } });

/** Starts an executable directly and resolves with its first stdout line; ends it at test end. */
async function firstLine(path: string, env: Record<string, string>): Promise<string> {
  // SIGTERM: the driver removes its socket on the way out.
  const { match } = await spawnUntil(path, [], /^(.*)\n/, {
    env: { PATH: process.env.PATH!, ...env },
    endSignal: 'SIGTERM',
  });
  return match[1];
}

const COOKIE = { [userprovider.cookieKey]: userprovider.cookieValue };

describe('driver SDK', () => {
  it('without the cookie: exit 1, a message on stderr, nothing on stdout', async () => {
    for (const path of [BIN.demo, BIN.json]) {
      const r = await run(path, {});
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(
        /This binary is a plugin\. These are not meant to be executed directly\./,
      );
    }
    const wrong = await run(BIN.demo, { [userprovider.cookieKey]: 'wrong' });
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toBe('');
  });

  it.each([
    { env: '1', want: '1' },
    { env: '2,1', want: '1' },
    { env: '', want: '1', why: 'no list: the lowest' },
  ])(
    'negotiates like go-plugin: PLUGIN_PROTOCOL_VERSIONS=$env -> app $want',
    async ({ env, want }) => {
      const line = await firstLine(BIN.demo, { ...COOKIE, PLUGIN_PROTOCOL_VERSIONS: env });
      expect(line).toMatch(new RegExp(`^1\\|${want}\\|unix\\|/.+\\|grpc\\|$`));
    },
  );

  it('listens under PLUGIN_UNIX_SOCKET_DIR with mode 0600, or 0660 with a group', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dk-sock-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const plain = await firstLine(BIN.demo, { ...COOKIE, PLUGIN_UNIX_SOCKET_DIR: dir });
    const path = plain.split('|')[3];
    expect(path.startsWith(`${dir}/plugin`)).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const gid = process.getgid!();
    const grouped = (
      await firstLine(BIN.demo, {
        ...COOKIE,
        PLUGIN_UNIX_SOCKET_DIR: dir,
        PLUGIN_UNIX_SOCKET_GROUP: String(gid),
      })
    ).split('|')[3];
    expect(statSync(grouped).mode & 0o777).toBe(0o660);
    expect(statSync(grouped).gid).toBe(gid);
  });

  it('refuses a socket path over the sun_path limit, clearly', async () => {
    const r = await run(BIN.demo, { ...COOKIE, PLUGIN_UNIX_SOCKET_DIR: `/tmp/${'x'.repeat(120)}` });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/over the 107-byte limit/);
  });

  it('refuses a PLUGIN_CLIENT_CERT that is no certificate, clearly, before printing anything', async () => {
    const r = await run(BIN.demo, { ...COOKIE, PLUGIN_CLIENT_CERT: 'not a certificate' });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /PLUGIN_CLIENT_CERT: expected a PEM certificate, got \\"not a certificate\\"/,
    );
  });

  it('sends log lines to the host at their level: hclog JSON and [LEVEL] prefixes', async () => {
    const logger = captureLogger();
    const driver = useDriver({
      name: 'chatty',
      path: BIN.fixture,
      contract: fixtureContract,
      env: { FIXTURE_MODE: 'logs' },
      logger,
    });
    await driver.ready;
    const find = (message: string) => logger.entries.find((e) => e.message === message);
    // stderr is its own pipe: its lines may trail the handshake on stdout.
    await waitFor(() => find('a plain line') !== undefined, 5000, 'the last log line');
    expect(find('disk almost full')).toMatchObject({
      level: 'warn',
      fields: { driver: 'chatty', free_mb: 12, '@module': 'fixture' },
    });
    expect(find('lost connection')?.level).toBe('error');
    expect(find('details')?.level).toBe('debug');
    expect(find('plain warning line')?.level).toBe('warn');
    expect(find('a plain line')?.level).toBe('debug');
  });

  it('console output and stdout before the handshake go to stderr; stdout after it goes over GRPCStdio', async () => {
    const chunks: string[] = [];
    const driver = useDriver({
      name: 'stdout',
      path: BIN.fixture,
      contract: fixtureContract,
      stdout: (c) => chunks.push(c.toString()),
    });
    await driver.ready;
    await driver.client.getUser({ userId: { opaqueId: 'stdout' } });
    // The stream is asynchronous to the call: wait for the chunk.
    await waitFor(() => chunks.join('').includes('after the handshake'), 5000, 'the stdout chunk');
    expect(chunks.join('')).toBe('after the handshake\n');
  });

  it('a handler that throws a plain Error answers UNKNOWN without leaking it; the stack goes to the log', async () => {
    const logger = captureLogger();
    const driver = useDriver({
      name: 'throws',
      path: BIN.fixture,
      contract: fixtureContract,
      logger,
    });
    await driver.ready;
    const err = await expectRejection(
      driver.client.getUser({ userId: { opaqueId: 'throw' } }),
      RpcError,
    );
    expect(err.statusName).toBe('UNKNOWN');
    expect(err.message).not.toContain('secret internal detail');
    expect(err.message).toContain('internal error in the driver');
    await waitFor(
      () => logger.entries.some((e) => e.message === 'handler failed'),
      5000,
      'the log line',
    );
    const logged = logger.entries.find((e) => e.message === 'handler failed');
    expect(String(logged?.fields.error)).toContain('secret internal detail');
    expect(logged?.level).toBe('error');
  });

  it('ignores SIGINT, as go-plugin drivers do', async () => {
    const logger = captureLogger();
    const driver = useDriver({
      name: 'sigint',
      path: BIN.demo,
      contract: userprovider,
      env: { DRIVERKIT_LOG_LEVEL: 'debug' },
      logger,
    });
    await driver.ready;
    process.kill(driver.pid!, 'SIGINT');
    await waitFor(
      () => logger.entries.some((e) => e.message.startsWith('ignoring SIGINT')),
      5000,
      'the driver to see SIGINT',
    );
    expect((await driver.client.findUsers({ query: 'marie' })).users).toHaveLength(1);
    expect(isAlive(driver.pid!)).toBe(true);
    expect(driver.state).toBe('ready');
  });
});

describe('driver entry stays lean', () => {
  it('a bundled driver contains none of the host-only packages', () => {
    const bundle = readFileSync(BIN.demo, 'utf8');
    // esbuild marks each bundled module with a comment naming its path, relative to the
    // driver's folder: `// ../../../node_modules/<pkg>/...`. grpc-js is host-only too: the
    // SDK serves and dials over node:http2 (src/driver/grpc-server.ts).
    const has = (pkg: string) =>
      new RegExp(`^// (\\.\\./)*node_modules/${pkg.replace('/', '\\/')}/`, 'm').test(bundle);
    for (const pkg of [
      'execa',
      'semver',
      'get-port',
      'smol-toml',
      'esbuild',
      '@grpc/grpc-js',
      '@grpc/proto-loader',
      'protobufjs',
    ]) {
      expect(has(pkg), pkg).toBe(false);
    }
    // The check itself works: the one runtime package a driver needs is there.
    expect(has('@bufbuild/protobuf')).toBe(true);
  });
});
