// Signed manifests: `pack --new-key` / `pack --sign` for authors, `--trusted-key` and
// DRIVERKIT_TRUSTED_KEYS for operators, as real CLI processes over a folder index.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DriverkitError } from '../src/errors.js';
import { parsePackageManifest } from '../src/packages/manifest.js';
import { openHost } from '../src/host/host.js';
import { captureLogger, expectRejection } from './helpers.js';
import { canonicalJson, isSignedBy, loadTrustedKeys } from '../src/packages/signature.js';
import { cli, cliWith, editManifest, publish, readLockFile, tempDir } from './packages-helpers.js';

/** A key pair made by `driverkit pack --new-key`, as file paths. */
async function newKey(dir: string, base: string): Promise<{ priv: string; pub: string }> {
  const r = await cli(dir, 'pack', '--new-key', base);
  expect([r.code, r.stderr]).toEqual([0, '']);
  return { priv: join(dir, `${base}.pem`), pub: join(dir, `${base}.pub.pem`) };
}

describe('signed manifests', () => {
  it('canonical JSON sorts keys at every depth and has no whitespace', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 'x', c: null }], e: { g: true, f: 'y' } })).toBe(
      '{"a":[{"c":null,"d":"x"}],"b":1,"e":{"f":"y","g":true}}',
    );
  });

  it('a signed index installs with the right key, and is refused with a wrong one (nothing installed)', async () => {
    const index = tempDir('pkg-index');
    const keys = tempDir('pkg-keys');
    const project = tempDir('pkg-project');
    const author = await newKey(keys, 'author');
    const other = await newKey(keys, 'other');
    expect((await cli(keys, 'pack', '--new-key', 'author')).stderr).toContain(
      'author.pem exists already: not overwriting a key',
    );
    await publish(index, '1.0.0', '^0.1.0', '--sign', author.priv);
    const file = join(index, 'demo', '1.0.0.json');
    const manifest = parsePackageManifest(JSON.parse(readFileSync(file, 'utf8')), file);
    // The signature survives reformatting: it covers canonical JSON, not the file's bytes.
    const reordered = Object.fromEntries(Object.entries(manifest).reverse()) as typeof manifest;
    expect(isSignedBy(reordered, await loadTrustedKeys([author.pub], ''))).toBe(true);

    const wrong = await cli(
      project,
      'install',
      'demo',
      '--index',
      index,
      '--trusted-key',
      other.pub,
    );
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toBe(
      `driverkit install: demo 1.0.0 from index ${index} (file://${file}): its signature is not verified by any of the 1 trusted key(s); nothing was installed\n`,
    );
    expect(existsSync(join(project, 'driverkit.lock'))).toBe(false);
    expect(existsSync(join(project, '.driverkit/drivers/demo/1.0.0'))).toBe(false);

    const right = await cli(
      project,
      'install',
      'demo',
      '--index',
      index,
      '--trusted-key',
      other.pub,
      '--trusted-key',
      author.pub,
    );
    expect([right.code, right.stderr]).toEqual([0, '']);
    expect(readLockFile(project).drivers.demo.version).toBe('1.0.0');
  });

  it("a config's trusted_keys apply to the packages its entries install: unsigned is refused at start, signed starts", async () => {
    const [index, keys, project] = [
      tempDir('pkg-index'),
      tempDir('pkg-keys'),
      tempDir('pkg-project'),
    ];
    const author = await newKey(keys, 'author');
    await publish(index, '1.0.0');
    const config = join(project, 'driverkit.toml');
    writeFileSync(
      config,
      `indexes = ["${index}"]\ntrusted_keys = ["${relative(project, author.pub)}"]\n\n[drivers.users]\ntype = "userprovider"\npackage = "demo"\n`,
    );
    const refused = await openHost({ config, logger: captureLogger() });
    const err = await expectRejection(refused.driver('users'), DriverkitError);
    await refused.close();
    expect(err).toMatchObject({ code: 'SIGNATURE_INVALID' });
    expect(err.message).toMatch(
      /demo 1\.0\.0 from index .*: it is not signed, and trusted keys are set; nothing was installed/,
    );
    expect(existsSync(join(project, 'driverkit.lock'))).toBe(false);
    await publish(index, '1.0.1', '^0.1.0', '--sign', author.priv);
    const host = await openHost({ config, logger: captureLogger() });
    const driver = await host.driver('users');
    expect((await driver.client.findUsers({ query: 'marie' })).users).toHaveLength(1);
    await host.close();
    expect(readLockFile(project).drivers.demo.version).toBe('1.0.1');
    // Installed by a command that was given no keys: the lock records no signer, so the
    // config's keys refuse it at start, until an install with a key checks it again.
    const other = tempDir('pkg-project');
    writeFileSync(
      join(other, 'driverkit.toml'),
      readFileSync(config, 'utf8').replace(relative(project, author.pub), author.pub),
    );
    expect((await cli(other, 'install', 'demo', '--index', index)).code).toBe(0);
    const unvouched = await openHost({
      config: join(other, 'driverkit.toml'),
      logger: captureLogger(),
    });
    const refusedAgain = await expectRejection(unvouched.driver('users'), DriverkitError);
    await unvouched.close();
    expect(refusedAgain.message).toMatch(
      /demo 1\.0\.1 in \S+driverkit\.lock was not installed from a manifest signed by a trusted key/,
    );
    const vouch = await cli(other, 'install', 'demo', '--trusted-key', author.pub);
    expect(vouch.stdout, vouch.stderr).toMatch(/unchanged\s+demo 1\.0\.1/);
    expect(readLockFile(other).drivers.demo.signedBy).toMatch(/^[0-9a-f]{64}$/);
    const vouched = await openHost({
      config: join(other, 'driverkit.toml'),
      logger: captureLogger(),
    });
    await vouched.driver('users');
    await vouched.close();
  });

  it('with keys set (DRIVERKIT_TRUSTED_KEYS), an unsigned manifest and one altered after signing are refused', async () => {
    const index = tempDir('pkg-index');
    const keys = tempDir('pkg-keys');
    const project = tempDir('pkg-project');
    const author = await newKey(keys, 'author');
    const env = { DRIVERKIT_TRUSTED_KEYS: author.pub };
    await Promise.all([
      publish(index, '1.0.0'),
      publish(index, '1.1.0', '^0.1.0', '--sign', author.priv),
    ]);

    const unsigned = await cliWith(env, project, 'install', 'demo@1.0.0', '--index', index);
    expect(unsigned.code).toBe(1);
    expect(unsigned.stderr).toMatch(
      /^driverkit install: demo 1\.0\.0 from index \S+ \(file:\S+\/demo\/1\.0\.0\.json\): it is not signed, and trusted keys are set; nothing was installed\n$/,
    );
    expect((await cli(project, 'install', 'demo@1.0.0', '--index', index)).code).toBe(0); // no keys: not checked

    editManifest(index, '1.1.0', (m) => (m.artifacts[0].sha256 = 'f'.repeat(64)));
    const altered = await cliWith(env, project, 'upgrade', 'demo', '--index', index);
    expect(altered.code).toBe(1);
    expect(altered.stderr).toContain('demo 1.1.0 from index');
    expect(altered.stderr).toContain(
      'its signature is not verified by any of the 1 trusted key(s)',
    );
    expect(readLockFile(project).drivers.demo.version).toBe('1.0.0');

    const badKey = await cliWith(
      { DRIVERKIT_TRUSTED_KEYS: author.priv.replace('author', 'missing') },
      project,
      'upgrade',
      'demo',
    );
    expect([badKey.code, badKey.stderr]).toEqual([2, expect.stringContaining('trusted key ')]);
  });
});
