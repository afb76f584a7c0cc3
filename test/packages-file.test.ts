// `driverkit install --file`: a local archive installed without an index, as real CLI processes.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { userprovider } from '../src/contracts/userprovider.js';
import { resolveInstalled } from '../src/packages/installed.js';
import { spawnCollect, useDriver } from './helpers.js';
import { writeTar } from '../src/packages/tar.js';
import { cli, cliWith, readLockFile, tempDir } from './packages-helpers.js';
import { BIN, CLI } from './paths.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('install --file', () => {
  it('installs a local archive, pinned by its own sha256; --frozen restores it; keys refuse it', async () => {
    const dist = tempDir('pkg-dist');
    const project = tempDir('pkg-project');
    const packed = await cli(
      dist,
      'pack',
      BIN.demo,
      '--name',
      'demo',
      '--type',
      'userprovider',
      '--version',
      '1.3.0',
    );
    expect(packed.code).toBe(0);
    const archive = join(dist, `demo-1.3.0-${process.platform}-${process.arch}.tar.gz`);

    const usage = await cli(project, 'install', '--file', archive, '--name', 'demo');
    expect([usage.code, usage.stderr]).toEqual([
      2,
      expect.stringContaining('--file needs --name, --version and --type'),
    ]);
    const keys = tempDir('pkg-keys');
    expect((await cli(keys, 'pack', '--new-key', 'k')).code).toBe(0);
    const keyed = await cliWith(
      { DRIVERKIT_TRUSTED_KEYS: join(keys, 'k.pub.pem') },
      project,
      'install',
      '--file',
      archive,
      '--name',
      'demo',
      '--version',
      '1.3.0',
      '--type',
      'userprovider',
    );
    expect([keyed.code, keyed.stderr]).toEqual([
      1,
      expect.stringContaining('a local archive has no signed manifest, and trusted keys are set'),
    ]);
    expect(existsSync(join(project, 'driverkit.lock'))).toBe(false);

    const r = await cli(
      project,
      'install',
      '--file',
      archive,
      '--name',
      'demo',
      '--version',
      '1.3.0',
      '--type',
      'userprovider',
    );
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toMatch(
      /^installed\s+demo 1\.3\.0\s+\.driverkit\/drivers\/demo\/1\.3\.0\/demo\n$/,
    );
    expect(readLockFile(project).drivers.demo).toEqual({
      version: '1.3.0',
      type: 'userprovider',
      index: '(file)',
      url: relative(project, archive),
      sha256: sha(readFileSync(archive)),
      binary: '.driverkit/drivers/demo/1.3.0/demo',
      binarySha256: sha(readFileSync(BIN.demo)),
    });
    const installed = await resolveInstalled('demo', '^1.3', project);
    await useDriver({
      name: 'demo',
      path: installed.path,
      contract: userprovider,
      sha256: installed.sha256,
    }).ready;
    expect((await cli(project, 'packages')).stdout).toMatch(
      /^demo\s+userprovider\s+1\.3\.0\s+ok\s+\(file\)\s+newest\n$/,
    );
    expect(
      (
        await cli(
          project,
          'install',
          '--file',
          archive,
          '--name',
          'demo',
          '--version',
          '1.3.0',
          '--type',
          'userprovider',
        )
      ).stdout,
    ).toMatch(/^unchanged\s+demo 1\.3\.0/);
    const down = await cli(
      project,
      'install',
      '--file',
      archive,
      '--name',
      'demo',
      '--version',
      '1.2.0',
      '--type',
      'userprovider',
    );
    expect([down.code, down.stderr]).toEqual([
      1,
      expect.stringContaining('demo 1.3.0 is installed, and'),
    ]);

    rmSync(join(project, '.driverkit'), { recursive: true });
    expect((await cli(project, 'install', '--frozen')).stdout).toMatch(/^repaired\s+demo 1\.3\.0/);
    expect(sha(readFileSync(installed.path))).toBe(installed.sha256);
  });

  it('a 960 MiB executable installs, and is checked again, with peak RSS under 100 MiB', async () => {
    const dist = tempDir('pkg-big');
    const archive = join(dist, 'big.tar.gz');
    writeFileSync(archive, hugeArchive('big', 960));
    // The CLI says its own peak RSS as it exits.
    const preload = join(dist, 'peak.mjs');
    writeFileSync(
      preload,
      "process.on('exit', () => process.stderr.write('peak ' + process.resourceUsage().maxRSS));\n",
    );
    const install = async () => {
      const r = await spawnCollect(
        process.execPath,
        ['--import', preload, CLI, 'install', '--file', archive, '--name', 'big'].concat([
          '--version',
          '1.0.0',
          '--type',
          'userprovider',
        ]),
        { cwd: dist, env: { ...process.env, DRIVERKIT_HOME: join(dist, '.home') } },
      );
      expect(r.code, r.stderr).toBe(0);
      return { stdout: r.stdout, peakKb: Number(/peak (\d+)/.exec(r.stderr)![1]) };
    };
    const first = await install();
    expect(first.stdout).toMatch(/^installed\s+big 1\.0\.0/);
    // Installing it again checks the installed executable's sha256 (as each start does).
    const again = await install();
    expect(again.stdout).toMatch(/^unchanged\s+big 1\.0\.0/);
    // Hashed whole in memory, each peaked above 1 GiB.
    expect(first.peakKb).toBeLessThan(100 * 1024);
    expect(again.peakKb).toBeLessThan(100 * 1024);
  }, 120_000);
});

/**
 * A .tar.gz of one executable of `mib` MiB of zeros, about 1 KB per MiB: gzip members, one
 * per MiB, concatenated (gunzip reads them as one stream), so it is made in no time.
 */
function hugeArchive(name: string, mib: number): Buffer {
  const header = writeTar([{ path: name, type: 'file', mode: 0o755, data: Buffer.alloc(0) }]);
  const head = Buffer.from(header.subarray(0, 512));
  head.write(`${(mib * 1024 * 1024).toString(8).padStart(11, '0')}\0`, 124);
  head.fill(32, 148, 156);
  const sum = head.reduce((s, x) => s + x, 0);
  head.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const mebibyte = gzipSync(Buffer.alloc(1024 * 1024));
  return Buffer.concat([
    gzipSync(head),
    ...Array.from({ length: mib }, () => mebibyte),
    gzipSync(Buffer.alloc(1024)),
  ]);
}
