import { EventEmitter } from 'node:events';
import type { DriverEntry } from '../config/schema.js';
import { DriverkitError, RpcError } from '../errors.js';
import type { Driver } from '../launch/driver.js';
import type { Logger } from '../launch/logger.js';
import type { DriverExit } from '../launch/options.js';
import type { ReplicaStatus } from '../launch/replicas.js';
import { watchBackend } from './backend-watch.js';
import { InFlight } from './drain.js';
import { startError, whyNotServing } from './not-serving.js';
import { DEFAULT_CALL_TIMEOUT_MS, defaultTimeout, versionedClient } from './versioned-client.js';
import type { Contract } from '../contracts/contract.js';
import { createClient, deadlineStep, type Interceptor, type Invoke } from '../rpc/client.js';
import { Status } from '../status.js';

/**
 * What a supervised driver is doing. `failed`: not serving because its last start failed
 * (retried on the restart backoff, `nextStartAt`) or because it was given up after too many
 * failures in a row; calls fail fast meanwhile, they never start it again.
 */
export type SupervisedState =
  | 'stopped'
  | 'starting'
  | 'ready'
  | 'restarting'
  | 'failed'
  | 'exited'
  | 'closed';

/** A run that lasted this long resets the count of consecutive failures. */
const STABLE_MS = 30_000;

/** A supervised driver's state, its restart count and how its last process ended. */
export interface SupervisorStatus {
  state: SupervisedState;
  restarts: number;
  lastExit?: DriverExit;
  /** A service's replicas: address and state of each. */
  replicas?: ReplicaStatus[];
  /** The current process's pid, while it runs (none for a service). */
  pid?: number;
  /** When the current process became ready (epoch ms), while it is. */
  readySince?: number;
  /** While ready: NOT_SERVING when the driver's own health says its backend is down. */
  backend?: 'NOT_SERVING';
  /** Why it is not serving, while `failed` or `exited`: its last start's error, say. */
  lastError?: string;
  /** While `failed`: when the next start is due (epoch ms); none once given up. */
  nextStartAt?: number;
}

/**
 * One config entry's driver over its lifetime: starts it (with `prepare` for builds and
 * `configure` to run Configure), restarts it by its policy, replaces it on a reload, and
 * hands out a client whose calls survive both: during a restart they wait up to their
 * deadline for the new process; during a replace they go to the old one until the new is ready.
 */
export class Supervisor extends EventEmitter<{ state: [SupervisorStatus] }> {
  #state: SupervisedState = 'stopped';
  #restarts = 0;
  #failures = 0;
  #lastExit?: DriverExit;
  #current?: Driver;
  #ready?: Promise<Driver>;
  #lastError?: unknown;
  #timer?: NodeJS.Timeout;
  #client?: unknown;
  #invoke?: Invoke;
  #cancelRestart?: (err: unknown) => void;
  #readySince?: number;
  /** The driver's own health for "" said NOT_SERVING (its backend is down). */
  #backendDown = false;
  #stopBackendWatch?: () => void;
  /** While `failed` with a retry scheduled: when it is due. */
  #nextStartAt?: number;
  /** The start in progress, if any: a replace waits for it. */
  #launching?: Promise<Driver>;
  /** Counts up at each replace: a restart that began before one does not overwrite its process. */
  #generation = 0;
  /** Resolves calls waiting through a restart that a replace made needless. */
  #resolveRestart?: (driver: Driver) => void;
  /** The replace in progress, cancelled by a newer one. */
  #replacing?: AbortController;
  /** Settles when the last replace has (close() waits for it: its process must not outlive the host). */
  #swapping?: Promise<void>;
  /** Replaced processes still finishing their calls. */
  readonly #retiring = new Set<Driver>();
  readonly #inFlight = new InFlight();

