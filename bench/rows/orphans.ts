import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildDriver } from '../../src/build/build.js';
import { pidAlive } from '../../src/pid.js';
import { BENCH_BIN } from '../peers.js';
import type { Result } from '../result.js';
import { interleaved, median } from '../stats.js';

const RUNS = 20;
const TARGET_MS = 100;
/** A run whose driver outlives this counts as this long: a broken watchdog must not make the row take minutes. */
const DEADLINE_MS = 1000;
const HOST = join(process.cwd(), 'bench', 'hosts', 'orphan-host.mjs');

type How = 'host SIGKILL' | 'SIGTERM';

interface Running {
  host: ChildProcess;
  driver: number;
  /** The host's other children: its watchdog. */
  others: number[];
}

/** Pids whose parent is `ppid`, from /proc (no `children` file on every kernel). */
function childrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // `pid (comm) state ppid ...`; comm may hold spaces, so count from the last ')'.
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid)
        out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Starts a host with the built driverkit and `driver`; resolves once it printed the driver's pid. */
async function startHost(driver: string): Promise<Running> {
  // Its own group, so that cleanup reaches anything it left.
  const host = spawn(process.execPath, [HOST, driver], {
    detached: true,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(
      () => reject(new Error(`orphans row: host for ${driver} printed no pid within 10 s`)),
      10_000,
    );
    host.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n')) {
        clearTimeout(timer);
        resolve(buf.slice(0, buf.indexOf('\n')));
      }
    });
    host.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(
        new Error(
          `orphans row: host for ${driver} exited (${signal ?? code}) before printing the driver's pid`,
        ),
      );
    });
  }).catch((err) => {
    killGroup(host.pid!);
    throw err;
  });
  const pid = Number(line);
  if (!Number.isInteger(pid) || pid <= 0)
    throw new Error(`orphans row: expected a pid from the host, got ${JSON.stringify(line)}`);
  return { host, driver: pid, others: childrenOf(host.pid!).filter((p) => p !== pid) };
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Polls `pid` about every millisecond until it is gone (a zombie counts); ms since `t0`, capped at the deadline. */
async function goneAfter(pid: number, t0: number): Promise<number> {
  while (pidAlive(pid)) {
    if (performance.now() - t0 >= DEADLINE_MS) return DEADLINE_MS;
    await new Promise((r) => setTimeout(r, 1));
  }
  return performance.now() - t0;
}

/** Every process of a run gone: the host (our child, so reaped), its driver and its watchdog (each leads its own group). */
async function cleanup(r: Running): Promise<void> {
  const hostExit =
    r.host.exitCode !== null || r.host.signalCode !== null
      ? Promise.resolve()
      : new Promise((res) => r.host.once('exit', res));
  for (const g of [r.host.pid!, r.driver, ...r.others]) killGroup(g);
  await hostExit;
  for (const p of [r.driver, ...r.others]) {
    const t0 = performance.now();
    if ((await goneAfter(p, t0)) >= DEADLINE_MS)
      throw new Error(`orphans row: pid ${p} survived SIGKILL to its group`);
  }
}

/** One run: start a host and its driver, stop it `how`, time until the driver is gone. */
async function run(driver: string, how: How): Promise<number> {
  const r = await startHost(driver);
  try {
    const t0 = performance.now();
    if (how === 'host SIGKILL') process.kill(r.host.pid!, 'SIGKILL');
    else process.kill(r.driver, 'SIGTERM');
    return await goneAfter(r.driver, t0);
  } finally {
    await cleanup(r);
  }
}

async function measure(label: string, driver: string, note: string): Promise<Result[]> {
  const hows: How[] = ['host SIGKILL', 'SIGTERM'];
  for (const how of hows) await run(driver, how); // warm-up: file cache, JIT of this loop
  const [orphaned, direct] = await interleaved(hows, RUNS, (how) => run(driver, how));
  const late = orphaned.filter((ms) => ms >= DEADLINE_MS).length;
  const runs = `${RUNS} runs${late ? `; ${late} still running after ${DEADLINE_MS} ms` : ''}`;
  return [
    {
      row: 'orphans',
      metric: `host SIGKILL → last driver gone, median: ${label}`,
      value: median(orphaned),
      unit: 'ms',
      baseline: { name: 'SIGTERM sent to the driver → gone', value: median(direct) },
      target: { max: TARGET_MS, on: 'value', label: `≤ ${TARGET_MS} ms` },
      note: `${note}; ${runs}`,
    },
    {
      row: 'orphans',
      metric: `host SIGKILL → last driver gone, max: ${label}`,
      value: Math.max(...orphaned),
      unit: 'ms',
      baseline: { name: 'SIGTERM max', value: Math.max(...direct) },
      note: runs,
    },
  ];
}

/**
 * How fast a host's drivers go when the host is killed with SIGKILL (no exit hook runs):
 * the watchdog's work, against the same driver stopped by a SIGTERM sent to it directly.
 */
export async function orphans(): Promise<Result[]> {
  const results = await measure(
    'TS demo driver',
    join(BENCH_BIN, 'demo-driver'),
    'the host pipe’s end-of-file (SDK drivers), or the watchdog, whichever first',
  );
  try {
    execFileSync('sh', ['-c', 'command -v go && command -v protoc && command -v protoc-gen-go'], {
      stdio: 'ignore',
    });
  } catch {
    return [
      ...results,
      {
        row: 'orphans',
        metric: 'Go driver',
        value: 0,
        unit: '',
        note: 'skipped: needs Go, protoc and Debian go-plugin packages (.ci/run installs them)',
      },
    ];
  }
  const binDir = join(process.cwd(), '.cache', 'bench-go');
  mkdirSync(binDir, { recursive: true });
  const goDriver = (
    await buildDriver({
      folder: join(process.cwd(), 'drivers/userprovider/go'),
      type: 'userprovider',
      binDir,
    })
  ).binary;
  return [
    ...results,
    ...(await measure(
      'Go driver (go-plugin)',
      goDriver,
      'go-plugin watches no host: only the watchdog stops it',
    )),
  ];
}
