// The bad-driver matrix: each row a way a driver can misbehave, the error (code or class)
// the host must give, and — through useDriver — a check that no process remains.
import { chmodSync, copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { Contract } from '../src/contracts/contract.js';
import { DriverkitError, RpcError } from '../src/errors.js';
import type { Driver } from '../src/launch/driver.js';
import type { Logger } from '../src/launch/logger.js';
import { Status } from '../src/status.js';
import { fixtureContract, hostSpeaking } from './fixtures/contract.js';
import { captureLogger, expectRejection, isAlive, useDriver, waitFor } from './helpers.js';
import { BIN } from './paths.js';

interface Row {
  name: string;
  env?: Record<string, string>;
  path?: () => string;
  contract?: Contract;
  options?: {
    startTimeout?: number;
    shutdownGrace?: number;
    killTimeout?: number;
    sha256?: string;
    cwd?: string;
    logger?: Logger;
  };
  /** The start must fail with this code, and the message must match. */
  start?: { code: string; message: RegExp };
  /** Or the start succeeds and this checks what follows. */
  then?: (driver: Driver) => Promise<void>;
}

const line = (FIXTURE_LINE: string) => ({ FIXTURE_MODE: 'line', FIXTURE_LINE });
const mode = (FIXTURE_MODE: string, more: Record<string, string> = {}) => ({
  FIXTURE_MODE,
  ...more,
});

function tempCopy(mode: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'dk-bad-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'driver');
  copyFileSync(BIN.fixture, path);
  chmodSync(path, mode);
  writeFileSync(join(dir, 'main.ts'), 'export {};\n');
  return path;
}

async function callStillWorks(driver: Driver): Promise<void> {
  const { user } = await (driver.client as any).getUser({ userId: { opaqueId: 'alive' } });
  expect(user.username).toBe('alive');
}

const rows: Row[] = [
  {
    name: 'no output, exits at once',
    env: mode('no-output'),
    start: { code: 'EXITED_BEFORE_HANDSHAKE', message: /exit code 0/ },
  },
  {
    name: 'garbage first line',
    env: line('hello'),
    start: {
      code: 'HANDSHAKE_INVALID',
      message: /expected CORE\|APP\|NETWORK\|ADDR\|PROTOCOL\[\|CERT\], got "hello"/,
    },
  },
  {
    name: 'noise printed before the handshake',
    env: mode('noise'),
    start: { code: 'HANDSHAKE_INVALID', message: /got "Starting fixture driver v1\.2\.3"/ },
  },
  {
    name: 'wrong cookie',
    contract: { ...fixtureContract, cookieValue: 'not-the-cookie' },
    start: {
      code: 'EXITED_BEFORE_HANDSHAKE',
      message: /exit code 1[\s\S]*This binary is a plugin/,
    },
  },
  {
    name: 'core version 2',
    env: line('2|1|unix|/tmp/x|grpc|'),
    start: { code: 'CORE_VERSION_MISMATCH', message: /driver speaks 2, host speaks 1/ },
  },
  {
    name: 'no common app version',
    contract: hostSpeaking(3),
    start: {
      code: 'VERSION_MISMATCH',
      message: /host speaks 3 of "fixture", the driver answered 1/,
    },
  },
  {
    name: 'app version nobody offered',
    env: line('1|7|unix|/tmp/x|grpc|'),
    start: { code: 'VERSION_MISMATCH', message: /the driver answered 7/ },
  },
  {
    name: 'netrpc (no protocol field)',
    env: line('1|1|unix|/tmp/x'),
    start: { code: 'PROTOCOL_UNSUPPORTED', message: /net\/rpc/ },
  },
  {
    name: 'multiplexing it was not asked for',
    env: line('1|1|unix|/tmp/x|grpc||true'),
    start: { code: 'PROTOCOL_UNSUPPORTED', message: /multiplexed/ },
  },
  {
    name: 'exit before the handshake',
    env: mode('exit-early'),
    start: {
      code: 'EXITED_BEFORE_HANDSHAKE',
      message: /exit code 3[\s\S]*fatal: cannot open database/,
    },
  },
  {
    name: 'exit right after the handshake',
    env: mode('exit-after-handshake'),
    start: { code: 'EXITED_BEFORE_HANDSHAKE', message: /exit code 4/ },
  },
  {
    name: 'handshake names a socket nobody listens on',
    env: line('1|1|unix|/tmp/driverkit-nothing-here|grpc|'),
    start: { code: 'HANDSHAKE_INVALID', message: /driverkit-nothing-here": no socket is there/ },
  },
  {
    name: 'never handshakes',
    env: mode('silent'),
    // Long enough for Node to start the fixture and print its line on a busy machine (500 ms
    // was not, once, in CI): the stderr tail is part of what is checked.
    options: { startTimeout: 2000 },
    start: { code: 'HANDSHAKE_TIMEOUT', message: /within 2000 ms[\s\S]*starting up very slowly/ },
  },
  {
    name: 'socket path too long',
    env: { PLUGIN_UNIX_SOCKET_DIR: `/tmp/${'x'.repeat(120)}` },
    start: { code: 'EXITED_BEFORE_HANDSHAKE', message: /over the 107-byte limit/ },
  },
  {
    name: 'missing file',
    path: () => '/nonexistent/driver',
    start: { code: 'DRIVER_NOT_FOUND', message: /nothing is there/ },
  },
  {
    name: 'non-executable file',
    path: () => tempCopy(0o644),
    start: { code: 'DRIVER_NOT_EXECUTABLE', message: /not executable \(mode 644\)/ },
  },
  {
    name: 'a source file instead of its folder',
    path: () => join(dirname(tempCopy(0o644)), 'main.ts'),
    start: {
      code: 'DRIVER_NOT_EXECUTABLE',
      message:
        /it looks like a source file: to build it, name its folder \(.*dk-bad-.*\) as the driver/,
    },
  },
  // Node refuses the first by throwing at once, the second in an 'error' event: both are SPAWN_FAILED.
  {
    name: 'working folder is a file',
    options: { cwd: BIN.fixture },
    start: { code: 'SPAWN_FAILED', message: /cannot start the executable: .*ENOTDIR/ },
  },
  {
    name: 'working folder missing',
    options: { cwd: '/nonexistent-folder' },
    start: { code: 'SPAWN_FAILED', message: /cannot start the executable: .*ENOENT/ },
  },
  {
    name: 'checksum mismatch',
    options: { sha256: '0'.repeat(64) },
    start: {
      code: 'CHECKSUM_MISMATCH',
      message: new RegExp(
        `expected sha256 0{64}, the file has ${createHash('sha256').update(readFileSync(BIN.fixture)).digest('hex')}`,
      ),
    },
  },
  {
    name: 'checksum match starts',
    options: { sha256: createHash('sha256').update(readFileSync(BIN.fixture)).digest('hex') },
    then: callStillWorks,
  },
  {
    name: 'ignores Shutdown and SIGTERM',
    env: mode('stubborn'),
    options: { shutdownGrace: 200, killTimeout: 200 },
    then: async (d) => {
      await d.close();
      expect(await d.exited).toEqual({ code: null, signal: 'SIGKILL' });
    },
  },
  {
    name: 'crashes mid-call',
    then: async (d) => {
      const err = await expectRejection(
        (d.client as any).getUser({ userId: { opaqueId: 'crash' } }),
        RpcError,
      );
      expect(err.status).toBe(Status.UNAVAILABLE);
      expect(err.message).toMatch(
        /driver "bad" .*\[UNAVAILABLE\] .*the driver process has exited .*\(exit code 3\)/,
      );
      expect(d.state).toBe('exited');
    },
  },
  {
    name: 'hangs in a call',
    then: async (d) => {
      const err = await expectRejection(
        (d.client as any).getUser({ userId: { opaqueId: 'hang' } }, { timeout: 200 }),
        RpcError,
      );
      expect(err.status).toBe(Status.DEADLINE_EXCEEDED);
      await callStillWorks(d);
    },
  },
  {
    name: 'floods stdout and stderr (64 MiB each)',
    env: mode('flood'),
    // A logger that keeps nothing: the point is what the host itself holds on to.
    options: { logger: { log: () => {} } },
    then: async (d) => {
      // Unless the host drains both pipes, the driver blocks in write and stops answering.
      await waitFor(() => d.stderrTail.includes('flood done'), 20_000, 'the flood to end');
      await callStillWorks(d);
    },
  },
  {
    name: 'one 1 MiB stderr line',
    env: mode('long-line'),
    then: async (d) => {
      const longest = Math.max(...d.stderrTail.map((l) => l.length));
      expect(longest).toBeLessThanOrEqual(501);
      await callStillWorks(d);
    },
  },
  {
    name: 'spawns a grandchild and is killed',
    env: mode('grandchild'),
    then: async (d) => {
      const grandchild = Number(
        d.stderrTail
          .find((l) => l.startsWith('grandchild pid'))!
          .split(' ')
          .pop(),
      );
      process.kill(d.pid!, 'SIGKILL');
      await d.exited;
      await d.close();
      await waitFor(() => !isAlive(grandchild), 10_000, 'the grandchild to go with its group');
    },
  },
  {
    name: 'dies while the host is closing',
    env: mode('die-on-shutdown'),
    then: async (d) => {
      await d.close();
      expect(await d.exited).toEqual({ code: 7, signal: null });
      expect(d.state).toBe('closed');
    },
  },
];

describe('bad-driver matrix', () => {
  it.each(rows)('$name', async (row) => {
    const driver = useDriver({
      name: 'bad',
      path: row.path?.() ?? BIN.fixture,
      contract: row.contract ?? fixtureContract,
      env: row.env,
      startTimeout: 10_000,
      logger: captureLogger(),
      ...row.options,
    });
    if (row.start) {
      const err = await expectRejection(driver.ready, DriverkitError);
      expect(err.code).toBe(row.start.code);
      expect(err.message).toMatch(row.start.message);
      expect(err.message).toContain('driver "bad"');
    } else {
      await driver.ready;
      await row.then!(driver);
    }
  });
});
