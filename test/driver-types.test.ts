// User-defined driver types end to end: go-plugin's gRPC KV example both ways, and a type
// with two app protocol versions.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, credentials } from '@grpc/grpc-js';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { grpcInvoke } from './grpc-js/invoke.js';
import { createClient } from '../src/rpc/client.js';
import { openHost } from '../src/host/host.js';
import { loadConfig } from '../src/config/load.js';
import { greeter } from './fixtures/gen/contracts/greeter.js';
import { kv } from './fixtures/gen/contracts/kv.js';
import { captureLogger, hasGoToolchain, isAlive, useDriver, waitFor } from './helpers.js';
import { BIN, CLI, ROOT } from './paths.js';

const KV = join(ROOT, 'test/go/kv');

/** A folder with a config declaring go-plugin's KV example as type "kv", its Go plugin as driver "store". */
function kvProject(): { dir: string; config: string } {
  mkdirSync(join(ROOT, '.cache'), { recursive: true });
  const dir = mkdtempSync(join(ROOT, '.cache', 'kv-test-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'driverkit.toml');
  writeFileSync(
    config,
    `[types.kv]
proto = "${KV}/proto/kv.proto"
service = "proto.KV"
cookie_key = "BASIC_PLUGIN"
cookie_value = "hello"

[drivers.store]
type = "kv"
driver = "${KV}/plugin"
`,
  );
  return { dir, config };
}

const cli = (dir: string, ...args: string[]) =>
  execFileSync(process.execPath, [CLI, ...args], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });

describe.skipIf(!hasGoToolchain)('go-plugin\'s gRPC KV example as driver type "kv"', () => {
  it('its Go plugin, built from source unmodified, answers Put and Get through driverkit call (proto3 JSON both ways)', () => {
    const { dir } = kvProject();
    expect(
      JSON.parse(
        cli(
          dir,
          'call',
          'store',
          'Put',
          JSON.stringify({ key: 'greeting', value: Buffer.from('hi').toString('base64') }),
        ),
      ),
    ).toEqual({});
    const got = JSON.parse(cli(dir, 'call', 'store', 'Get', '{"key": "greeting"}'));
    expect(Buffer.from(got.value, 'base64').toString()).toBe('hi\n\nWritten from plugin-go-grpc');
    expect(readFileSync(join(dir, 'kv_greeting'), 'utf8')).toBe(
      'hi\n\nWritten from plugin-go-grpc',
    );
    expect(cli(dir, 'ls')).toMatch(/store\s+kv/);
  }, 60_000);

  it('through driverkit serve, from a grpc-js client built from the proto alone', async () => {
    const { dir, config } = kvProject();
    const serve = spawn(process.execPath, [CLI, 'serve', '--listen', '127.0.0.1:0'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => serve.once('exit', resolve));
    onTestFinished(() => void (serve.exitCode === null && serve.kill('SIGKILL')));
    let out = '';
    serve.stdout.on('data', (d) => (out += d));
    await waitFor(
      () => /serving store on \S+\n/.test(out),
      60_000,
      'driverkit serve to say where it serves',
    );
    const address = /serving store on (\S+)\n/.exec(out)![1];
    const contract = (await loadConfig(config)).drivers[0].contract;
    const channel = new Client(address, credentials.createInsecure());
    onTestFinished(() => channel.close());
    const store = createClient(contract.versions[1], grpcInvoke(channel)) as Record<
      string,
      (r: unknown) => Promise<any>
    >;
    await store.put({ key: 'via-gateway', value: Buffer.from('relayed') });
    expect(Buffer.from((await store.get({ key: 'via-gateway' })).value).toString()).toBe(
      'relayed\n\nWritten from plugin-go-grpc',
    );
    serve.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 60_000);

  it('through openHost with the contract driverkit gen made from the proto: typed, bytes as Buffers', async () => {
    const { config } = kvProject();
    const host = await openHost({ config, contracts: [kv], logger: captureLogger() });
    onTestFinished(() => host.close());
    const store = await host.client('store', kv);
    await store.put({ key: 'typed', value: Buffer.from('bytes') });
    const { value } = await store.get({ key: 'typed' });
    expect(Buffer.from(value).toString()).toBe('bytes\n\nWritten from plugin-go-grpc');
    const missing = await store.get({ key: 'missing' }).catch((e) => e);
    expect(missing.shortMessage).toMatch(
      /^\[UNKNOWN\] open kv_missing: no such file or directory \(\/proto\.KV\/Get\)$/,
    );
  }, 60_000);

  describe('the reverse', () => {
    const goHost = join(ROOT, '.cache', 'go-bin', 'kv-host');
    beforeAll(() => {
      mkdirSync(join(ROOT, '.cache', 'go-bin'), { recursive: true });
      execFileSync('sh', [join(KV, 'build.sh'), 'host'], {
        env: { ...process.env, OUT: goHost },
        stdio: 'pipe',
      });
    }, 120_000);

    /** Runs the example's host as its README does: KV_PLUGIN names the plugin, argv says get or put. */
    async function runHost(dir: string, ...args: string[]): Promise<string> {
      const child = spawn(goHost, args, {
        cwd: dir,
        env: { ...process.env, KV_PLUGIN: BIN.kv },
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      // The example exits with os.Exit, which skips its deferred client.Kill(), and starts the
      // plugin under `sh -c`: the plugin is left behind by design. End its process group.
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // nothing left
      }
      expect(code, out).toBe(0);
      return out;
    }

    it("a TS driver written with driverkit/driver serves the example's own Go host", async () => {
      const { dir } = kvProject();
      await runHost(dir, 'put', 'lang', 'typescript');
      expect(await runHost(dir, 'get', 'lang')).toBe('typescript\n\nWritten from plugin-ts\n');
    }, 60_000);
  });
});

describe('a type with two app protocol versions', () => {
  it.each([
    { serves: '1', version: 1 },
    { serves: '2', version: 2 },
    { serves: '1,2', version: 2 },
  ])(
    'a driver serving v$serves, a host speaking 1 and 2: version $version, its typed client',
    async ({ serves, version }) => {
      const driver = useDriver({
        name: 'greeter',
        path: BIN.greeter,
        contract: greeter,
        env: { GREETER_VERSIONS: serves },
      });
      await driver.ready;
      expect(driver.version).toBe(version);
      expect((await driver.client.hello({ name: 'ada' })).message).toBe(`hello ada (v${version})`);
      if (version === 2) {
        const v2 = driver.client as ReturnType<
          typeof createClient<(typeof greeter)['versions'][2]>
        >;
        expect((await v2.hello({ name: 'ada', language: 'fr' })).message).toBe('bonjour ada (v2)');
        expect((await v2.count({})).greeted).toBe('2');
      }
      expect(isAlive(driver.pid!)).toBe(true);
    },
  );
});
