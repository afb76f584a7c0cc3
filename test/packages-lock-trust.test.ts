// The lock records what was verified; it is not a source of trust. An edited lock cannot
// make a host with trusted keys run another archive, point at a file outside the store, or
// let a package change signer without being asked (trust on first use).
import { chmodSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveInstalled } from '../src/packages/installed.js';
import { keyId, loadTrustedKeys } from '../src/packages/signature.js';
import { expectRejection } from './helpers.js';
import { cli, publish, readLockFile, tempDir } from './packages-helpers.js';

async function newKey(dir: string, base: string): Promise<{ priv: string; pub: string }> {
  const r = await cli(dir, 'pack', '--new-key', base);
  expect([r.code, r.stderr]).toEqual([0, '']);
  return { priv: join(dir, `${base}.pem`), pub: join(dir, `${base}.pub.pem`) };
}

const writeLock = (project: string, lock: unknown) =>
  writeFileSync(join(project, 'driverkit.lock'), JSON.stringify(lock));

describe('the lock is not a source of trust', () => {
  it('a lock edited to another archive (signedBy kept) is refused by install --frozen with keys set', async () => {
    const [index, evil, keys, project] = ['idx', 'evil', 'keys', 'proj'].map((p) => tempDir(p));
    const author = await newKey(keys, 'author');
    await publish(index, '1.0.0', '^0.1.0', '--sign', author.priv);
    const ok = await cli(project, 'install', 'demo', '--index', index, '--trusted-key', author.pub);
    expect([ok.code, ok.stderr]).toEqual([0, '']);

    const script = join(evil, 'evil.sh');
    writeFileSync(script, `#!/bin/sh\ntouch ${join(evil, 'ran')}\n`);
    chmodSync(script, 0o755);
    const packed = await cli(
      evil,
      'pack',
      script,
      '--name',
      'demo',
      '--type',
      'userprovider',
      '--version',
      '1.0.0',
      '--index',
      evil,
    );
    expect(packed.code, packed.stderr).toBe(0);
    const evilManifest = (await import(join(evil, 'demo', '1.0.0.json'))).default;
    const lock = readLockFile(project);
    const entry = lock.drivers.demo;
    const before = { ...entry };
    entry.url = new URL(evilManifest.artifacts[0].url, `file://${evil}/demo/`).href;
    entry.sha256 = evilManifest.artifacts[0].sha256;
    entry.binary = entry.binary.replace(/[^/]+$/, 'evil.sh');
    writeLock(project, lock);
    rmSync(join(project, '.driverkit'), { recursive: true });

    const frozen = await cli(project, 'install', '--frozen', '--trusted-key', author.pub);
    expect(frozen.code).toBe(1);
    expect(frozen.stderr).toContain(
      `demo 1.0.0 names archive sha256 ${entry.sha256}, which its signed manifest in`,
    );
    expect(existsSync(join(project, entry.binary))).toBe(false);
    expect(existsSync(join(evil, 'ran'))).toBe(false);

    // The lock as it was verified repairs as before.
    lock.drivers.demo = before;
    writeLock(project, lock);
    const repaired = await cli(project, 'install', '--frozen', '--trusted-key', author.pub);
    expect([repaired.code, repaired.stderr]).toEqual([0, '']);
    expect(repaired.stdout).toMatch(/^repaired\s+demo 1\.0\.0/);
  });

  it("a lock's binary outside its version's folder is refused at start", async () => {
    const [index, project] = [tempDir('idx'), tempDir('proj')];
    await publish(index, '1.0.0');
    expect((await cli(project, 'install', 'demo', '--index', index)).code).toBe(0);
    const lock = readLockFile(project);
    lock.drivers.demo.binary = '.driverkit/drivers/demo/1.0.0/../../../../outside.sh';
    writeLock(project, lock);
    const err = await expectRejection(resolveInstalled('demo', undefined, project));
    expect(err).toMatchObject({ code: 'PACKAGE_INVALID' });
    expect(err.message).toContain(
      '"drivers.demo.binary" must lie inside .driverkit/drivers/demo/1.0.0/, got',
    );
  });

  it('a package keeps its signer: a newer version signed by another trusted key needs --new-signer', async () => {
    const [index, keys, project] = [tempDir('idx'), tempDir('keys'), tempDir('proj')];
    const [a, b] = [await newKey(keys, 'a'), await newKey(keys, 'b')];
    await publish(index, '1.0.0', '^0.1.0', '--sign', a.priv);
    await publish(index, '1.1.0', '^0.1.0', '--sign', b.priv);
    const trust = ['--trusted-key', a.pub, '--trusted-key', b.pub];
    const [idA, idB] = (await loadTrustedKeys([a.pub, b.pub], '')).map(keyId);
    expect((await cli(project, 'install', 'demo@1.0.0', '--index', index, ...trust)).code).toBe(0);
    expect(readLockFile(project).drivers.demo.signedBy).toBe(idA);

    const refused = await cli(project, 'upgrade', 'demo', '--index', index, ...trust);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `demo 1.1.0 is signed by key ${idB.slice(0, 16)}…, but ${join(project, 'driverkit.lock')} records that demo was signed by key ${idA.slice(0, 16)}…`,
    );
    expect(readLockFile(project).drivers.demo).toMatchObject({ version: '1.0.0', signedBy: idA });

    const asked = await cli(project, 'upgrade', 'demo', '--index', index, '--new-signer', ...trust);
    expect([asked.code, asked.stderr]).toEqual([0, '']);
    expect(readLockFile(project).drivers.demo).toMatchObject({ version: '1.1.0', signedBy: idB });
  });
});
