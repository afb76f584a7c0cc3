// Git: a package index that is a git repository, and a source driver installed from one.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { userprovider } from '../src/contracts/userprovider.js';
import { spawnUntil, useDriver } from './helpers.js';
import { cli, publish, readLockFile, tempDir } from './packages-helpers.js';
import { BIN, CLI, ROOT } from './paths.js';

const git = (cwd: string, ...args: string[]) =>
  execFileSync(
    'git',
    ['-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'init.defaultBranch=main', ...args],
    { cwd, stdio: 'pipe' },
  );

describe('git indexes', () => {
  it('installs from a git repository at a tag, and records the git index in the lock', async () => {
    const repo = tempDir('pkg-git');
    git(repo, 'init', '--quiet');
    await publish(repo, '1.0.0');
    git(repo, 'add', '-A');
    git(repo, 'commit', '--quiet', '-m', 'demo 1.0.0');
    git(repo, 'tag', 'v1');
    await publish(repo, '1.1.0');
    git(repo, 'add', '-A');
    git(repo, 'commit', '--quiet', '-m', 'demo 1.1.0');
    const project = tempDir('pkg-project');
    const index = `git+file://${repo}#v1`;
    const out = await cli(project, 'install', 'demo', '--index', index);
    expect(out.code, out.stderr).toBe(0);
    const lock = JSON.parse(readFileSync(join(project, 'driverkit.lock'), 'utf8'));
    // At the tag, 1.1.0 does not exist yet.
    expect(lock.drivers.demo).toMatchObject({ version: '1.0.0', index });
    const head = await cli(project, 'upgrade', 'demo', '--index', `git+file://${repo}`);
    expect(head.code, head.stderr).toBe(0);
    expect(
      JSON.parse(readFileSync(join(project, 'driverkit.lock'), 'utf8')).drivers.demo.version,
    ).toBe('1.1.0');
  });

  it('install --git clones a source driver at a tag, builds it, installs it pinned like an archive', async () => {
    const repo = tempDir('pkg-src');
    git(repo, 'init', '--quiet');
    // Any build that writes an executable to $OUT will do: a wrapper of the demo driver.
    writeFileSync(
      join(repo, 'driverkit.json'),
      JSON.stringify({
        type: 'userprovider',
        version: '0.3.0',
        build: `printf '#!/bin/sh\\nexec "%s"\\n' "${BIN.demo}" > "$OUT"`,
      }),
    );
    git(repo, 'add', '-A');
    git(repo, 'commit', '--quiet', '-m', 'a source driver');
    git(repo, 'tag', 'v0.3.0');
    const project = tempDir('pkg-project');
    const out = await cli(
      project,
      'install',
      '--git',
      `file://${repo}#v0.3.0`,
      '--name',
      'demo-src',
    );
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr).toMatch(/building demo-src from file:/);
    const lock = JSON.parse(readFileSync(join(project, 'driverkit.lock'), 'utf8'));
    expect(lock.drivers['demo-src']).toMatchObject({ version: '0.3.0', type: 'userprovider' });
    const driver = useDriver({
      name: 'demo-src',
      path: join(project, lock.drivers['demo-src'].binary),
      contract: userprovider,
      sha256: lock.drivers['demo-src'].binarySha256,
    });
    await driver.ready;
    expect((await driver.client.findUsers({ query: 'marie' })).users).toHaveLength(1);
  });

  it('install --git with trusted keys is refused before anything is cloned or built', async () => {
    const repo = tempDir('pkg-src');
    git(repo, 'init', '--quiet');
    const marker = join(repo, 'built');
    writeFileSync(
      join(repo, 'driverkit.json'),
      JSON.stringify({ type: 'userprovider', version: '0.3.0', build: `touch "${marker}"` }),
    );
    git(repo, 'add', '-A');
    git(repo, 'commit', '--quiet', '-m', 'a source driver');
    const project = tempDir('pkg-project');
    const keys = await cli(project, 'pack', '--new-key', join(project, 'author'));
    expect(keys.code, keys.stderr).toBe(0);
    const out = await cli(
      project,
      'install',
      '--git',
      `file://${repo}`,
      '--trusted-key',
      join(project, 'author.pub.pem'),
    );
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('a git source has no signed manifest, and trusted keys are set');
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(join(project, 'driverkit.lock'))).toBe(false);
  });

  it("driverkit serve installs a config's package from a git index and serves it", async () => {
    const repo = tempDir('pkg-git');
    git(repo, 'init', '--quiet');
    await publish(repo, '1.0.0');
    git(repo, 'add', '-A');
    git(repo, 'commit', '--quiet', '-m', 'demo 1.0.0');
    const project = tempDir('pkg-project');
    writeFileSync(
      join(project, 'driverkit.toml'),
      `indexes = ["git+file://${repo}"]\n\n[drivers.users]\ntype = "userprovider"\npackage = "demo"\n`,
    );
    const serve = await spawnUntil(
      process.execPath,
      [CLI, 'serve', '--listen', '127.0.0.1:0'],
      /serving users on (\S+)\n/,
      {
        cwd: project,
        env: { ...process.env, DRIVERKIT_HOME: join(project, '.home'), DRIVERKIT_INDEX: '' },
        endSignal: 'SIGTERM',
      },
    );
    expect(
      JSON.parse(readFileSync(join(project, 'driverkit.lock'), 'utf8')).drivers.demo,
    ).toMatchObject({ version: '1.0.0', index: `git+file://${repo}` });
    serve.child.kill('SIGTERM');
    expect((await serve.done).code).toBe(0);
  });

  it('pack builds a source folder first, then packs the result', async () => {
    const src = tempDir('pkg-src');
    writeFileSync(
      join(src, 'driverkit.json'),
      JSON.stringify({
        type: 'userprovider',
        build: `printf '#!/bin/sh\\nexec "%s"\\n' "${BIN.demo}" > "$OUT"`,
      }),
    );
    const index = tempDir('pkg-index');
    const out = await cli(
      index,
      'pack',
      src,
      '--name',
      'built',
      '--type',
      'userprovider',
      '--version',
      '2.0.0',
      '--index',
      index,
    );
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr).toMatch(/building .* …/);
    const project = tempDir('pkg-project');
    expect((await cli(project, 'install', 'built', '--index', index)).code).toBe(0);
  });

  it('a manifest with only a source is built with --build from its pinned commit, to the same bytes in a fresh clone', async () => {
    const repo = tempDir('pkg-src');
    git(repo, 'init', '--quiet');
    // A real TypeScript source driver: the demo, bundled by driverkit's own build.
    // Code of its own, so that the bundle names this file (by a path relative to the checkout).
    writeFileSync(
      join(repo, 'main.ts'),
      `process.title = 'src-demo';\nimport ${JSON.stringify(join(ROOT, 'drivers/userprovider/demo/main.ts'))};\n`,
    );
    writeFileSync(join(repo, 'driverkit.json'), JSON.stringify({ type: 'userprovider' }));
    git(repo, 'add', '-A');
    git(repo, 'commit', '--quiet', '-m', 'v1');
    git(repo, 'tag', 'v1');
    const commit = git(repo, 'rev-parse', 'HEAD').toString().trim();
    const index = tempDir('pkg-index');
    const manifest = (version: string, source: object) => {
      mkdirSync(join(index, 'src-demo'), { recursive: true });
      writeFileSync(
        join(index, 'src-demo', `${version}.json`),
        JSON.stringify({
          name: 'src-demo',
          type: 'userprovider',
          version,
          driverkit: '*',
          artifacts: [],
          source,
        }),
      );
    };
    manifest('1.0.0', { git: repo, commit, ref: 'v1' });
    const project = tempDir('pkg-project');
    // Building runs the repository's build: not without being asked.
    const refused = await cli(project, 'install', 'src-demo', '--index', index);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /src-demo 1\.0\.0 has no artifact for \S+ \(has: none\) and a source, which --build \(config: build_packages = true\) builds/,
    );
    const out = await cli(project, 'install', 'src-demo', '--index', index, '--build');
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr).toMatch(/building src-demo 1\.0\.0 from .*pkg-src/);
    const entry = readLockFile(project).drivers['src-demo'];
    expect(entry).toMatchObject({ version: '1.0.0', source: `${repo}#${commit}` });
    const driver = useDriver({
      name: 'src-demo',
      path: join(project, entry.binary),
      contract: userprovider,
      sha256: entry.binarySha256,
    });
    await driver.ready;
    expect((await driver.client.findUsers({ query: 'marie' })).users).toHaveLength(1);
    await driver.close();
    // A fresh clone of the project has the lock only: --frozen --build builds the same commit
    // again, in another temp folder, to the executable the lock pins.
    const clone = tempDir('pkg-clone');
    cpSync(join(project, 'driverkit.lock'), join(clone, 'driverkit.lock'));
    expect((await cli(clone, 'install', '--frozen')).stderr).toMatch(
      /built from .* and its archive is not here: building it again runs its build, so pass --build/,
    );
    const frozen = await cli(clone, 'install', '--frozen', '--build');
    expect(frozen.code, frozen.stderr).toBe(0);
    expect(frozen.stdout).toMatch(/repaired\s+src-demo 1\.0\.0/);
    // A tag moved away from the pinned commit is refused before anything is built.
    writeFileSync(join(repo, 'extra'), 'x');
    git(repo, 'add', '-A');
    git(repo, 'commit', '--quiet', '-m', 'v2');
    git(repo, 'tag', '-f', 'v1');
    manifest('1.0.1', { git: repo, commit, ref: 'v1' });
    const moved = await cli(project, 'upgrade', 'src-demo', '--index', index, '--build');
    expect(moved.code).toBe(1);
    expect(moved.stderr).toMatch(
      new RegExp(`v1 is commit [0-9a-f]{40}, but the manifest pins ${commit}; nothing was built`),
    );
    // Without a ref, a full clone is checked out at the commit. No clone is left behind.
    manifest('1.0.2', { git: repo, commit });
    expect((await cli(project, 'upgrade', 'src-demo', '--index', index, '--build')).code).toBe(0);
    expect(readLockFile(project).drivers['src-demo']).toMatchObject({
      version: '1.0.2',
      source: `${repo}#${commit}`,
    });
  });

  it('a repository that cannot be cloned is DOWNLOAD_FAILED naming it', async () => {
    const project = tempDir('pkg-project');
    const out = await cli(
      project,
      'install',
      'demo',
      '--index',
      `git+file://${join(project, 'nope')}`,
    );
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/could not clone git repository file:\/\/.*nope/);
  });
});
