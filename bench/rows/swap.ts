// Hot reload as `driverkit serve --watch` does it (watchHost over a host): how long from a
// source edit to the first call the new process answers, against a cold start of the same
// driver; and calls/s while a swap runs, against calls/s with none, under 64 callers.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { userprovider } from '../../src/contracts/userprovider.js';
import { openHost } from '../../src/host/host.js';
import { watchHost } from '../../src/host/watch.js';
import { startDriver } from '../../src/launch/driver.js';
import type { Result } from '../result.js';
import { median, percentile } from '../stats.js';

const SWAPS = 10;
/** How long each window with no swap lasts. */
const QUIET_MS = 1000;
const CALLERS = 64;
const quiet = { log: () => {} };

/** The bench's echo driver, answering its generation as the display name. */
function source(gen: number): string {
  const sdk = JSON.stringify(join(process.cwd(), 'src/driver/index.js'));
  return `import { serve, userprovider } from ${sdk};
await serve({
  contract: userprovider,
  handlers: {
    1: {
      configure: () => ({}),
      getUser: (req) => ({ user: { id: req.userId, displayName: "${gen}" } }),
      getUserByClaim: () => ({}),
      getUserGroups: () => ({ groups: [] }),
      findUsers: () => ({ users: [] }),
    },
  },
});
`;
}

/** Callers in a loop; `newest` is the highest generation any call saw, `done` counts calls. */
function callers(call: () => Promise<number>) {
  const seen = { newest: 0, done: 0, failed: 0 };
  const waiting = new Set<() => void>();
  let stopped = false;
  const loops = Array.from({ length: CALLERS }, async () => {
    while (!stopped) {
      try {
        seen.newest = Math.max(seen.newest, await call());
        seen.done++;
      } catch {
        seen.failed++;
      }
      for (const w of waiting) w();
    }
  });
  /** Resolves once `check` holds, looked at after each call. */
  const until = (check: () => boolean) =>
    new Promise<void>((resolve) => {
      const w = () => check() && (waiting.delete(w), resolve());
      waiting.add(w);
      w();
    });
  return { seen, until, stop: () => ((stopped = true), Promise.all(loops)) };
}

/**
 * Calls at a fixed rate (not as fast as they go): what a service with headroom sees. Each
 * tick of 10 ms starts its share of calls; `newest` and `done` as for `callers`, and each
 * call's latency.
 */
function paced(perSecond: number, call: () => Promise<number>) {
  const seen = { newest: 0, done: 0, failed: 0, latencies: [] as number[] };
  let owed = 0;
  const timer = setInterval(() => {
    owed += perSecond / 100;
    for (; owed >= 1; owed--) {
      const t0 = performance.now();
      call().then(
        (gen) => {
          seen.newest = Math.max(seen.newest, gen);
          seen.done++;
          seen.latencies.push(performance.now() - t0);
        },
        () => seen.failed++,
      );
    }
  }, 10);
  return { seen, stop: () => clearInterval(timer) };
}

