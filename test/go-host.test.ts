// Go host → TS driver: hashicorp/go-plugin 1.0.1's own client (test/go/host) loads
// driverkit drivers, pings them, calls GetUser and Kills them.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDriver } from '../src/build/build.js';
import { userprovider } from '../src/contracts/userprovider.js';
import { fixtureContract } from './fixtures/contract.js';
import { hasGoToolchain, isAlive } from './helpers.js';
import { BIN, ROOT } from './paths.js';

const hasGo = hasGoToolchain;

interface Outcome {
  code: number | null;
  result?: { ping: string; username: string; kill_ms: number; exited: boolean; pid: number };
  log: Array<Record<string, unknown>>;
  stderr: string;
}

describe.skipIf(!hasGo)('Go host (plain go-plugin) → TS driver', () => {
  let goHost = '';
  const binDir = join(ROOT, '.cache', 'go-host-bin');
  beforeAll(async () => {
    mkdirSync(binDir, { recursive: true });
    goHost = (await buildDriver({ folder: join(ROOT, 'test/go/host'), type: 'gohost', binDir })).binary;
  }, 120_000);
  afterAll(() => rmSync(binDir, { recursive: true, force: true }));

  function run(args: string[], env: Record<string, string> = {}): Promise<Outcome> {
    return new Promise((resolve) => {
      const child = spawn(goHost, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => {
        const log = stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
        resolve({ code, result: stdout ? JSON.parse(stdout) : undefined, log, stderr });
      });
    });
  }

  it.each([false, true])('loads the TS demo driver, pings, calls, and Kill() ends it through Shutdown (AutoMTLS: %s)', async (autoMTLS) => {
    const out = await run([...(autoMTLS ? ['-automtls'] : []), BIN.demo, userprovider.cookieKey, userprovider.cookieValue]);
    expect(out.code, out.stderr).toBe(0);
    expect(out.result).toMatchObject({ ping: 'ok', username: 'einstein', exited: true });
    // go-plugin waits 2 s after Shutdown before it kills; the driver is gone well before.
    expect(out.result!.kill_ms).toBeLessThan(1000);
    expect(isAlive(out.result!.pid)).toBe(false);
    expect(out.log.some((l) => l['@message'] === 'plugin process exited')).toBe(true);
  });

  it("the driver's log lines arrive in the Go host's hclog at the levels the driver used", async () => {
    const out = await run([BIN.fixture, fixtureContract.cookieKey, fixtureContract.cookieValue], { FIXTURE_MODE: 'logs' });
    expect(out.code, out.stderr).toBe(0);
    const line = (m: string) => out.log.find((l) => l['@message'] === m);
    expect(line('disk almost full')).toMatchObject({ '@level': 'warn', free_mb: 12, '@module': 'fixture' });
    expect(line('lost connection')?.['@level']).toBe('error');
    expect(line('details')?.['@level']).toBe('debug');
    expect(line('[WARN] plain warning line')?.['@level']).toBe('warn');
    expect(line('a plain line')?.['@level']).toBe('debug');
  });

  it('a driver that prints noise before its handshake is refused by the Go host too', async () => {
    const out = await run([BIN.fixture, fixtureContract.cookieKey, fixtureContract.cookieValue], { FIXTURE_MODE: 'noise' });
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/Starting fixture driver v1\.2\.3/);
  });
});
