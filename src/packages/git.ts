import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTool } from '../build/output.js';
import { DriverkitError } from '../errors.js';

/** An index that is a git repository: `git+URL[#REF]` (URL: https:, file: or a path). */
export const isGitIndex = (index: string): boolean => index.startsWith('git+');

const checkouts = new Map<string, Promise<string>>();

/**
 * A shallow checkout of a git index at its ref (default: the repository's HEAD), made once
 * per process into a temp folder that goes when the process exits. Its folder is then read
 * as a folder index.
 */
export function checkoutIndex(index: string): Promise<string> {
  let done = checkouts.get(index);
  if (!done) {
    done = clone(index);
    checkouts.set(index, done);
  }
  return done;
}

async function clone(index: string): Promise<string> {
  return cloneRepo(index.slice('git+'.length));
}

/**
 * A shallow clone of `URL[#REF]` (a branch or tag; default: HEAD) in a temp folder that
 * goes when the process exits. A repository that cannot be cloned is DOWNLOAD_FAILED.
 */
export async function cloneRepo(spec: string): Promise<string> {
  const hash = spec.lastIndexOf('#');
  const [url, ref] = hash > 0 ? [spec.slice(0, hash), spec.slice(hash + 1)] : [spec, undefined];
  const dir = await mkdtemp(join(tmpdir(), 'driverkit-git-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  try {
    await runTool('git', ['clone', '--quiet', '--depth', '1', ...(ref ? ['--branch', ref] : []), '--', url, dir], { cwd: tmpdir(), env: { GIT_TERMINAL_PROMPT: '0' } });
  } catch (err) {
    throw new DriverkitError('DOWNLOAD_FAILED', `could not clone git repository ${url}${ref ? ` at ${ref}` : ''}: ${String((err as { output?: string }).output ?? err).trim()}`, { cause: err });
  }
  return dir;
}
