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
const ROUNDS = 6;
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
    const during: number[] = [];
    const without: number[] = [];
    await load.until(() => load.seen.done > 1000);
    for (let i = 0; i < Math.max(SWAPS, ROUNDS); i++) {
      // A swap: edit → the first call the new process answers; calls/s over that span.
      const calls0 = load.seen.done;
      const t0 = performance.now();
      writeFileSync(join(dir, 'echo', 'main.ts'), source(++gen));
      await load.until(() => load.seen.newest === gen);
      const ms = performance.now() - t0;
      swaps.push(ms);
      during.push((load.seen.done - calls0) / ms);
      // As long again with no swap (the old process has drained meanwhile, or is draining).
      const calls1 = load.seen.done;
      const t1 = performance.now();
      await new Promise((r) => setTimeout(r, ms));
      without.push((load.seen.done - calls1) / (performance.now() - t1));
    }
    // A swap without a build: the new process started, configured and swapped in.
    const replaces: number[] = [];
    for (let i = 0; i < SWAPS; i++) {
      const t0 = performance.now();
      await host.replace('echo');
      replaces.push(performance.now() - t0);
    }
    await load.stop();
    if (load.seen.failed) throw new Error(`${load.seen.failed} calls failed during the swaps`);
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
    const rate = (v: number) => Math.round(v * 1000);
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
        row: 'swap',
        metric: `${CALLERS} callers: calls/s with no swap ÷ calls/s during a swap (inverted: lower is better)`,
        value: rate(median(without)),
        unit: 'calls/s',
        baseline: { name: 'during a swap', value: rate(median(during)) },
        target: { max: 1 / 0.9, on: 'ratio', label: '≤ 1.11 (during ≥ 0.9× without)' },
        note: `0 failed calls in ${SWAPS} swaps; p90 swap ${Math.round(percentile(swaps, 90))} ms`,
      },
    ];
  } finally {
    watch.close();
    await host.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
