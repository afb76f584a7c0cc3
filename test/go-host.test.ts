// Go host → TS driver: hashicorp/go-plugin 1.0.1's own client (test/go/host) loads
// driverkit drivers, pings them, calls GetUser and Kills them.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDriver } from '../src/build/build.js';
import { userprovider } from '../src/contracts/userprovider.js';
import { fixtureContract } from './fixtures/contract.js';
import { hasGoToolchain, isAlive, spawnCollect, spawnUntil } from './helpers.js';
import { tempDir } from './packages-helpers.js';
import { BIN, CLI, ROOT } from './paths.js';

const hasGo = hasGoToolchain;

interface Outcome {
  code: number | null;
  result?: {
    ping: string;
    username: string;
    kill_ms: number;
    exited: boolean;
    pid: number;
    found?: number;
  };
  log: Array<Record<string, unknown>>;
  stderr: string;
}

describe.skipIf(!hasGo)('Go host (plain go-plugin) → TS driver', () => {
  let goHost = '';
  const binDir = join(ROOT, '.cache', 'go-host-bin');
  beforeAll(async () => {
    mkdirSync(binDir, { recursive: true });
    goHost = (await buildDriver({ folder: join(ROOT, 'test/go/host'), type: 'gohost', binDir }))
      .binary;
  }, 120_000);
  afterAll(() => rmSync(binDir, { recursive: true, force: true }));

  async function run(args: string[], env: Record<string, string> = {}): Promise<Outcome> {
    const { code, stdout, stderr } = await spawnCollect(goHost, args, {
      env: { ...process.env, ...env },
    });
    const log = stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    return { code, result: stdout ? JSON.parse(stdout) : undefined, log, stderr };
  }

  it.each([false, true])(
    'loads the TS demo driver, pings, calls, and Kill() ends it through Shutdown (AutoMTLS: %s)',
    async (autoMTLS) => {
      const out = await run([
        ...(autoMTLS ? ['-automtls'] : []),
        BIN.demo,
        userprovider.cookieKey,
        userprovider.cookieValue,
      ]);
      expect(out.code, out.stderr).toBe(0);
      expect(out.result).toMatchObject({ ping: 'ok', username: 'einstein', exited: true });
      // go-plugin's Kill() waits up to 2 s for the exit after Shutdown, then logs "plugin
      // failed to exit gracefully" and kills; it logs "plugin exited" only when the driver
      // went on its own. (This was `kill_ms < 1000`, which a loaded machine can break.)
      const messages = out.log.map((l) => l['@message']);
      expect(messages).toContain('plugin exited');
      expect(messages).not.toContain('plugin failed to exit gracefully');
      expect(isAlive(out.result!.pid)).toBe(false);
      expect(out.log.some((l) => l['@message'] === 'plugin process exited')).toBe(true);
    },
  );

  it("the driver's log lines arrive in the Go host's hclog at the levels the driver used", async () => {
    const out = await run([BIN.fixture, fixtureContract.cookieKey, fixtureContract.cookieValue], {
      FIXTURE_MODE: 'logs',
    });
    expect(out.code, out.stderr).toBe(0);
    const line = (m: string) => out.log.find((l) => l['@message'] === m);
    expect(line('disk almost full')).toMatchObject({
      '@level': 'warn',
      free_mb: 12,
      '@module': 'fixture',
    });
    expect(line('lost connection')?.['@level']).toBe('error');
    expect(line('details')?.['@level']).toBe('debug');
    expect(line('[WARN] plain warning line')?.['@level']).toBe('warn');
    expect(line('a plain line')?.['@level']).toBe('debug');
  });

  it("go-plugin's client reattached to driverkit serve calls through the gateway; its Close (a Shutdown) leaves the gateway serving", async () => {
    const dir = tempDir('go-reattach');
    writeFileSync(
      join(dir, 'driverkit.toml'),
      `[drivers.users]\ntype = "userprovider"\ndriver = "${BIN.demo}"\n`,
    );
    const serve = await spawnUntil(
      process.execPath,
      [CLI, 'serve', '--listen', '127.0.0.1:0'],
      /serving users on (\S+)\n/,
      { cwd: dir, endSignal: 'SIGTERM' },
    );
    const attach = () => run(['-reattach', serve.match[1], '-pid', String(serve.child.pid)]);
    for (let round = 0; round < 2; round++) {
      const out = await attach();
      expect(out.code, out.stderr).toBe(0);
      expect(out.result).toMatchObject({ ping: 'ok', username: 'einstein' });
      expect(out.result!.found).toBeGreaterThan(0);
    }
    // GRPCController.Shutdown is the host's word to its own plugin, not a client's.
    expect(serve.child.exitCode).toBe(null);
  });

  it('a driver that prints noise before its handshake is refused by the Go host too', async () => {
    const out = await run([BIN.fixture, fixtureContract.cookieKey, fixtureContract.cookieValue], {
      FIXTURE_MODE: 'noise',
    });
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/Starting fixture driver v1\.2\.3/);
  });
});
