// driverkit install / upgrade / uninstall / packages / pack, as real CLI processes against
// an index on disk and served by a local HTTP(S) server.
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { userprovider } from '../src/contracts/userprovider.js';
import { resolveInstalled } from '../src/packages/installed.js';
import { generateIdentity } from '../src/protocol/mtls.js';
import { writeTar } from '../src/packages/tar.js';
import { expectRejection, spawnCollect, useDriver } from './helpers.js';
import {
  cli,
  cliWith,
  editManifest,
  publish,
  readLockFile,
  serveFolder,
  tempDir,
} from './packages-helpers.js';
import { BIN, CLI } from './paths.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('driver packages', () => {
  it('install over HTTP, start it pinned by the lock; a changed binary is refused at start; uninstall', async () => {
    const index = tempDir('pkg-index');
    const project = tempDir('pkg-project');
    await publish(index, '1.0.0');
    const server = await serveFolder(index);
    const r = await cli(project, 'install', 'demo', '--index', server.url);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toMatch(
      /^installed\s+demo 1\.0\.0\s+\.driverkit\/drivers\/demo\/1\.0\.0\/demo\n$/,
    );
    const lock = readLockFile(project).drivers.demo;
    expect(lock).toMatchObject({
      version: '1.0.0',
      type: 'userprovider',
      index: server.url,
      url: `${server.url}demo/demo-1.0.0-${process.platform}-${process.arch}.tar.gz`,
      binarySha256: sha(readFileSync(BIN.demo)),
    });

    const installed = await resolveInstalled('demo', '^1', project);
    const driver = useDriver({
      name: 'demo',
      path: installed.path,
      contract: userprovider,
      sha256: installed.sha256,
    });
    await driver.ready;
    await driver.close();
    writeFileSync(installed.path, '#!/bin/sh\necho tampered\n');
    await expect(
      expectRejection(
        useDriver({
          name: 'demo',
          path: installed.path,
          contract: userprovider,
          sha256: installed.sha256,
        }).ready,
      ),
    ).resolves.toMatchObject({ code: 'CHECKSUM_MISMATCH' });
    expect((await cli(project, 'packages', '--offline')).stdout).toMatch(
      /^demo\s+userprovider\s+1\.0\.0\s+changed\s/,
    );

    expect((await cli(project, 'uninstall', 'demo')).stdout).toBe('removed    demo 1.0.0\n');
    expect(existsSync(join(project, '.driverkit/drivers/demo'))).toBe(false);
    expect(readLockFile(project).drivers).toEqual({});
    await expect(resolveInstalled('demo', undefined, project)).rejects.toMatchObject({
      code: 'PACKAGE_NOT_FOUND',
    });
  });

  it("install over HTTPS: with the server's CA trusted it installs; without, it fails naming the index and the certificate", async () => {
    const index = tempDir('pkg-index');
    await publish(index, '1.0.0');
    const id = await generateIdentity();
    const ca = join(tempDir('pkg-ca'), 'ca.pem');
    writeFileSync(ca, id.certPem);
    const server = await serveFolder(index, id);
    const project = tempDir('pkg-project');
    const untrusted = await cli(project, 'install', 'demo', '--index', server.url);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(
      new RegExp(
        `${server.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*(certificate|self.signed)`,
        'i',
      ),
    );
    expect(existsSync(join(project, 'driverkit.lock'))).toBe(false);
    const trusted = await cliWith(
      { NODE_EXTRA_CA_CERTS: ca },
      project,
      'install',
      'demo',
      '--index',
      server.url,
    );
    expect(trusted.code, trusted.stderr).toBe(0);
    expect(readLockFile(project).drivers.demo).toMatchObject({
      version: '1.0.0',
      index: server.url,
    });
    expect(server.downloads).toBe(1);
  });

  it('on a terminal, a download that takes more than a moment shows how far it is, in place', async () => {
    const index = tempDir('pkg-index');
    await publish(index, '1.0.0');
    const server = await serveFolder(index);
    const archive = `demo/demo-1.0.0-${process.platform}-${process.arch}.tar.gz`;
    server.rules.set(`/${archive}`, { trickleMs: 60 });
    const project = tempDir('pkg-project');
    // script(1) gives the CLI a terminal; its output is what a user would see.
    const command = [process.execPath, CLI, 'install', 'demo', '--index', server.url]
      .map((a) => `'${a}'`)
      .join(' ');
    const out = await spawnCollect('script', ['-qec', command, '/dev/null'], {
      cwd: project,
      env: {
        ...process.env,
        DRIVERKIT_HOME: join(project, '.home'),
        DRIVERKIT_INDEX: '',
        DRIVERKIT_TRUSTED_KEYS: '',
      },
    });
    expect(out.code, out.stdout).toBe(0);
    const lines = out.stdout
      .replaceAll('\x1b[K', '')
      .split('\r')
      .filter((l) => l.startsWith('downloading'));
    expect(lines.length).toBeGreaterThan(1);
    // On script's 80 columns the URL gives way from its left.
    expect(lines.at(-1)).toMatch(/^downloading \S+\/demo-1\.0\.0-\S+\.tar\.gz 100% of \d+ kB$/);
    expect(lines.every((l) => l.length < 80)).toBe(true);
    expect(lines.slice(0, -1).every((l) => / \d{1,2}% of \d+ kB$/.test(l))).toBe(true);
    expect(out.stdout).toMatch(/installed\s+demo 1\.0\.0/);
  });

  it('upgrade picks the highest compatible version while a newer incompatible one exists; downgrades need --force', async () => {
    const index = tempDir('pkg-index');
    const project = tempDir('pkg-project');
    await Promise.all([
      publish(index, '1.0.0'),
      publish(index, '1.1.0'),
      publish(index, '2.0.0', '^0.2.0'),
    ]);
    expect((await cli(project, 'install', 'demo@1.0.0', '--index', index)).stdout).toMatch(
      /^installed\s+demo 1\.0\.0/,
    );
    expect((await cli(project, 'packages')).stdout).toMatch(
      /^demo\s+userprovider\s+1\.0\.0\s+ok\s+\S+\s+newer: 1\.1\.0\n$/,
    );
    expect((await cli(project, 'upgrade', 'demo')).stdout).toMatch(
      /^upgraded\s+demo 1\.1\.0 \(was 1\.0\.0\)/,
    );
    expect(
      readdirSync(join(project, '.driverkit/drivers/demo')).filter((f) => !f.endsWith('.lock')),
    ).toEqual(['1.1.0']);
    expect((await cli(project, 'upgrade', '--all')).stdout).toMatch(/^unchanged\s+demo 1\.1\.0/);

    const tooNew = await cli(project, 'install', 'demo@2', '--index', index);
    expect(tooNew.code).toBe(1);
    expect(tooNew.stderr).toContain('no version of "demo" in 2 works with driverkit 0.1.0');
    expect(tooNew.stderr).toContain('demo 2.0.0 needs driverkit ^0.2.0');

    const down = await cli(project, 'install', 'demo@1.0.0', '--index', index);
    expect([down.code, down.stderr]).toEqual([
      1,
      'driverkit install: demo 1.1.0 is installed, and the highest version that fits is 1.0.0: pass --force to downgrade\n',
    ]);
    expect(
      (await cli(project, 'install', 'demo@1.0.0', '--force', '--index', index)).stdout,
    ).toMatch(/^downgraded\s+demo 1\.0\.0 \(was 1\.1\.0\)/);
    expect((await cli(project, 'upgrade', 'demo', '--force')).stdout).toMatch(
      /^upgraded\s+demo 2\.0\.0/,
    );
  });

  it('a wrong sha256 is refused before unpacking, and nothing is installed', async () => {
    const index = tempDir('pkg-index');
    const project = tempDir('pkg-project');
    await publish(index, '1.0.0');
    editManifest(index, '1.0.0', (m) => (m.artifacts[0].sha256 = '0'.repeat(64)));
    const r = await cli(project, 'install', 'demo', '--index', index);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /demo 1\.0\.0: file:\S+ has sha256 [0-9a-f]{64}, but the index says 0{64}; nothing was installed/,
    );
    expect(
      readdirSync(join(project, '.driverkit/drivers')).filter((f) => !f.endsWith('.lock')),
    ).toEqual([]);
    expect(existsSync(join(project, 'driverkit.lock'))).toBe(false);
  });

  it('an archive with a ../ entry is refused, and nothing is written outside (or inside)', async () => {
    const index = tempDir('pkg-index');
    const project = tempDir('pkg-project');
    await publish(index, '1.0.0');
    const archive = gzipSync(
      writeTar([
        { path: 'demo', type: 'file', mode: 0o755, data: readFileSync(BIN.demo) },
        { path: '../escaped', type: 'file', mode: 0o644, data: Buffer.from('x') },
      ]),
    );
    writeFileSync(join(index, 'demo', 'evil.tar.gz'), archive);
    editManifest(index, '1.0.0', (m) =>
      Object.assign(m.artifacts[0], { url: 'evil.tar.gz', sha256: sha(archive), entry: 'demo' }),
    );
    const r = await cli(project, 'install', 'demo', '--index', `file://${index}`);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'refused: entry "../escaped" leaves the archive folder; nothing was installed',
    );
    expect(readdirSync(join(project, '.driverkit/drivers/demo'))).toEqual([]);
    expect(existsSync(join(project, '.driverkit/drivers/escaped'))).toBe(false);
  });

  it('an interrupted download leaves the previous version installed and working', async () => {
    const index = tempDir('pkg-index');
    const project = tempDir('pkg-project');
    await publish(index, '1.0.0');
    const server = await serveFolder(index);
    expect((await cli(project, 'install', 'demo', '--index', server.url)).code).toBe(0);
    await publish(index, '1.1.0');
    server.rules.set(`/demo/demo-1.1.0-${process.platform}-${process.arch}.tar.gz`, { cut: true });
    const r = await cli(project, 'upgrade', 'demo');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /could not download http:\/\/127\.0\.0\.1:\d+\/demo\/demo-1\.1\.0-\S+\.tar\.gz: /,
    );
    expect(readLockFile(project).drivers.demo.version).toBe('1.0.0');
    expect(
      readdirSync(join(project, '.driverkit/drivers/demo')).filter((f) => !f.endsWith('.lock')),
    ).toEqual(['1.0.0']);
    const installed = await resolveInstalled('demo', undefined, project);
    await useDriver({
      name: 'demo',
      path: installed.path,
      contract: userprovider,
      sha256: installed.sha256,
    }).ready;
  });

  it('--frozen installs what the lock says and fails rather than change it', async () => {
    const index = tempDir('pkg-index');
    const project = tempDir('pkg-project');
    await Promise.all([publish(index, '1.0.0'), publish(index, '1.1.0')]);
    expect((await cli(project, 'install', 'demo@1.0.0', '--index', index)).code).toBe(0);
    const lockBefore = readFileSync(join(project, 'driverkit.lock'), 'utf8');
    const stale = await cli(project, 'install', 'demo@^1.1', '--frozen');
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(
      /driverkit\.lock has demo 1\.0\.0, not in \^1\.1, and --frozen does not change the lock/,
    );
    const missing = await cli(project, 'install', 'other', '--frozen', '--index', index);
    expect(missing.stderr).toMatch(
      /"other" is not in \S+driverkit\.lock, and --frozen does not change the lock/,
    );
    rmSync(join(project, '.driverkit'), { recursive: true });
    expect((await cli(project, 'install', '--frozen')).stdout).toMatch(/^repaired\s+demo 1\.0\.0/);
    expect(readFileSync(join(project, 'driverkit.lock'), 'utf8')).toBe(lockBefore);
    expect(sha(readFileSync(join(project, '.driverkit/drivers/demo/1.0.0/demo')))).toBe(
      sha(readFileSync(BIN.demo)),
    );
  });

  it('two installs of one name at once take turns: one downloads, the other finds it installed', async () => {
    const index = tempDir('pkg-index');
    const project = tempDir('pkg-project');
    await publish(index, '1.0.0');
    const server = await serveFolder(index);
    server.rules.set(`/demo/demo-1.0.0-${process.platform}-${process.arch}.tar.gz`, {
      delayMs: 300,
    });
    const [a, b] = await Promise.all([
      cli(project, 'install', 'demo', '--index', server.url),
      cli(project, 'install', 'demo', '--index', server.url),
    ]);
    expect([a.code, b.code, a.stderr + b.stderr]).toEqual([0, 0, '']);
    expect([a.stdout.split(' ')[0], b.stdout.split(' ')[0]].sort()).toEqual([
      'installed',
      'unchanged',
    ]);
    expect([server.downloads, server.maxConcurrent]).toEqual([1, 1]);
    expect(readLockFile(project).drivers.demo.version).toBe('1.0.0');
  });
});
