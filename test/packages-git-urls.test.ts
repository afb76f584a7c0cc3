// Git URLs are driverkit's to check, not left to git's config: with a user's git config
// that allows the `ext` remote helper (which runs a command of the URL's choosing), an
// index or a lock naming `ext::...` still runs nothing.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { DriverkitError } from '../src/errors.js';
import { cloneRepo, gitUrlProblem } from '../src/packages/git.js';
import { expectRejection } from './helpers.js';

describe('git URLs', () => {
  it.each([
    { url: 'https://example.org/x.git', problem: undefined },
    { url: 'ssh://git@example.org/x.git', problem: undefined },
    { url: 'git@example.org:x.git', problem: undefined },
    { url: '/srv/repos/x', problem: undefined },
    { url: 'file:///srv/repos/x', problem: undefined },
    { url: 'ext::sh -c touch% /tmp/x', problem: /remote helpers/ },
    { url: 'fd::3', problem: /remote helpers/ },
    { url: '--upload-pack=touch /tmp/x', problem: /may not start with "-"/ },
    { url: 'ftp://example.org/x', problem: /got ftp:/ },
  ])('$url', ({ url, problem }) => {
    if (problem) expect(gitUrlProblem(url)).toMatch(problem);
    else expect(gitUrlProblem(url)).toBeUndefined();
  });

  it("an ext:: URL runs nothing, even when the user's git config allows ext", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dk-git-urls-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const gitconfig = join(dir, 'gitconfig');
    writeFileSync(gitconfig, '[protocol "ext"]\n\tallow = always\n');
    const marker = join(dir, 'ran');
    const before = process.env.GIT_CONFIG_GLOBAL;
    process.env.GIT_CONFIG_GLOBAL = gitconfig;
    onTestFinished(() => {
      if (before === undefined) delete process.env.GIT_CONFIG_GLOBAL;
      else process.env.GIT_CONFIG_GLOBAL = before;
    });
    const err = await expectRejection(cloneRepo(`ext::sh -c touch% ${marker}`), DriverkitError);
    expect(err.message).toMatch(/refusing to clone .*remote helpers/);
    expect(existsSync(marker)).toBe(false);
  });
});
