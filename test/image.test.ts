// What the container image runs, tested without a container tool: scripts/image.mjs
// assembles the folder deploy/docker/Dockerfile copies, and this test starts the gateway and
// a driver from that folder with the image's entry point and the manifests' commands.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, credentials } from '@grpc/grpc-js';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { userprovider } from '../src/contracts/userprovider.js';
import { RpcError } from '../src/errors.js';
import { createClient, errorStep } from '../src/rpc/client.js';
import { grpcInvoke } from './grpc-js/invoke.js';
import { spawnUntil } from './helpers.js';
import { ROOT } from './paths.js';

const OUT = mkdtempSync(join(tmpdir(), 'dk-image-'));
const APP = join(OUT, 'app');
const dockerfile = readFileSync(join(ROOT, 'deploy/docker/Dockerfile'), 'utf8');
/** The image's path of a file, in the assembled folder. */
const inApp = (path: string) => join(APP, path.replace(/^\/app\//, ''));

beforeAll(() => {
  execFileSync(process.execPath, [join(ROOT, 'scripts/image.mjs'), '--out', OUT], {
    stdio: 'pipe',
  });
  return () => rmSync(OUT, { recursive: true, force: true });
}, 180_000);

describe('the container image', () => {
  it('copies the assembled folder, runs as a non-root user, and holds production files only', () => {
    expect(dockerfile).toMatch(/^COPY .*\.cache\/image\/app \/app$/m);
    expect(dockerfile).toMatch(/^USER 10001:10001$/m);
    const entry = JSON.parse(/^ENTRYPOINT (.*)$/m.exec(dockerfile)![1]);
    // tini reaps what drivers leave behind; node runs the CLI below it.
    expect(entry).toEqual(['/usr/bin/tini', '--', 'node', '/app/dist/cli/main.js']);
    expect(dockerfile).toMatch(/apt-get install -y --no-install-recommends tini/);
    expect(existsSync(inApp(entry[3]))).toBe(true);
    for (const dev of ['vitest', 'typescript', '@biomejs', 'ts-proto', 'kubernetes-models'])
      expect(existsSync(join(APP, 'node_modules', dev)), dev).toBe(false);
    for (const source of ['src', 'test', '.git']) expect(existsSync(join(APP, source))).toBe(false);
    // The drivers the manifests run are built in, executable.
    for (const manifest of ['driver.yaml', 'sidecar.yaml']) {
      const text = readFileSync(join(ROOT, 'deploy/kubernetes', manifest), 'utf8');
      for (const [, bin] of text.matchAll(/command: \["([^"]+)"\]/g))
        expect(statSync(inApp(bin)).mode & 0o111, bin).not.toBe(0);
    }
  });

  it('starts a driver as a service and the gateway in front of it, from that folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dk-image-run-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const socket = join(dir, 'users.sock');
    // As driver.yaml runs it (with a unix socket: no certificates needed here).
    await spawnUntil(inApp('/app/bin/userprovider/json'), [], /serving as a service/, {
      on: 'stderr',
      env: {
        PATH: process.env.PATH,
        DRIVERKIT_LISTEN: `unix://${socket}`,
        DRIVERKIT_CONFIGURE: JSON.stringify({
          config: { users: inApp('/app/examples/users.json') },
        }),
      },
    });
    writeFileSync(
      join(dir, 'driverkit.toml'),
      `bin_dir = "${join(dir, 'state')}"\nlisten = "127.0.0.1:0"\n[drivers.users]\ntype = "userprovider"\naddress = "unix://${socket}"\nrequired = true\n`,
    );
    // The image's ENTRYPOINT and CMD, with this config.
    const { match } = await spawnUntil(
      'node',
      [inApp('/app/dist/cli/main.js'), 'serve', '--config', join(dir, 'driverkit.toml')],
      /driverkit: serving .* on (\S+)\n/,
      { env: { PATH: process.env.PATH, NODE_ENV: 'production' }, cwd: dir, endSignal: 'SIGTERM' },
    );
    const channel = new Client(match[1], credentials.createInsecure());
    onTestFinished(() => channel.close());
    const users = createClient(
      userprovider.versions[1],
      grpcInvoke(channel),
      errorStep((err, method) => new RpcError(err.code as never, err.details, { method })),
    );
    expect((await users.findUsers({ query: 'einstein' })).users).toHaveLength(1);
  });
});
