import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, credentials } from '@grpc/grpc-js';
import { describe, expect, it, onTestFinished } from 'vitest';
import { internalServices } from '../src/contracts/internal.js';
import { userprovider } from '../src/contracts/userprovider.js';
import { RpcError } from '../src/errors.js';
import { createPromiseClient } from '../src/host/typed-client.js';
import { Status } from '../src/status.js';
import { CLI, ROOT } from './paths.js';

const EINSTEIN = '4c510ada-c86b-4815-8820-42cdf82c3d51';

function processesUnder(dir: string): string[] {
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(join(dir, 'bin')));
}

describe('driverkit serve (gateway)', () => {
  it('relays calls to the default or the named instance, answers health, and stops cleanly on SIGTERM', async () => {
    mkdirSync(join(ROOT, '.cache'), { recursive: true });
    const dir = mkdtempSync(join(ROOT, '.cache', 'gateway-test-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    cpSync(join(ROOT, 'drivers/userprovider'), join(dir, 'drivers/userprovider'), { recursive: true });
    writeFileSync(join(dir, 'staff.json'), JSON.stringify([{ id: { opaque_id: 's1' }, username: 'staffer' }]));
    writeFileSync(
      join(dir, 'driverkit.toml'),
      `[drivers.staff]\ntype = "userprovider"\ndriver = "drivers/userprovider/json"\nconfig = { users = "staff.json" }\n\n[drivers.demo]\ntype = "userprovider"\ndriver = "drivers/userprovider/demo"\n`,
    );
    const serve = spawn(process.execPath, [CLI, 'serve', '--listen', '127.0.0.1:0'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    serve.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => serve.on('exit', (code) => resolve(code)));
    onTestFinished(() => {
      if (serve.exitCode === null) serve.kill('SIGKILL');
    });
    const address = await new Promise<string>((resolve, reject) => {
      let out = '';
      serve.stdout.on('data', (d) => {
        out += d;
        const m = /serving staff, demo on (\S+)\n/.exec(out);
        if (m) resolve(m[1]);
      });
      void exited.then((code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
    });

    const channel = new Client(address, credentials.createInsecure());
    onTestFinished(() => channel.close());
    const mapError = (err: { code: number; details: string }, method: string) => new RpcError(err.code as never, err.details, { method });
    const users = createPromiseClient(channel, userprovider.versions[1], mapError);
    const health = createPromiseClient(channel, internalServices.health, mapError);

    // No header: the first userprovider in the config (staff).
    expect((await users.getUser({ userId: { opaqueId: 's1' } })).user?.username).toBe('staffer');
    // The header picks an instance.
    const viaDemo = await users.getUser({ userId: { opaqueId: EINSTEIN } }, { metadata: { 'driverkit-driver': 'demo' } });
    expect(viaDemo.user?.username).toBe('einstein');
    // The driver's own errors pass through unchanged.
    const notFound = await users.getUser({ userId: { opaqueId: EINSTEIN } }).catch((e) => e);
    expect(notFound.status).toBe(Status.NOT_FOUND);
    const badRoute = await users.getUser({ userId: { opaqueId: 'x' } }, { metadata: { 'driverkit-driver': 'nope' } }).catch((e) => e);
    expect(badRoute.status).toBe(Status.INVALID_ARGUMENT);
    expect(badRoute.details).toMatch(/no UserProvider driver named "nope" \(known: staff, demo\)/);

    for (const service of ['', 'driverkit.userprovider.v1.UserProvider', 'demo', 'staff']) {
      expect((await health.check({ service })).status, service).toBe(1);
    }
    expect((await health.check({ service: 'nope' }).catch((e) => e)).status).toBe(Status.NOT_FOUND);

    expect(processesUnder(dir)).toHaveLength(2);
    serve.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(processesUnder(dir)).toEqual([]);
  });
});
