// The replicas of a driver run as a service: each one dialed, health-watched, ejected when
// it fails and tried again with backoff; calls balanced over the ready ones and sent again
// where that cannot do a thing twice. Ejection only stops new picks: calls already on a
// replica run to their end, and its connection is replaced only when keepalive finds it
// dead. Health is checked on a connection of its own, so open calls cannot queue a check.
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
  /**
   * Checks unanswered in a row that eject a replica: one late answer on a loaded machine
   * must not. A check answered with a failure (refused, NOT_SERVING) ejects at once. Default 3.
   */
  missesToEject: number;
  /** An ejected replica is tried again after 100 ms, doubling up to this. Default 500 ms. */
  maxBackoffMs: number;
  /** The targets are resolved again this often (DNS). Default 5000 ms. */
  resolveIntervalMs: number;
}

export const DEFAULT_REPLICA_TIMING: ReplicaTiming = {
  healthIntervalMs: 500,
  healthTimeoutMs: 1000,
  missesToEject: 3,
  maxBackoffMs: 500,
  resolveIntervalMs: 5000,
};

interface Replica {
  target: ReplicaTarget;
  /** Where its calls go. */
  connection: Connection;
  /** Where it is checked (health, DriverInfo): never behind its calls. */
  checks: Connection;
  /** Checks unanswered in a row. */
  misses: number;
  /** Ready once, or answered a check with a failure: what start() waits for. */
  settled: boolean;
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

/** A transport error's details without the address it starts with: the replica's label says it. */
function withoutWhere(details: string, target: ReplicaTarget): string {
  const where = `${target.network}:${target.address}: `;
  return details.startsWith(where) ? details.slice(where.length) : details;
}

/** Every replica answered that it cannot serve (`message`: each one and why). */
export class NoReplicaReady extends Error {
  override name = 'NoReplicaReady';
}

export class ReplicaSet {
  readonly #o: ReplicaSetOptions;
  readonly #timing: ReplicaTiming;
  #replicas = new Map<string, Replica>();
  #closed = false;
  #resolveTimer?: NodeJS.Timeout;
  #next = 0;
  #idempotent?: Set<string>;
  /** While start() waits: settled by the first ready replica, a refusal, or every replica down. */
  #starting?: { resolve: () => void; reject: (err: Error) => void };

  constructor(options: ReplicaSetOptions) {
    this.#o = options;
    this.#timing = { ...DEFAULT_REPLICA_TIMING, ...options.timing };
  }

  /**
   * Resolves the targets and waits until one replica is ready. Rejects with NoReplicaReady
   * as soon as every replica has answered that it is not (a refused connect, a TLS error,
   * NOT_SERVING): a service that is down fails its start at once, and its host's restart
   * backoff tries again (a sidecar that starts after its host). A replica that does not
   * answer at all is waited for; the caller bounds the wait. Rejects at once when a replica
   * is another type or version (admit).
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
    if (!r) throw this.#noReplica(tried.size, call.path);
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
      if (!this.#hasCandidate(tried)) {
        // Every replica tried: a peer's answer is the caller's; none reached says why each is out.
        if (e.fromPeer) throw err;
        throw this.#noReplica(tried.size, call.path);
      }
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

  /** UNAVAILABLE, naming every replica and why it is out. */
  #noReplica(tried: number, path: string): CallError {
    const states = [...this.#replicas.values()]
      .map(
        (r) =>
          `${r.target.label} ${r.refusal ? 'refused' : r.status.state}${r.status.reason ? ` (${r.status.reason})` : ''}`,
      )
      .join('; ');
    const details = `no replica of driver "${this.#o.driver}" could take ${path}${tried ? ` (${tried} tried)` : ''}: ${states || 'the address resolved to none'}`;
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
    let late = false;
    try {
      await r.checks.checkHealth(new Date(Date.now() + t.healthTimeoutMs));
      healthy = true;
      r.misses = 0;
    } catch (err) {
      const e = err as CallError & Error;
      // No answer: a hung replica, or a loaded machine. Its check connection (no calls on it)
      // is made anew, since a connect stuck behind a partition would outlast the heal; it is
      // ejected only after several in a row. An answer that it is not serving ejects at once.
      late = e.code === Status.DEADLINE_EXCEEDED;
      if (late) {
        r.misses++;
        const old = r.checks;
        r.checks = new Connection(r.target, this.#o.connection);
        old.close();
      }
      if (!late || r.misses >= t.missesToEject || r.status.state !== 'ready')
        this.#eject(r, withoutWhere(e.details ?? e.message, r.target));
    }
    // Back from ejection it may be another process (a rolling restart): asked again.
    if (healthy)
      try {
        if (r.status.state !== 'ready') await this.#o.admit(r.checks);
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
    if (ok || !late) r.settled = true;
    // Every replica said it cannot serve: the start fails now, not at its timeout.
    if (this.#starting && [...this.#replicas.values()].every((x) => x.settled && !x.refusal))
      if (![...this.#replicas.values()].some((x) => x.status.state === 'ready'))
        this.#starting.reject(new NoReplicaReady(this.reasons()));
    if (!this.#closed && !r.removed) {
      const wait = ok
        ? t.healthIntervalMs
        : late
          ? 0
          : Math.min(100 * 2 ** Math.max(0, r.status.failures - 1), t.maxBackoffMs);
      r.timer = setTimeout(() => void this.#check(r), wait);
      r.timer.unref();
    }
    return ok;
  }

  /** Out of the rotation: no new call goes to it; those on it run to their end. */
  #eject(r: Replica, reason: string): void {
    r.status.failures++;
    r.status.reason = reason;
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
        checks: new Connection(t, this.#o.connection),
        misses: 0,
        settled: false,
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
      r.checks.close();
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
      r.checks.close();
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
