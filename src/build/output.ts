import { execa } from 'execa';

/** Lines of compiler output kept for a failed build's error. */
const TAIL_LINES = 30;

/** The last lines of some output, for error messages. */
export function tailLines(text: string, n = TAIL_LINES): string[] {
  return text.trimEnd().split('\n').slice(-n);
}

/** Runs a build tool and returns its combined output; throws with that output when it fails. */
export async function runTool(file: string, args: string[], options: { cwd: string; env?: Record<string, string>; shell?: boolean }): Promise<string> {
  const result = await execa(file, args, {
    cwd: options.cwd,
    env: options.env,
    all: true,
    reject: false,
    shell: options.shell,
    stdin: 'ignore',
  });
  if (result.failed) {
    const why = result.exitCode !== undefined ? `exit code ${result.exitCode}` : result.shortMessage;
    throw Object.assign(new Error(`${options.shell ? file : [file, ...args].join(' ')} failed (${why})`), { output: result.all ?? '' });
  }
  return result.all ?? '';
}
