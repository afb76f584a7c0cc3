// A package index that is a git repository, reached by a file: URL at a tag.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, publish, tempDir } from './packages-helpers.js';

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'init.defaultBranch=main', ...args], { cwd, stdio: 'pipe' });

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
    expect(JSON.parse(readFileSync(join(project, 'driverkit.lock'), 'utf8')).drivers.demo.version).toBe('1.1.0');
  });

  it('a repository that cannot be cloned is DOWNLOAD_FAILED naming it', async () => {
    const project = tempDir('pkg-project');
    const out = await cli(project, 'install', 'demo', '--index', `git+file://${join(project, 'nope')}`);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/could not clone git index file:\/\/.*nope/);
  });
});
