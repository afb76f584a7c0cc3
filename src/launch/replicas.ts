// The replicas of a driver run as a service: each one dialed, health-watched, ejected when
// it fails and tried again with backoff; calls balanced over the ready ones and sent again
// where that cannot do a thing twice.
import { methodPath, type ServiceDef } from '../contracts/contract.js';
import type { CallError } from '../rpc/call.js';
import { type Call, fixDeadline, type Invoke } from '../rpc/client.js';
import { Status, statusName } from '../status.js';
import { Connection, type ConnectionOptions } from './connection.js';
import type { Logger } from './logger.js';

/** One place a replica listens, and how it is shown (`tls://10.0.0.2:7443`). */
export interface ReplicaTarget {
  network: 'unix' | 'tcp';
  address: string;
  label: string;
}

/** What `driverkit ls` and health show of each replica. */
export interface ReplicaStatus {
  address: string;
  state: 'connecting' | 'ready' | 'ejected';
  inflight: number;
  /** Consecutive failed checks (0 while ready). */
  failures: number;
  /** Why it was last ejected. */
  reason?: string;
}

/** How replicas are watched. */
export interface ReplicaTiming {
  /** Health is checked this often on each replica. Default 500 ms. */
  healthIntervalMs: number;
  /** A check unanswered this long fails (a hung replica). Default 1000 ms. */
  healthTimeoutMs: number;
  /** An ejected replica is tried again after 100 ms, doubling up to this. Default 500 ms. */
  maxBackoffMs: number;
  /** The targets are resolved again this often (DNS). Default 5000 ms. */
  resolveIntervalMs: number;
}

export const DEFAULT_REPLICA_TIMING: ReplicaTiming = {
  healthIntervalMs: 500,
  healthTimeoutMs: 1000,
  maxBackoffMs: 500,
  resolveIntervalMs: 5000,
};

interface Replica {
  target: ReplicaTarget;
  connection: Connection;
  status: ReplicaStatus;
  timer?: NodeJS.Timeout;
  /** Gone from the resolved targets: closed once its calls are done. */
  removed: boolean;
  /** Why admit refused it (another type, another version). */
  refusal?: Error;
}

/** Options of a ReplicaSet. */
export interface ReplicaSetOptions {
  driver: string;
  /** The targets now: a fixed list, or a DNS lookup run again every resolveIntervalMs. */
  resolve: () => Promise<ReplicaTarget[]>;
  connection: ConnectionOptions;
  /** Checks a replica newly found (its type and version, by DriverInfo); throws to refuse it. */
  admit: (connection: Connection) => Promise<void>;
  /** The service of the version in use: which of its methods may be sent twice. */
  service: () => ServiceDef | undefined;
  log: Logger;
  timing?: Partial<ReplicaTiming>;
  onChange?: () => void;
}

/** Methods whose proto says they can be sent again: `idempotency_level` IDEMPOTENT or NO_SIDE_EFFECTS. */
function idempotentPaths(service: ServiceDef | undefined): Set<string> {
  const out = new Set<string>();
  for (const m of Object.values(service?.methods ?? {})) {
    const level = m.options?.idempotencyLevel;
    if (level === 'IDEMPOTENT' || level === 'NO_SIDE_EFFECTS') out.add(methodPath(service!, m));
  }
  return out;
}

export class ReplicaSet {
  readonly #o: ReplicaSetOptions;
  readonly #timing: ReplicaTiming;
  #replicas = new Map<string, Replica>();
  #closed = false;
  #resolveTimer?: NodeJS.Timeout;
  #next = 0;
  #idempotent?: Set<string>;
  /** While start() waits: settled by the first ready replica, or a refusal. */
  #starting?: { resolve: () => void; reject: (err: Error) => void };

  constructor(options: ReplicaSetOptions) {
    this.#o = options;
    this.#timing = { ...DEFAULT_REPLICA_TIMING, ...options.timing };
  }

