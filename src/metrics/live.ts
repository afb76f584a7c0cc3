// What `driverkit status` shows of each driver's calls right now: calls/s, error ratio and
// latency quantiles over the last seconds, from deltas of the call metrics sampled every
// second (the cumulative counters alone would average over the whole uptime).
import type { CallMetrics } from './metrics.js';

/** Codes that say the driver (or the way to it) failed, not the caller: what error ratios count. */
export const SERVER_ERROR_CODES = [
  'UNKNOWN',
  'DEADLINE_EXCEEDED',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
] as const;

/** One driver's calls over the window. Quantiles in seconds, undefined without calls. */
export interface LiveRates {
  callsPerSecond: number;
  /** Calls that ended with a SERVER_ERROR_CODES status, over all calls; 0 without calls. */
  errorRatio: number;
  p50?: number;
  p99?: number;
}

interface Totals {
  calls: number;
  errors: number;
  /** Cumulative bucket counts, by upper bound (`le`), +Inf last. */
  buckets: Map<number, number>;
}

interface Snapshot {
  at: number;
  drivers: Map<string, Totals>;
}

const SERVER_ERRORS = new Set<string>(SERVER_ERROR_CODES);

/** Samples `metrics` every `everyMs` and keeps `windowMs` of samples; `rates()` compares now with the oldest. */
export class LiveStats {
  readonly #ring: Snapshot[] = [];
  #timer?: NodeJS.Timeout;

  constructor(
    private readonly metrics: CallMetrics,
    private readonly windowMs = 10_000,
    private readonly everyMs = 1_000,
  ) {}

  start(): void {
    const tick = async () => {
      this.#ring.push(await this.#snapshot());
      while (this.#ring.length > 1 && this.#ring[0].at < Date.now() - this.windowMs)
        this.#ring.shift();
    };
    void tick();
    this.#timer = setInterval(() => void tick(), this.everyMs).unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Each driver's rates from the oldest sample in the window to now. */
  async rates(): Promise<Map<string, LiveRates>> {
    const now = await this.#snapshot();
    // Before the first sample there is no window: nothing to compare with, no rates.
    const then = this.#ring[0] ?? now;
    const seconds = Math.max((now.at - then.at) / 1000, 1e-3);
    const out = new Map<string, LiveRates>();
    for (const [driver, t] of now.drivers) {
      const before = then.drivers.get(driver);
      const calls = t.calls - (before?.calls ?? 0);
      const errors = t.errors - (before?.errors ?? 0);
      const delta = new Map(
        [...t.buckets].map(([le, n]) => [le, n - (before?.buckets.get(le) ?? 0)]),
      );
      out.set(driver, {
        callsPerSecond: then === now ? 0 : calls / seconds,
        errorRatio: calls > 0 ? errors / calls : 0,
        p50: quantile(0.5, delta),
        p99: quantile(0.99, delta),
      });
    }
    return out;
  }

  async #snapshot(): Promise<Snapshot> {
    const drivers = new Map<string, Totals>();
    const of = (driver: string) => {
      let t = drivers.get(driver);
      if (!t) drivers.set(driver, (t = { calls: 0, errors: 0, buckets: new Map() }));
      return t;
    };
    for (const v of (await this.metrics.calls.get()).values) {
      const t = of(String(v.labels.driver));
      t.calls += v.value;
      if (SERVER_ERRORS.has(String(v.labels.code))) t.errors += v.value;
    }
    for (const v of (await this.metrics.duration.get()).values) {
      if (v.metricName !== 'driverkit_call_duration_seconds_bucket') continue;
      const bound = (v.labels as Record<string, string | number>).le;
      const le = bound === '+Inf' ? Number.POSITIVE_INFINITY : Number(bound);
      const b = of(String(v.labels.driver)).buckets;
      b.set(le, (b.get(le) ?? 0) + v.value);
    }
    return { at: Date.now(), drivers };
  }
}

/**
 * The q-quantile of cumulative bucket counts, interpolated within its bucket as
 * Prometheus' histogram_quantile does; the highest finite bound when it falls in +Inf.
 */
export function quantile(q: number, buckets: ReadonlyMap<number, number>): number | undefined {
  const sorted = [...buckets].sort(([a], [b]) => a - b);
  const total = sorted.at(-1)?.[1] ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let [lower, below] = [0, 0];
  for (const [le, count] of sorted) {
    if (count >= rank) {
      if (le === Number.POSITIVE_INFINITY) return lower;
      return lower + ((le - lower) * (rank - below)) / Math.max(count - below, 1e-9);
    }
    [lower, below] = [le, count];
  }
  return lower;
}