export async function swap(): Promise<Result[]> {
  const dir = join(process.cwd(), '.cache', 'bench-swap');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'echo'), { recursive: true });
  writeFileSync(
    join(dir, 'echo', 'driverkit.json'),
    JSON.stringify({ type: 'userprovider', version: '0.1.0', driverkit: '^0.1.0' }),
  );
  let gen = 1;
  writeFileSync(join(dir, 'echo', 'main.ts'), source(gen));
  const host = await openHost({
    config: { bin_dir: 'bin', drivers: { echo: { type: 'userprovider', driver: './echo' } } },
    dir,
    logger: quiet,
  });
  const watch = watchHost(host, { logger: quiet });
  try {
    const client = await host.client('echo', userprovider);
    // The first build's inputs are what the watch follows.
    await watch.refresh();
    const call = async () =>
      Number((await client.getUser({ userId: { opaqueId: 'x' } })).user?.displayName);
    const load = callers(call);
    const swaps: number[] = [];
    const rates = { quiet: [] as number[], watch: [] as number[], replace: [] as number[] };
    /** Calls/s while `during` runs; what it resolves with is kept in `out` when given. */
    const rate = async (during: () => Promise<unknown>, out?: number[]) => {
      const calls = load.seen.done;
      const t0 = performance.now();
      await during();
      const ms = performance.now() - t0;
      out?.push(ms);
      return (load.seen.done - calls) / (ms / 1000);
    };
    const noSwap = () => new Promise((r) => setTimeout(r, QUIET_MS));
    await load.until(() => load.seen.done > 1000);
    for (let i = 0; i < SWAPS; i++) {
      // No swap first (the last one's old process has long drained), then one: source
      // edit → the first call the new process answers.
      rates.quiet.push(await rate(noSwap));
      const edit = async () => {
        writeFileSync(join(dir, 'echo', 'main.ts'), source(++gen));
        await load.until(() => load.seen.newest === gen);
      };
      rates.watch.push(await rate(edit, swaps));
    }
    // A swap without a build: the new process started, configured and swapped in.
    const replaces: number[] = [];
    for (let i = 0; i < SWAPS; i++) {
      await noSwap();
      rates.replace.push(await rate(() => host.replace('echo'), replaces));
    }
    await load.stop();
    if (load.seen.failed) throw new Error(`${load.seen.failed} calls failed during the swaps`);
    // The same swaps at a third of the saturated rate: the machine has headroom.
    const offered = Math.round(median(rates.quiet) / 3);
    const steady = paced(offered, call);
    const windows = { quiet: [] as number[], swap: [] as number[] };
    const p99 = { quiet: [] as number[], swap: [] as number[] };
    for (let i = 0; i < SWAPS; i++) {
      for (const kind of ['quiet', 'swap'] as const) {
        const calls = steady.seen.done;
        const from = steady.seen.latencies.length;
        const t0 = performance.now();
        if (kind === 'quiet') await noSwap();
        else {
          writeFileSync(join(dir, 'echo', 'main.ts'), source(++gen));
          while (steady.seen.newest !== gen) await new Promise((r) => setTimeout(r, 10));
        }
        windows[kind].push((steady.seen.done - calls) / ((performance.now() - t0) / 1000));
        p99[kind].push(percentile(steady.seen.latencies.slice(from), 99));
      }
    }
    steady.stop();
    if (steady.seen.failed) throw new Error(`${steady.seen.failed} paced calls failed`);
    const binary = join(dir, 'bin', 'userprovider', 'echo');
    const cold: number[] = [];
    for (let i = 0; i < SWAPS; i++) {
      const t0 = performance.now();
      const d = await startDriver({
        name: 'cold',
        path: binary,
        contract: userprovider,
        logger: quiet,
      });
      await d.client.getUser({ userId: { opaqueId: 'x' } });
      cold.push(performance.now() - t0);
      await d.close();
    }
    const coldP50 = median(cold);
    const perSecond = (v: number[]) => Math.round(median(v));
    const throughput = (what: 'watch' | 'replace', during: string): Result => ({
      row: 'swap',
      metric: `${CALLERS} callers: calls/s with no swap ÷ calls/s ${during} (inverted: lower is better)`,
      value: perSecond(rates.quiet),
      unit: 'calls/s',
      baseline: { name: 'during', value: perSecond(rates[what]) },
      target: { max: 1 / 0.9, on: 'ratio', label: '≤ 1.11 (during ≥ 0.9× without)' },
    });
    return [
      {
        row: 'swap',
        metric: `TS driver: source edit → first call answered by the new process (p50 of ${SWAPS})`,
        value: median(swaps),
        unit: 'ms',
        baseline: { name: 'cold start of the built driver', value: coldP50 },
        note: 'includes the 100 ms debounce, the build and the start',
      },
      {
        row: 'swap',
        metric: `TS driver: source edit → first call answered by the new process (max of ${SWAPS})`,
        value: Math.max(...swaps),
        unit: 'ms',
        baseline: { name: 'cold start of the built driver', value: coldP50 },
        note: `p90 ${Math.round(percentile(swaps, 90))} ms; 0 failed calls in ${2 * SWAPS} swaps`,
      },
      {
        row: 'swap',
        metric: `host.replace() with nothing to build, under ${CALLERS} callers (p50 of ${SWAPS})`,
        value: median(replaces),
        unit: 'ms',
        baseline: { name: 'cold start of the built driver', value: coldP50 },
        note: 'start, handshake and Configure of the new process beside the old',
      },
      {
        ...throughput('watch', 'from a source edit to the new process serving'),
        note: 'the rebuild (esbuild) and the new process start share the 2 cores with the calls',
      },
      throughput('replace', 'during host.replace() (no build)'),
      {
        row: 'swap',
        metric: `${offered} calls/s offered: calls/s answered with no swap ÷ during a swap from a source edit`,
        value: perSecond(windows.quiet),
        unit: 'calls/s',
        baseline: { name: 'during', value: perSecond(windows.swap) },
        target: { max: 1 / 0.9, on: 'ratio', label: '≤ 1.11 (during ≥ 0.9× without)' },
        note: `p99 latency ${median(p99.quiet).toFixed(1)} ms without, ${median(p99.swap).toFixed(1)} ms during`,
      },
    ];
  } finally {
    watch.close();
    await host.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
