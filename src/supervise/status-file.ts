import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { SupervisorStatus } from './supervisor.js';

/** What `driverkit serve` publishes about its drivers, for `driverkit ls` to show. */
export interface ServeStatus {
  pid: number;
  address?: string;
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
  writeFileSync(tmp, JSON.stringify(status));
  renameSync(tmp, path);
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

/** The status of a serve process that is still running, else undefined. */
export function readStatus(path: string): ServeStatus | undefined {
  let status: ServeStatus;
  try {
    status = JSON.parse(readFileSync(path, 'utf8')) as ServeStatus;
    process.kill(status.pid, 0);
  } catch {
    return undefined;
  }
  return status;
}
