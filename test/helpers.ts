import { execFileSync } from 'node:child_process';
import { onTestFinished, expect } from 'vitest';
import type { Contract } from '../src/contracts/contract.js';
import { launchDriver, type Driver } from '../src/host/driver.js';
import type { Logger } from '../src/host/logger.js';
import type { DriverOptions } from '../src/host/options.js';
import { pidAlive } from '../src/pid.js';
import type { LogFields, LogLevel } from '../src/protocol/hclog.js';

export interface Captured {
  level: LogLevel;
  message: string;
  fields: LogFields;
}

/** A logger that keeps what it is given. */
export function captureLogger(): Logger & { entries: Captured[] } {
  const entries: Captured[] = [];
  return { entries, log: (level, message, fields) => void entries.push({ level, message, fields }) };
}

/** True while `pid` runs; a zombie counts as gone. */
export const isAlive = pidAlive;

/** Polls `check` until it is true or `ms` pass; no fixed sleeps. */
export async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Launches a driver that is closed when the test ends; the test then fails if its process
 * (or its process group) is still alive.
 */
export function useDriver<C extends Contract>(options: Omit<DriverOptions<C>, 'logger'> & { logger?: Logger }): Driver<C> {
  const driver = launchDriver({ logger: captureLogger(), ...options } as DriverOptions<C>);
  onTestFinished(async () => {
    await driver.close();
    const pid = driver.pid;
    if (pid !== undefined) expect(isAlive(pid), `driver ${options.name} (pid ${pid}) still running after close`).toBe(false);
  });
  return driver;
}

/** Go, protoc, protoc-gen-go and Debian's go-plugin: what the Go interop tests build with (.ci/run installs them). */
export const hasGoToolchain = (() => {
  try {
    execFileSync('sh', ['-c', 'command -v go && command -v protoc && command -v protoc-gen-go && test -d /usr/share/gocode/src/github.com/hashicorp/go-plugin'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
