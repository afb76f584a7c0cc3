import { spawn } from 'node:child_process';
import { tellWatchdog } from '../watchdog.js';

/** Lines of compiler output kept for a failed build's error. */
const TAIL_LINES = 30;

/** The last lines of some output, for error messages. */
export function tailLines(text: string, n = TAIL_LINES): string[] {
  return text.trimEnd().split('\n').slice(-n);
}

/**
 * Runs a build tool and returns its combined output; throws with that output when it
 * fails. `env` is added to this process's environment.
 */
export function runTool(
  file: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string>; shell?: boolean; signal?: AbortSignal },
): Promise<string> {
  const what = options.shell ? file : [file, ...args].join(' ');
  return new Promise((resolve, reject) => {
    // Its own process group, which the watchdog stops if this process is killed mid-build.
    // The tool starts only once its group is registered (a line on stdin; without it, EOF
    // and no start), so a builder killed right after the spawn leaves nothing behind.
    const run = options.shell ? ['-c', file] : ['-c', 'exec "$0" "$@"', file, ...args];
    const child = spawn(
      '/bin/sh',
      ['-c', 'read -r _ || exit 125; exec /bin/sh "$@"', 'driverkit-build', ...run],
      {
        cwd: options.cwd,
        env: { ...process.env, ...options.env },
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
      },
    );
    child.stdin.on('error', () => {});
    if (child.pid !== undefined) {
      tellWatchdog('+', child.pid);
      child.once('exit', () => tellWatchdog('-', child.pid!));
      child.stdin.end('go\n');
    }
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => chunks.push(c));
    const fail = (why: string) =>
      reject(
        Object.assign(new Error(`${what} failed (${why})`), {
          output: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    child.once('error', (err) => fail(err.message));
    // Cancelled (a host closing, SIGTERM): the tool's whole group goes, while it is ours.
    const cancel = () =>
      void (child.pid !== undefined && child.exitCode === null && signalGroupOf(child.pid));
    options.signal?.addEventListener('abort', cancel, { once: true });
    if (options.signal?.aborted) cancel();
    child.once('exit', () => options.signal?.removeEventListener('abort', cancel));
    child.once('close', (code, signal) => {
      if (code === 0) resolve(Buffer.concat(chunks).toString('utf8'));
      else if (options.signal?.aborted) fail('cancelled');
      else if (code !== null) fail(`exit code ${code}`);
      else fail(`killed by ${signal}`);
    });
  });
}

function signalGroupOf(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Gone already.
  }
}