  /**
   * Resolves the targets and waits until one replica is ready: a replica not up yet (a
   * sidecar that starts after its host) is tried again with backoff meanwhile; the caller
   * bounds the wait. Rejects at once when a replica is another type or version (admit).
   */
  async start(): Promise<void> {
    const started = new Promise<void>((resolve, reject) => {
      this.#starting = { resolve, reject };
    });
    await this.#resolve();
    this.#scheduleResolve();
    for (const r of this.#replicas.values()) void this.#check(r, true);
    await started;
    this.#starting = undefined;
  }

  /** Why no replica is ready: each one's address and last failure. */
  reasons(): string {
    const why = [...this.#replicas.values()].map(
      (r) => `${r.target.label}: ${r.status.reason ?? r.status.state}`,
    );
    return why.length ? why.join('; ') : 'the address resolved to no replica';
  }

  status(): ReplicaStatus[] {
    return [...this.#replicas.values()].map((r) => ({ ...r.status }));
  }

  /**
   * Sends a call to the ready replica with the fewest calls open (round robin among equals).
   * A unary call the replica never saw goes to another; one it may have seen, only when its
   * method is idempotent. With no replica ready, each ejected one is tried in turn; with none
   * at all, UNAVAILABLE at once.
   */
  readonly invoke: Invoke = (call) =>
    // A relative timeout is fixed once: a retry does not get a fresh one.
    this.#attempt({ ...call, options: fixDeadline(call.options, () => undefined) }, new Set());

  async #attempt(call: Call, tried: Set<Replica>): Promise<unknown> {
    const r = this.#pick(tried);
    if (!r) throw this.#noReplica(tried.size);
    r.status.inflight++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      r.status.inflight--;
      if (r.removed && r.status.inflight === 0) r.connection.close();
    };
    let streaming = false;
    try {
      const result = await r.connection.invoke(call);
      // A response stream is open until its responses end: counted (and its replica kept) till then.
      if (call.responseStream) {
        streaming = true;
        return untilDone(result as AsyncIterable<unknown>, release);
      }
      return result;
    } catch (err) {
      const e = err as CallError;
      const unary = !call.requestStream && !call.responseStream;
      const broken = e.code === Status.UNAVAILABLE && !e.fromPeer;
      if (broken) this.#eject(r, e.details);
      this.#idempotent ??= idempotentPaths(this.#o.service());
      const again =
        unary &&
        !call.options.signal?.aborted &&
        (e.unprocessed || (e.code === Status.UNAVAILABLE && this.#idempotent.has(call.path)));
      if (!again) throw err;
      tried.add(r);
      // Every replica tried: the last one's answer is the caller's, not "none ready".
      if (!this.#hasCandidate(tried)) throw err;
      return this.#attempt(call, tried);
    } finally {
      if (!streaming) release();
    }
  }

  #hasCandidate(tried: Set<Replica>): boolean {
    const next = this.#next;
    const found = this.#pick(tried) !== undefined;
    this.#next = next;
    return found;
  }

  #pick(tried: Set<Replica>): Replica | undefined {
    // A replica refused by admit (another type or version) is never sent a call.
    const open = [...this.#replicas.values()].filter(
      (r) => !r.removed && !r.refusal && !tried.has(r),
    );
    let ready = open.filter((r) => r.status.state === 'ready');
    // None ready: try the others rather than fail outright (Envoy's panic threshold). A
    // health check that was only slow on a loaded machine must not take the last one out;
    // a replica that is really gone refuses at once, and the call goes on to the next.
    if (ready.length === 0 && ![...this.#replicas.values()].some((r) => r.status.state === 'ready'))
      ready = open.filter((r) => r.status.state === 'ejected');
    if (ready.length === 0) return undefined;
    const least = Math.min(...ready.map((r) => r.status.inflight));
    const candidates = ready.filter((r) => r.status.inflight === least);
    return candidates[this.#next++ % candidates.length];
  }

  #noReplica(tried: number): CallError {
    const states = [...this.#replicas.values()]
      .map(
        (r) =>
          `${r.target.label} ${r.status.state}${r.status.reason ? ` (${r.status.reason})` : ''}`,
      )
      .join(', ');
    const details = `no ready replica of driver "${this.#o.driver}"${tried ? ` after ${tried} tried` : ''}: ${states || 'none found'}`;
    return Object.assign(
      new Error(`${Status.UNAVAILABLE} ${statusName(Status.UNAVAILABLE)}: ${details}`),
      {
        code: Status.UNAVAILABLE,
        details,
        fromPeer: false,
      },
    );
  }

  /** Health once: ready on SERVING, ejected otherwise; the next check is scheduled. */
  async #check(r: Replica, first = false): Promise<boolean> {
    if (this.#closed || r.removed) return false;
    const t = this.#timing;
    let ok = false;
    let healthy = false;
    try {
      await r.connection.checkHealth(new Date(Date.now() + t.healthTimeoutMs));
      healthy = true;
    } catch (err) {
      const e = err as CallError & Error;
      // Only a check that got no answer means a hung connection, to be replaced; a refused
      // connect is retried by the channel itself, and NOT_SERVING (draining) still carries
      // the calls in flight, which must finish.
      this.#eject(r, e.details ?? e.message, e.code === Status.DEADLINE_EXCEEDED);
    }
    // Back from ejection it may be another process (a rolling restart): asked again.
    if (healthy)
      try {
        if (r.status.state !== 'ready') await this.#o.admit(r.connection);
        ok = true;
        r.refusal = undefined;
      } catch (err) {
        // Another type or version is a refusal (final, and it fails a start); anything else
        // (DriverInfo unanswered as the replica restarts) is a failed check, tried again.
        const code = (err as { code?: string }).code;
        if (code === 'DRIVER_INCOMPATIBLE' || code === 'VERSION_MISMATCH') {
          r.refusal = err as Error;
          this.#starting?.reject(err as Error);
        }
        this.#eject(r, (err as Error).message);
      }
    if (ok && r.status.state !== 'ready') {
      if (!first)
        this.#o.log.log('info', 'replica ready', {
          driver: this.#o.driver,
          address: r.target.label,
        });
      r.status.state = 'ready';
      r.status.failures = 0;
      r.status.reason = undefined;
      this.#o.onChange?.();
      this.#starting?.resolve();
    }
    if (!this.#closed && !r.removed) {
      const wait = ok
        ? t.healthIntervalMs
        : Math.min(100 * 2 ** Math.max(0, r.status.failures - 1), t.maxBackoffMs);
      r.timer = setTimeout(() => void this.#check(r), wait);
      r.timer.unref();
    }
    return ok;
  }

  /**
   * Out of the rotation. With `replace`, its connection is made anew for the next check: a
   * hung one may never answer (its calls then fail, and idempotent ones go elsewhere), and a
   * connect stuck behind a partition would outlast the heal.
   */
  #eject(r: Replica, reason: string, replace = false): void {
    r.status.failures++;
    r.status.reason = reason;
    if (replace) {
      const old = r.connection;
      r.connection = new Connection(r.target, this.#o.connection);
      old.close();
    }
    if (r.status.state === 'ejected') return;
    const was = r.status.state;
    r.status.state = 'ejected';
    if (was === 'ready')
      this.#o.log.log('warn', 'replica ejected', {
        driver: this.#o.driver,
        address: r.target.label,
        reason,
      });
    this.#o.onChange?.();
  }

  async #resolve(): Promise<void> {
    let targets: ReplicaTarget[];
    try {
      targets = await this.#o.resolve();
    } catch (err) {
      // A lookup that fails keeps the replicas known: DNS down is not every replica down.
      this.#o.log.log('warn', 'cannot resolve replicas', {
        driver: this.#o.driver,
        error: String(err),
      });
      if (this.#replicas.size === 0) throw err;
      return;
    }
    const seen = new Set(targets.map((t) => t.label));
    for (const t of targets) {
      if (this.#replicas.has(t.label)) continue;
      const r: Replica = {
        target: t,
        connection: new Connection(t, this.#o.connection),
        status: { address: t.label, state: 'connecting', inflight: 0, failures: 0 },
        removed: false,
      };
      this.#replicas.set(t.label, r);
      if (this.#resolveTimer) void this.#check(r);
    }
    for (const [label, r] of this.#replicas) {
      if (seen.has(label)) continue;
      r.removed = true;
      clearTimeout(r.timer);
      this.#replicas.delete(label);
      if (r.status.inflight === 0) r.connection.close();
      this.#o.log.log('info', 'replica removed', { driver: this.#o.driver, address: label });
    }
    this.#o.onChange?.();
  }

  #scheduleResolve(): void {
    if (this.#closed) return;
    this.#resolveTimer = setTimeout(async () => {
      await this.#resolve();
      this.#scheduleResolve();
    }, this.#timing.resolveIntervalMs);
    this.#resolveTimer.unref();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#resolveTimer);
    for (const r of this.#replicas.values()) {
      clearTimeout(r.timer);
      r.connection.close();
    }
  }
}

/** The responses of `it`, calling `done` once when they end, fail or are left early. */
function untilDone(it: AsyncIterable<unknown>, done: () => void): AsyncIterable<unknown> {
  return {
    [Symbol.asyncIterator]() {
      const inner = it[Symbol.asyncIterator]();
      return {
        next: async () => {
          try {
            const r = await inner.next();
            if (r.done) done();
            return r;
          } catch (err) {
            done();
            throw err;
          }
        },
        return: async (value?: unknown) => {
          done();
          return inner.return ? inner.return(value) : { done: true, value };
        },
      };
    },
  };
}
