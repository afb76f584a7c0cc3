import type { Stats } from 'node:fs';
import { type ChildProcess, spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { createHash } from 'node:crypto';
import { access, readFile, stat } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Contract } from '../contracts/contract.js';
import { contractVersions } from '../contracts/contract.js';
import { DriverkitError } from '../errors.js';
import { DEFAULT_PORT_RANGE, ENV, HOST_PIPE_FD } from '../protocol/env.js';
import { formatVersions } from '../protocol/versions.js';

/**
 * Checks the executable before spawning, so a wrong path is "not found" or "not
 * executable" instead of an exit code 127 or a bare ENOENT.
 */
export async function checkExecutable(
  path: string,
  who: { driver: string; path: string },
  sha256?: string,
): Promise<void> {
  let info: Stats;
  try {
    info = await stat(path);
  } catch {
    throw new DriverkitError(
      'DRIVER_NOT_FOUND',
      'expected an executable file, but nothing is there',
      who,
    );
  }
  if (!info.isFile())
    throw new DriverkitError(
      'DRIVER_NOT_EXECUTABLE',
      'expected an executable file, got a directory or special file',
      who,
    );
  try {
    await access(path, constants.X_OK);
  } catch {
    throw new DriverkitError(
      'DRIVER_NOT_EXECUTABLE',
      `expected an executable file, but it is not executable (mode ${(info.mode & 0o777).toString(8)})${sourceHint(path)}`,
      who,
    );
  }
  if (sha256 !== undefined) {
    const actual = createHash('sha256')
      .update(await readFile(path))
      .digest('hex');
    if (actual !== sha256.toLowerCase())
      throw new DriverkitError(
        'CHECKSUM_MISMATCH',
        `refused to start: expected sha256 ${sha256.toLowerCase()}, the file has ${actual}`,
        who,
      );
  }
}

export interface SpawnOptions {
  args?: readonly string[];
  env?: Readonly<Record<string, string>>;
  inheritEnv?: readonly string[];
  cwd?: string;
  portRange?: { min: number; max: number };
}

/**
 * The host's variables every driver sees: what a process needs to run, find executables,
 * speak the user's locale, reach a proxy and trust a private CA. Nothing else of the host's
 * environment (its secrets, a gateway's tokens) reaches a driver unless `inheritEnv` names it.
 */
export const INHERITED_ENV: readonly string[] = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'TMPDIR',
  'TZ',
  'TERM',
  'LANG',
  'LANGUAGE',
  'LC_*',
  'XDG_RUNTIME_DIR',
  'NODE_EXTRA_CA_CERTS',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'ALL_PROXY',
  'all_proxy',
  'LD_LIBRARY_PATH',
  'DRIVERKIT_LOG_LEVEL',
];

const matches = (name: string, p: string) =>
  p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : name === p;

/** Whether `patterns` (names, `PREFIX*`, `*` for all, `!` before one to withhold it, which wins) pass a variable. */
const inherits = (name: string, patterns: readonly string[]) =>
  patterns.some((p) => !p.startsWith('!') && matches(name, p)) &&
  !patterns.some((p) => p.startsWith('!') && matches(name, p.slice(1)));

/**
 * The driver's environment: the host's variables that INHERITED_ENV or `inheritEnv` name,
 * the caller's `env`, then go-plugin's variables.
 */
export function driverEnv(contract: Contract, options: SpawnOptions): Record<string, string> {
  const env: Record<string, string> = {};
  const inherit = [...INHERITED_ENV, ...(options.inheritEnv ?? [])];
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && inherits(k, inherit)) env[k] = v;
  Object.assign(env, options.env);
  const range = options.portRange ?? DEFAULT_PORT_RANGE;
  env[contract.cookieKey] = contract.cookieValue;
  env[ENV.protocolVersions] = formatVersions(contractVersions(contract));
  env[ENV.minPort] = String(range.min);
  env[ENV.maxPort] = String(range.max);
  env[ENV.hostPid] = String(process.pid);
  env[ENV.hostPipe] = String(HOST_PIPE_FD);
  // Multiplexing would change the handshake and the transport; driverkit hosts never ask.
  delete env[ENV.multiplexGrpc];
  return env;
}

/**
 * Starts the driver in its own process group (detached), so that closing it reaches every
 * process it started. stdin is not shared: drivers of a server host have no terminal.
 * Node's own spawn, not execa: execa's setup cost about 15 ms of every driver's start
 * (measured), and the host needs only the pipes and the exit event.
 */
export function spawnProcess(
  path: string,
  contract: Contract,
  options: SpawnOptions,
): ChildProcess {
  const child = spawn(path, [...(options.args ?? [])], {
    env: driverEnv(contract, options),
    cwd: options.cwd,
    detached: true,
    // The fourth is the host pipe (see ENV.hostPipe): never written, closed by our death.
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  // The host learns of failures from the spawn itself, the exit and the calls; an 'error'
  // event on the child or a pipe must not crash it.
  const ignore = () => {};
  child.on('error', ignore);
  child.stdout?.on('error', ignore);
  child.stderr?.on('error', ignore);
  const hostPipe = child.stdio[HOST_PIPE_FD] as Socket | null;
  hostPipe?.on('error', ignore);
  // Held open, never written. Read, so that its end-of-file at the driver's exit closes it
  // (the child's 'close' waits for every pipe); unref'd, so it keeps nothing alive.
  hostPipe?.resume().unref();
  // A grandchild that kept the driver's end would keep ours open past the driver's exit.
  child.once('exit', () => hostPipe?.destroy());
  return child;
}

/** A source file named as the driver: the folder it is in is what a config builds. */
function sourceHint(path: string): string {
  return /\.(ts|mts|js|mjs|go)$/.test(path)
    ? `; it looks like a source file: to build it, name its folder (${dirname(path)}) as the driver`
    : '';
}
