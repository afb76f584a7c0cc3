import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
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
export function checkoutIndex(index: string, signal?: AbortSignal): Promise<string> {
  let done = checkouts.get(index);
  if (!done) {
    done = cloneRepo(index.slice('git+'.length), false, signal);
    checkouts.set(index, done);
    // A clone that failed (or was cancelled) is tried again by the next install.
    done.catch(() => checkouts.delete(index));
  }
  return done;
}

/** Clones not yet removed: one exit hook removes them all (a hook per clone would pile up in a long serve). */
const clones = new Set<string>();
process.once('exit', () => clones.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** Removes a clone now, once it has been used. */
export async function removeClone(dir: string): Promise<void> {
  clones.delete(dir);
  await rm(dir, { recursive: true, force: true });
}

/**
 * A shallow (or `full`) clone of `URL[#REF]` (a branch or tag; default: HEAD) in a temp
 * folder that goes when the process exits. A repository that cannot be cloned is DOWNLOAD_FAILED.
 */
export async function cloneRepo(spec: string, full = false, signal?: AbortSignal): Promise<string> {
  const hash = spec.lastIndexOf('#');
  const [url, ref] = hash > 0 ? [spec.slice(0, hash), spec.slice(hash + 1)] : [spec, undefined];
  const refused =
    gitUrlProblem(url) ?? (ref?.startsWith('-') ? `a ref may not start with "-"` : undefined);
  if (refused)
    throw new DriverkitError(
      'DOWNLOAD_FAILED',
      `refusing to clone ${JSON.stringify(spec)}: ${refused}`,
    );
  const dir = await mkdtemp(join(tmpdir(), 'driverkit-git-'));
  clones.add(dir);
  try {
    await runTool(
      'git',
      [
        // Whatever the user's git config allows (protocol.ext.allow = always, say), only
        // these transports: no remote helper runs a command of an index's choosing.
        ...['-c', 'protocol.allow=never'],
        ...TRANSPORTS.flatMap((p) => ['-c', `protocol.${p}.allow=always`]),
        // A server that drips (under 1 KB/s for 30 s) ends the clone, as a stalled download does.
        ...['-c', 'http.lowSpeedLimit=1000', '-c', 'http.lowSpeedTime=30'],
        'clone',
        '--quiet',
        ...(full ? [] : ['--depth', '1']),
        ...(ref ? ['--branch', ref] : []),
        '--',
        url,
        dir,
      ],
      { cwd: tmpdir(), env: { GIT_TERMINAL_PROMPT: '0' }, signal },
    );
  } catch (err) {
    await removeClone(dir);
    throw new DriverkitError(
      'DOWNLOAD_FAILED',
      `could not clone git repository ${url}${ref ? ` at ${ref}` : ''}: ${String((err as { output?: string }).output ?? err).trim()}`,
      { cause: err },
    );
  }
  return dir;
}

/**
 * A clone of `url` at exactly `commit`: shallow at `ref` when given (which must still name
 * that commit: a moved tag is CHECKSUM_MISMATCH), else a full clone checked out at it.
 */
export async function cloneCommit(
  url: string,
  commit: string,
  ref?: string,
  signal?: AbortSignal,
): Promise<string> {
  const dir = await cloneRepo(ref ? `${url}#${ref}` : url, !ref, signal);
  if (!ref) {
    await runTool('git', ['checkout', '--quiet', '--detach', commit, '--'], {
      cwd: dir,
      env: { GIT_TERMINAL_PROMPT: '0' },
      signal,
    }).catch((err) => {
      throw new DriverkitError(
        'DOWNLOAD_FAILED',
        `git repository ${url} has no commit ${commit}: ${String((err as { output?: string }).output ?? err).trim()}`,
        { cause: err },
      );
    });
  }
  const head = (await runTool('git', ['rev-parse', 'HEAD'], { cwd: dir, env: {} })).trim();
  if (head !== commit)
    throw new DriverkitError(
      'CHECKSUM_MISMATCH',
      `git repository ${url}: ${ref} is commit ${head}, but the manifest pins ${commit}; nothing was built`,
    );
  return dir;
}

/** The transports a git URL may use; git is told to allow these and never any other. */
const TRANSPORTS = ['https', 'http', 'ssh', 'git', 'file'];

/**
 * Why git must not be given `url`, or undefined: driverkit checks every git URL itself,
 * whatever git's config says. Remote helpers (`ext::`, `fd::`, `TRANSPORT::ADDRESS`) and
 * anything that reads as an option are refused; URLs, scp-like `host:path` and paths pass.
 */
export function gitUrlProblem(url: string): string | undefined {
  if (url.startsWith('-')) return 'a URL may not start with "-"';
  if (/^[A-Za-z][A-Za-z0-9+.-]*::/.test(url))
    return 'git remote helpers (TRANSPORT::...) are not allowed';
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url)?.[1]?.toLowerCase();
  if (scheme && !TRANSPORTS.includes(scheme))
    return `expected an https:, http:, ssh:, git: or file: URL, got ${scheme}:`;
  return undefined;
}