  constructor(
    /** The entry the current process runs; a replace changes it once its new process is ready. */
    public entry: DriverEntry,
    private readonly launch: (entry: DriverEntry, signal?: AbortSignal) => Promise<Driver>,
    private readonly logger: Logger,
    /** Steps around every call, inside the deadline's (metrics, say: they see the fixed deadline). */
    private readonly steps: readonly Interceptor[] = [],
  ) {
    super();
  }

  get status(): SupervisorStatus {
    const replicas = this.#current?.replicas;
    const ready = this.#state === 'ready';
    const pid = ready ? this.#current?.pid : undefined;
    return {
      state: this.#state,
      restarts: this.#restarts,
      lastExit: this.#lastExit,
      ...(replicas ? { replicas } : {}),
      ...(pid ? { pid } : {}),
      ...(ready && this.#readySince ? { readySince: this.#readySince } : {}),
      ...(ready && this.#backendDown ? { backend: 'NOT_SERVING' as const } : {}),
      ...(this.#state === 'failed' || this.#state === 'exited' ? { lastError: this.#why() } : {}),
      ...(this.#state === 'failed' && this.#nextStartAt ? { nextStartAt: this.#nextStartAt } : {}),
    };
  }

  /** The current driver when it is ready, else undefined. */
  get current(): Driver | undefined {
    return this.#state === 'ready' ? this.#current : undefined;
  }

  /**
   * A ready driver: starts it if it never was, waits through a start or a restart (up to
   * `deadline`). A driver that is not serving (`failed`, `exited`) fails at once: only its
   * restart backoff starts it again, never a caller.
   */
  async get(deadline?: number): Promise<Driver> {
    if (this.#state === 'closed') throw this.#error('DRIVER_CLOSED', 'the host is closed');
    if (this.#state === 'failed' || this.#state === 'exited') throw this.#notServing();
    if (this.#state === 'ready' && this.#current) return this.#current;
    if (this.#state === 'stopped') this.#begin('starting');
    if (deadline === undefined) return this.#ready!;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.#ready!,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                this.#error(
                  'DRIVER_NOT_READY',
                  `still ${this.#state} when the call's deadline passed`,
                ),
              ),
            Math.max(0, deadline - Date.now()),
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Sends a call to whichever process is current, starting it if needed and waiting through
   * a restart up to the call's deadline; `call_timeout` is the default deadline.
   */
  get invoke(): Invoke {
    if (this.#invoke) return this.#invoke;
    const steps = [
      deadlineStep((call) => defaultTimeout(this.entry, call.responseStream)),
      ...this.steps,
    ];
    return (this.#invoke = steps.reduceRight<Invoke>(
      (next, step) => step(next),
      async (call) => {
        // A start that failed while the call waited is the driver's problem, not the
        // caller's: its Configure's INVALID_ARGUMENT, say, must not reach the caller as its own.
        let driver = await this.get(call.options.deadline?.getTime()).catch((err: unknown) => {
          throw this.#state === 'failed' ? this.#notServing() : err;
        });
        // Swapped while this call waited its turn: the old process may be closing already.
        if (this.#retiring.has(driver) && this.#current) driver = this.#current;
        return this.#inFlight.run(driver, call);
      },
    ));
  }

  /**
   * A typed client over `invoke` of `contract` (default: the entry's; a host's generated
   * contract gives ts-proto's codecs even for a type the config declared from its proto).
   * Each call speaks the version the current process negotiated, also after a restart; a
   * method that version lacks fails with UNIMPLEMENTED before anything is sent.
   */
  client<T>(contract = this.entry.contract): T {
    if (contract !== this.entry.contract) return versionedClient(this, contract) as T;
    return (this.#client ??= versionedClient(this, contract)) as T;
  }

  /** The client of one version of `contract`, at the version the current process negotiated. */
  clientOf(contract: Contract, version: number): Record<string, unknown> {
    return createClient(contract.versions[version], this.invoke);
  }

  /**
   * How long calls may finish on a replaced process: `drain_timeout`, else as long as a
   * unary call may last (`call_timeout`, else 30 s), so that none is cut short by default.
   */
  #drainMs(): number {
    return this.entry.drainTimeout ?? this.entry.callTimeout ?? DEFAULT_CALL_TIMEOUT_MS;
  }

  /**
   * Starts `entry` (default: the current one, rebuilt if its source changed) beside the
   * running process; once it is ready and configured, new calls go to it, calls in flight
   * finish on the old process, and that one closes when they have ended or after
   * `drain_timeout`. A failed start leaves the old process serving and rejects with why. A
   * newer replace, or `signal`, cancels this one (RELOAD_CANCELLED) while its process is not
   * ready yet: a build in progress stops.
   * A driver never started only takes the new entry, for its first start.
   */
  async replace(entry: DriverEntry = this.entry, signal?: AbortSignal): Promise<void> {
    if (this.#state === 'closed') throw this.#error('DRIVER_CLOSED', 'the host is closed');
    this.#replacing?.abort('a newer reload replaced this one before it was ready');
    const mine = new AbortController();
    this.#replacing = mine;
    const byCaller = () => mine.abort('cancelled by its caller before it was ready');
    signal?.addEventListener('abort', byCaller, { once: true });
    if (signal?.aborted) byCaller();
    try {
      const run = this.#replace(entry, mine.signal);
      this.#swapping = run.catch(() => {});
      await run;
    } finally {
      signal?.removeEventListener('abort', byCaller);
      if (this.#replacing === mine) this.#replacing = undefined;
    }
  }

  async #replace(entry: DriverEntry, signal: AbortSignal): Promise<void> {
    if (this.#state === 'stopped') {
      this.entry = entry;
      return;
    }
    // A start in progress ends first: its process is then the one replaced.
    while (this.#launching) await this.#launching.catch(() => {});
    // Closed meanwhile: DRIVER_CLOSED, not "cancelled" (the compiler cannot see it through the awaits).
    const stopped = () =>
      (this.#state as SupervisedState) === 'closed'
        ? this.#error('DRIVER_CLOSED', 'the host was closed during a reload')
        : new DriverkitError('RELOAD_CANCELLED', String(signal.reason), { driver: entry.name });
    if (signal.aborted) throw stopped();
    const driver = await this.launch(entry, signal).catch((err: unknown) => {
      throw signal.aborted ? stopped() : err;
    });
    if (signal.aborted || (this.#state as SupervisedState) === 'closed') {
      await driver.close();
      throw stopped();
    }
    const old = this.#current;
    this.entry = entry;
    this.#generation++;
    clearTimeout(this.#timer);
    this.#failures = 0;
    this.#install(driver);
    this.#ready = Promise.resolve(driver);
    this.#resolveRestart?.(driver);
    this.#resolveRestart = undefined;
    if (old && old !== driver) void this.#retire(old);
  }

  /** Closes a replaced process once its calls have ended, or when `drain_timeout` is up. */
  async #retire(old: Driver): Promise<void> {
    this.#retiring.add(old);
    await this.#drain(old, 'replaced');
    await old.close();
    this.#retiring.delete(old);
  }

  /**
   * For a driver removed from the config: new calls fail with DRIVER_CLOSED at once, calls
   * in flight finish (up to `drain_timeout`), then the process closes.
   */
  async drainAndClose(): Promise<void> {
    const current = this.#state === 'ready' ? this.#current : undefined;
    this.#replacing?.abort('the driver was removed from the config');
    this.#set('closed');
    if (current) await this.#drain(current, 'removed');
    await this.close();
  }

  /** Waits for the calls on `old` to end; past `drain_timeout` they end as UNAVAILABLE. */
  async #drain(old: Driver, why: 'replaced' | 'removed'): Promise<void> {
    const ms = this.#drainMs();
    const cut = (method: string) => this.#endedByReload(old, why, method);
    if (await this.#inFlight.drained(old, ms, cut)) return;
    this.logger.log('warn', `${why} driver closed with calls still in flight`, {
      driver: this.entry.name,
      drain_timeout_ms: ms,
    });
  }

  /** The status of a call still running on a process that a reload closed: UNAVAILABLE, retry. */
  #endedByReload(old: Driver, why: 'replaced' | 'removed', method: string): RpcError {
    const ms = this.#drainMs();
    const what =
      why === 'replaced'
        ? 'was replaced; call again to reach its new process'
        : 'was removed from the config';
    return new RpcError(
      Status.UNAVAILABLE,
      `ended by a reload: driver "${this.entry.name}" ${what} (its old process, pid ${old.pid}, closed after drain_timeout, ${ms} ms)`,
      { driver: this.entry.name, path: old.path, method },
    );
  }

  async close(): Promise<void> {
    this.#stopBackendWatch?.();
    this.#replacing?.abort('the host was closed');
    clearTimeout(this.#timer);
    this.#cancelRestart?.(this.#error('DRIVER_CLOSED', 'the host was closed during a restart'));
    const starting = this.#ready;
    this.#set('closed');
    await Promise.all([starting?.catch(() => {}), this.#swapping]);
    await Promise.all([this.#current?.close(), ...[...this.#retiring].map((d) => d.close())]);
  }

  /** Makes `driver` the current process: calls go to it, its exit is watched. */
  #install(driver: Driver): void {
    this.#current = driver;
    this.#lastError = undefined;
    this.#nextStartAt = undefined;
    const startedAt = Date.now();
    this.#readySince = startedAt;
    driver.once('exit', (exit) => this.#onExit(driver, exit, Date.now() - startedAt));
    this.#stopBackendWatch?.();
    this.#backendDown = false;
    this.#stopBackendWatch = watchBackend(driver, (up) => {
      if (this.#current !== driver) return;
      this.#backendDown = !up;
      this.emit('state', this.status);
    });
    driver.on('replicas', () => this.#current === driver && this.emit('state', this.status));
    this.#set('ready');
  }

  #begin(state: 'starting' | 'restarting'): void {
    this.#set(state);
    const generation = this.#generation;
    const run = this.launch(this.entry).then(
      (driver) => {
        if (this.#state === 'closed') {
          void driver.close();
          throw this.#error('DRIVER_CLOSED', 'the host was closed while the driver started');
        }
        // A replace finished first: its process serves, this one is not needed.
        if (generation !== this.#generation) {
          void driver.close();
          return this.#current!;
        }
        this.#install(driver);
        return driver;
      },
      (err: unknown) => {
        if (generation !== this.#generation) return this.#current!;
        this.#lastError = err;
        // How a process that died while starting ended, for status and errors.
        if (err instanceof DriverkitError && (err.exitCode != null || err.signal != null))
          this.#lastExit = {
            code: err.exitCode ?? null,
            signal: (err.signal as NodeJS.Signals | null | undefined) ?? null,
          };
        // A failed start, first or later, is a state: retried on the restart backoff
        // whatever the policy (which governs crashes of a running driver). The caller that
        // started it hears why; calls meanwhile fail fast.
        if (this.#state !== 'closed') this.#scheduleRestart('start');
        throw err;
      },
    );
    run.catch(() => {});
    this.#launching = run;
    void run
      .finally(() => {
        if (this.#launching === run) this.#launching = undefined;
      })
      .catch(() => {});
    // Calls waiting through a restart must see the next process, not this failure.
    // (When no restart replaced it, as on close, the failure itself is the answer.)
    if (state === 'restarting') {
      const waiting: Promise<Driver> = run.catch((err) =>
        this.#ready !== waiting ? this.#ready! : Promise.reject(err),
      );
      waiting.catch(() => {});
      this.#ready = waiting;
    } else this.#ready = run;
  }

  #onExit(driver: Driver, exit: DriverExit, uptime: number): void {
    if (this.#current !== driver || this.#state !== 'ready') return;
    this.#stopBackendWatch?.();
    this.#lastExit = exit;
    const failed = exit.code !== 0;
    if (this.entry.restart.policy === 'never' || !failed) {
      this.#set('exited');
      return;
    }
    if (uptime >= STABLE_MS) this.#failures = 0;
    this.#scheduleRestart('crash');
  }

  /**
   * The next start, on the backoff: after a crash calls wait for it (`restarting`), after a
   * failed start they fail fast (`failed`). Given up after `max_restarts` failures in a row,
   * except a service's: a host does not own it, and it may come back whenever.
   */
  #scheduleRestart(after: 'crash' | 'start'): void {
    this.#failures++;
    this.#nextStartAt = undefined;
    if (this.#failures > this.entry.restart.maxRestarts && !this.entry.address) {
      this.logger.log('error', 'driver keeps failing; giving up', {
        driver: this.entry.name,
        restarts: this.#restarts,
        lastExit: this.#lastExit,
      });
      this.#set('failed');
      this.#ready = Promise.reject(this.#notServing());
      this.#ready.catch(() => {});
      return;
    }
    const delay = Math.min(
      this.entry.restart.delay * 2 ** (this.#failures - 1),
      this.entry.restart.maxDelay,
    );
    this.logger.log('warn', 'driver failed; restarting', {
      driver: this.entry.name,
      in_ms: delay,
      attempt: this.#failures,
      lastExit: this.#lastExit,
      ...(after === 'start' ? { error: startError(this.#lastError) } : {}),
    });
    if (after === 'start') {
      this.#nextStartAt = Date.now() + delay;
      this.#set('failed');
      this.#ready = Promise.reject(this.#notServing());
      this.#ready.catch(() => {});
      this.#timer = setTimeout(() => {
        if (this.#state !== 'failed') return;
        this.#nextStartAt = undefined;
        this.#restarts++;
        this.#begin('restarting');
      }, delay);
      return;
    }
    this.#set('restarting');
    let resolveNext!: (d: Driver) => void;
    let rejectNext!: (e: unknown) => void;
    const next = new Promise<Driver>((res, rej) => ((resolveNext = res), (rejectNext = rej)));
    next.catch(() => {});
    this.#ready = next;
    this.#cancelRestart = rejectNext;
    this.#resolveRestart = resolveNext;
    this.#timer = setTimeout(() => {
      if (this.#state === 'closed')
        return rejectNext(this.#error('DRIVER_CLOSED', 'the host is closed'));
      this.#restarts++;
      this.#begin('restarting');
      this.#ready!.then(resolveNext, rejectNext);
    }, delay);
  }

  /** The error of a call to a driver that is not serving: which, its state, why, what to change. */
  #notServing(): DriverkitError {
    return this.#error('DRIVER_FAILED', `not serving (${this.#state}): ${this.#why()}`);
  }

  /** Why the driver is not serving, and what would change it. */
  #why(): string {
    return whyNotServing({
      name: this.entry.name,
      state: this.#state as 'failed' | 'exited',
      restarts: this.#restarts,
      lastError: this.#lastError,
      nextStartAt: this.#nextStartAt,
    });
  }

  #set(state: SupervisedState): void {
    this.#state = state;
    this.emit('state', this.status);
  }

  #error(
    code: 'DRIVER_CLOSED' | 'DRIVER_FAILED' | 'DRIVER_NOT_READY',
    message: string,
  ): DriverkitError {
    const last = this.#lastExit;
    const tail =
      this.#current?.stderrTail ?? (this.#lastError as DriverkitError | undefined)?.stderrTail;
    return new DriverkitError(code, message, {
      driver: this.entry.name,
      path: this.entry.driver,
      exitCode: last?.code,
      signal: last?.signal,
      stderrTail: tail,
      cause: this.#lastError,
    });
  }
}
