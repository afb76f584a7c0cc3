// Builds every executable the tests run, once, through the same bundler `driverkit build`
// uses; after the run, fails it if any process the tests started is still running.
import { sweepMachines } from './netns-sweep.js';
import { execFile, execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import { bundleTypeScript } from '../src/build/typescript.js';
import { BIN, ROOT, TEST_BIN } from './paths.js';

/**
 * Process groups the tests started, one leader pid a line, appended by `recordGroup` in
 * test/helpers.ts. One file per run, so that runs side by side do not share it.
 */
const GROUPS = join(ROOT, '.cache', `test-groups-${process.pid}`);

/** One file per worker pid naming the test it runs (test/running-marker.ts). */
const RUNNING = join(ROOT, '.cache', `test-running-${process.pid}`);

export async function setup(project: TestProject): Promise<void> {
  await rm(TEST_BIN, { recursive: true, force: true });
  await rm(RUNNING, { recursive: true, force: true });
  await mkdir(join(ROOT, '.cache'), { recursive: true });
  writeFileSync(GROUPS, '');
  project.provide('groupsFile', GROUPS);
  project.provide('runningFolder', RUNNING);
  await Promise.all([
    // The CLI and the entries are tested as shipped: dist/, built like `npm run build`.
    promisify(execFile)(process.execPath, [
      join(ROOT, 'node_modules/typescript/bin/tsc'),
      '-p',
      join(ROOT, 'tsconfig.json'),
    ]).then(() => promisify(execFile)(process.execPath, [join(ROOT, 'scripts/bundle.mjs')])),
    bundleTypeScript(join(ROOT, 'drivers/userprovider/demo/main.ts'), BIN.demo),
    bundleTypeScript(join(ROOT, 'drivers/userprovider/json/main.ts'), BIN.json),
    bundleTypeScript(join(ROOT, 'drivers/userprovider/ldap/main.ts'), BIN.ldap),
    bundleTypeScript(join(ROOT, 'drivers/authprovider/json/main.ts'), BIN.authJson),
    bundleTypeScript(join(ROOT, 'drivers/authprovider/ldap/main.ts'), BIN.authLdap),
    bundleTypeScript(join(ROOT, 'test/fixtures/driver.ts'), BIN.fixture),
    bundleTypeScript(join(ROOT, 'test/fixtures/host.ts'), BIN.host),
    bundleTypeScript(join(ROOT, 'test/fixtures/kv-driver.ts'), BIN.kv),
    bundleTypeScript(join(ROOT, 'test/fixtures/greeter-driver.ts'), BIN.greeter),
    bundleTypeScript(join(ROOT, 'test/fixtures/counter-driver.ts'), BIN.counter),
    bundleTypeScript(join(ROOT, 'test/fixtures/interop-driver.ts'), BIN.interop),
  ]);
}

interface Row {
  pid: number;
  pgid: number;
  stat: string;
  args: string;
  line: string;
}

function processes(): Row[] {
  return execFileSync('ps', ['-eo', 'pid=,pgid=,stat=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(\S+)\s(.*)$/.exec(line))
    .filter((m) => m !== null)
    .map(([line, pid, pgid, stat, args]) => ({
      pid: Number(pid),
      pgid: Number(pgid),
      stat,
      args,
      line: line.trim(),
    }));
}

/** Names each test whose worker died while running it: its marker file was never removed. */
function reportDeadWorkers(): void {
  let names: string[];
  try {
    names = readdirSync(RUNNING);
  } catch {
    return;
  }
  // Every worker has exited by now: a file left is a test that never ended.
  for (const pid of names) {
    process.exitCode = 1;
    const test = readFileSync(join(RUNNING, pid), 'utf8').trim();
    console.error(`a test worker (pid ${pid}) died while running: ${test}`);
  }
  rmSync(RUNNING, { recursive: true, force: true });
}

function recordedGroups(): Set<number> {
  try {
    return new Set(readFileSync(GROUPS, 'utf8').split('\n').filter(Boolean).map(Number));
  } catch {
    return new Set();
  }
}

/**
 * Fails the run (exit code 1) if a test left a process behind: one running an executable
 * from TEST_BIN, any process in the group of one (a driver's `sleep` grandchild has another
 * command line), or any in a group the tests recorded, even when its leader is gone.
 * Zombies are dead and do not count. The runner's own group (its workers, the CLI runs) is
 * judged by args alone.
 */
export function teardown(): void {
  reportDeadWorkers();
  const machines = sweepMachines();
  if (machines.length > 0) {
    process.exitCode = 1;
    console.error(
      `network namespaces were left by the tests (now removed): ${machines.join(', ')}`,
    );
  }
  const recorded = recordedGroups();
  rmSync(GROUPS, { force: true });
  const all = processes();
  const own = all.find((p) => p.pid === process.pid)?.pgid;
  const live = all.filter((p) => p.pid !== process.pid && !p.stat.startsWith('Z'));
  const groups = new Set([
    ...recorded,
    ...live.filter((p) => p.args.includes(TEST_BIN)).map((p) => p.pgid),
  ]);
  if (own !== undefined) groups.delete(own);
  const left = live.filter((p) => p.args.includes(TEST_BIN) || groups.has(p.pgid));
  if (left.length === 0) return;
  for (const p of left) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  // Vitest only logs an error thrown here; the exit code is what fails `npm test`.
  process.exitCode = 1;
  throw new Error(
    `test processes were left running after the tests (now killed):\n(pid pgid stat args)\n${left.map((p) => p.line).join('\n')}`,
  );
}
