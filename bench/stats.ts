import { readFileSync } from 'node:fs';

/** Percentile of a list of numbers (nearest rank). */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export const median = (values: number[]) => percentile(values, 50);

/** Runs `fn` `n` times in a row and returns each duration in ms. */
export async function timeEach(n: number, fn: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

/**
 * Runs `fn` against each peer for `rounds` rounds, interleaved so machine noise hits all
 * alike, and in reverse order every other round: whichever peer runs second in a round
 * gains (the first leaves the garbage and warms the caches), which showed as 5-15%.
 */
export async function interleaved<P, T>(
  peers: P[],
  rounds: number,
  fn: (p: P) => Promise<T>,
): Promise<T[][]> {
  const out = peers.map(() => [] as T[]);
  for (let r = 0; r < rounds; r++) {
    const order = [...peers.keys()];
    if (r % 2) order.reverse();
    for (const i of order) out[i].push(await fn(peers[i]));
  }
  return out;
}

/** Each call's duration in ms, with `concurrency` calls in flight, over `total` calls. */
export async function timeConcurrent(
  total: number,
  concurrency: number,
  fn: () => Promise<unknown>,
): Promise<number[]> {
  const out: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < total) {
        const t0 = performance.now();
        await fn();
        out.push(performance.now() - t0);
      }
    }),
  );
  return out;
}

/** Calls per second with `concurrency` calls in flight, over `total` calls. */
export async function throughput(
  total: number,
  concurrency: number,
  fn: () => Promise<unknown>,
): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < total) await fn();
    }),
  );
  return total / ((performance.now() - t0) / 1000);
}

/** Resident set size of a process, in MB, from /proc. */
export function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.split(/\s+/)[1]) / 1024;
}
