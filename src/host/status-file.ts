import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pidAlive, processStartTime } from '../pid.js';
import type { SupervisorStatus } from './supervisor.js';

/** What `driverkit serve` publishes about its drivers, for `driverkit ls` to show. */
export interface ServeStatus {
  pid: number;
  /** When that process started (see processStartTime), and the config it serves. */
  startTime?: string;
  config: string;
  address?: string;
  /** The admin endpoint (`[gateway] admin_listen`), for `driverkit status`. */
  admin?: string;
  drivers: Record<string, SupervisorStatus>;
}

/** Where a config's serve status lives: beside the binaries it builds. */
export function statusPath(binDir: string): string {
  return join(binDir, '.serve-status.json');
}

/** Replaces the status file in one rename, so a reader never sees half of it. */
export function writeStatus(path: string, status: ServeStatus): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}`;
  try {
    writeFileSync(tmp, JSON.stringify(status));
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Removes the status file if this process wrote it: a second serve that failed to start must not remove the first one's. */
export function removeStatus(path: string): void {
  try {
    if ((JSON.parse(readFileSync(path, 'utf8')) as ServeStatus).pid === process.pid)
      rmSync(path, { force: true });
  } catch {
    // gone, or not ours to judge
  }
}

/**
 * The status of a serve of `config` that is still running, else undefined. A file naming
 * any other live process (pid 1, a reused pid, a forged file) is not believed: the pid must
 * still be the process that started at `startTime` and runs `serve`.
 */
export function readStatus(path: string, config: string): ServeStatus | undefined {
  try {
    const status = JSON.parse(readFileSync(path, 'utf8')) as ServeStatus;
    if (status.config !== config || !Number.isInteger(status.pid) || !pidAlive(status.pid))
      return undefined;
    const started = processStartTime(status.pid);
    if (started !== undefined) {
      if (started !== status.startTime) return undefined;
      const argv = readFileSync(`/proc/${status.pid}/cmdline`, 'utf8').split('\0');
      if (!argv.includes('serve')) return undefined;
    }
    return status;
  } catch {
    return undefined;
  }
}
