// The metrics of a host of many drivers (`driverkit serve`, a DriverHost): besides every
// call's, each driver process's state, restarts and resources, read when scraped, and the
// durations of what it takes to run one (builds, installs, starts); and the gateway's
// rejections.
import { Counter, Gauge, Histogram } from 'prom-client';
import { groupUsage } from '../pid.js';
import { CallMetrics, type MetricsOptions } from './metrics.js';

/** What a host says of one driver when scraped. */
export interface DriverSample {
  driver: string;
  type: string;
  /** ready, starting, restarting, failed, exited, stopped, closed. */
  state: string;
  /** Its process (the leader of its process group), while it runs. */
  pid?: number;
  restarts: number;
  lastExit?: { code: number | null; signal: string | null };
  /** A service's replicas. */
  replicas?: ReadonlyArray<{ address: string; state: string }>;
}

/** Why the gateway refused a call before relaying it. */
export type RejectionReason =
  | 'unauthenticated'
  | 'not_allowed'
  | 'unknown_driver'
  | 'limit_calls'
  | 'limit_memory';

/** How an entry's executable was made ready: built from source, installed from a package. */
export type PrepareKind = 'build' | 'install';

/** Fills a metric from the drivers' state when scraped. */
type Collect<M> = (this: M) => void;

const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** Call metrics and those of a host's drivers; `watch` tells it where to read their state. */
export class HostMetrics extends CallMetrics {
  readonly startDuration: Histogram<'driver'>;
  readonly prepareDuration: Histogram<'driver' | 'kind' | 'outcome'>;
  readonly rejections: Counter<'reason'>;
  #samples: () => readonly DriverSample[] = () => [];
  readonly #cpu = new CpuTotals();

  constructor(options: MetricsOptions = {}) {
    super(options);
    const registers = [this.registry];
    const samples = () => this.#samples();
    this.startDuration = new Histogram({
      name: 'driverkit_driver_start_duration_seconds',
      help: 'Time from spawning (or dialing) a driver to its first ready state, build excluded.',
      labelNames: ['driver'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.prepareDuration = new Histogram({
      name: 'driverkit_prepare_duration_seconds',
      help: "Time to make an entry's executable ready: a build from source, a package install.",
      labelNames: ['driver', 'kind', 'outcome'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.rejections = new Counter({
      name: 'driverkit_gateway_rejections_total',
      help: 'Calls the gateway refused before relaying them, by reason.',
      labelNames: ['reason'],
      registers,
    });
    gauge(
      'driverkit_driver_up',
      'Whether the driver is ready for calls (1) or not (0).',
      ['driver', 'type'],
      function () {
        this.reset();
        for (const s of samples())
          this.set({ driver: s.driver, type: s.type }, s.state === 'ready' ? 1 : 0);
      },
    );
    gauge(
      'driverkit_driver_state',
      "The driver's state: 1 on the current one.",
      ['driver', 'state'],
      function () {
        this.reset();
        for (const s of samples()) this.set({ driver: s.driver, state: s.state }, 1);
      },
    );
    counter(
      'driverkit_driver_restarts_total',
      'Restarts of the driver by its policy.',
      ['driver'],
      function () {
        this.reset();
        for (const s of samples()) this.inc({ driver: s.driver }, s.restarts);
      },
    );
    gauge(
      'driverkit_driver_last_exit',
      'How its last process ended: 1 with its exit code or signal.',
      ['driver', 'code', 'signal'],
      function () {
        this.reset();
        for (const s of samples())
          if (s.lastExit)
            this.set(
              {
                driver: s.driver,
                code: s.lastExit.code === null ? '' : String(s.lastExit.code),
                signal: s.lastExit.signal ?? '',
              },
              1,
            );
      },
    );
    const usage = () =>
      samples().flatMap((s) => (s.pid ? [{ driver: s.driver, group: groupUsage(s.pid) }] : []));
    const cpu = this.#cpu;
    gauge(
      'driverkit_driver_resident_memory_bytes',
      "Resident memory of the driver's process group.",
      ['driver'],
      function () {
        this.reset();
        for (const u of usage())
          if (u.group.length)
            this.set(
              { driver: u.driver },
              u.group.reduce((sum, p) => sum + p.rssBytes, 0),
            );
      },
    );
    counter(
      'driverkit_driver_cpu_seconds_total',
      "User and system CPU time of the driver's process groups, across restarts.",
      ['driver'],
      function () {
        for (const u of usage()) this.inc({ driver: u.driver }, cpu.add(u.driver, u.group));
      },
    );
    gauge(
      'driverkit_replica_up',
      "Whether a service's replica is ready (1) or not (0).",
      ['driver', 'address'],
      function () {
        this.reset();
        for (const s of samples())
          for (const r of s.replicas ?? [])
            this.set({ driver: s.driver, address: r.address }, r.state === 'ready' ? 1 : 0);
      },
    );

    function gauge(name: string, help: string, labelNames: string[], collect: Collect<Gauge>) {
      new Gauge({ name, help, labelNames, registers, collect });
    }
    function counter(name: string, help: string, labelNames: string[], collect: Collect<Counter>) {
      new Counter({ name, help, labelNames, registers, collect });
    }
  }

  /** Where the drivers' state is read at each scrape. */
  watch(samples: () => readonly DriverSample[]): void {
    this.#samples = samples;
  }

  /** Times `prepare` (a build or an install) as `kind`, failures too. */
  async timePrepare<T>(driver: string, kind: PrepareKind, prepare: () => Promise<T>): Promise<T> {
    const end = this.prepareDuration.startTimer({ driver, kind });
    try {
      const out = await prepare();
      end({ outcome: 'ok' });
      return out;
    } catch (err) {
      end({ outcome: 'failed' });
      throw err;
    }
  }
}

/**
 * CPU seconds per driver that only grow: what each process used since last seen is added,
 * so a child that exits or a restart (which /proc forgets) never takes time back, as a
 * Prometheus counter must not.
 */
class CpuTotals {
  readonly #seen = new Map<string, Map<number, number>>();

  /** The seconds `group` used since the last call for `driver`. */
  add(driver: string, group: ReadonlyArray<{ pid: number; cpuSeconds: number }>): number {
    const before = this.#seen.get(driver) ?? new Map<number, number>();
    const now = new Map(group.map((p) => [p.pid, p.cpuSeconds]));
    this.#seen.set(driver, now);
    let added = 0;
    for (const [pid, seconds] of now) added += Math.max(0, seconds - (before.get(pid) ?? 0));
    return added;
  }
}
