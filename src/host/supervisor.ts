import { EventEmitter } from 'node:events';
import type { RestartPolicy } from '../config/restart.js';
import type { DriverEntry } from '../config/schema.js';
import { DriverkitError, RpcError } from '../errors.js';
import type { Driver } from '../launch/driver.js';
import type { Logger } from '../launch/logger.js';
import type { DriverExit } from '../launch/options.js';
import type { ReplicaStatus } from '../launch/replicas.js';
import type { Contract } from '../contracts/contract.js';
import type { CallOptions } from '../rpc/call.js';
import {
  createClient,
  deadlineStep,
  type Interceptor,
  type Invoke,
  fixDeadline,
  lazyResponses,
} from '../rpc/client.js';
import { Status } from '../status.js';

/** What a supervised driver is doing. `failed`: given up after too many restarts. */
export type SupervisedState =
  | 'stopped'
  | 'starting'
  | 'ready'
  | 'restarting'
  | 'failed'
  | 'exited'
  | 'closed';

/**
 * The deadline of a call that sets none (config `call_timeout`), so that every call ends.
 * Streamed responses have none by default: they may rightly last as long as the driver,
 * and end by cancel, close, the driver's exit or a stalled connection.
 */
export const DEFAULT_CALL_TIMEOUT_MS = 30_000;

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
}

/**
 * One config entry's driver over its lifetime: starts it (with `prepare` for builds and
 * `configure` to run Configure), restarts it by its policy, and hands out a client whose
 * calls survive restarts: during one they wait up to their deadline for the new process.
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

  constructor(
    readonly entry: DriverEntry,
    private readonly launch: () => Promise<Driver>,
    private readonly policy: RestartPolicy,
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
    };
  }

  /** The current driver when it is ready, else undefined. */
  get current(): Driver | undefined {
    return this.#state === 'ready' ? this.#current : undefined;
  }

  /** A ready driver: starts it if needed, waits through a restart (up to `deadline`). */
  async get(deadline?: number): Promise<Driver> {
    if (this.#state === 'closed') throw this.#error('DRIVER_CLOSED', 'the host is closed');
    if (this.#state === 'failed')
      throw this.#error('DRIVER_FAILED', `given up after ${this.#restarts} restarts`);
    if (this.#state === 'exited')
      throw this.#error('DRIVER_FAILED', 'exited on its own and its restart policy is "never"');
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
      deadlineStep((call) => this.#defaultTimeout(call.responseStream)),
      ...this.steps,
    ];
    return (this.#invoke = steps.reduceRight<Invoke>(
      (next, step) => step(next),
      async (call) => {
        const driver = await this.get(call.options.deadline?.getTime());
        return driver.invoke(call);
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
    if (contract !== this.entry.contract) return this.#versionedClient(contract) as T;
    return (this.#client ??= this.#versionedClient(contract)) as T;
  }

  /** The client of one version of `contract`, at the version the current process negotiated. */
  clientOf(contract: Contract, version: number): Record<string, unknown> {
    return createClient(contract.versions[version], this.invoke);
  }

  #versionedClient(contract: Contract): Record<string, unknown> {
    const byVersion = new Map<number, Record<string, unknown>>();
    const forVersion = (v: number) => {
      let c = byVersion.get(v);
      if (!c) byVersion.set(v, (c = this.clientOf(contract, v)));
      return c;
    };
    const out: Record<string, unknown> = {};
    for (const service of Object.values(contract.versions)) {
      for (const [key, method] of Object.entries(service.methods)) {
        if (key in out) continue;
        out[key] = (request: unknown, options: CallOptions = {}) => {
          const pick = async () => {
            // The deadline is fixed once, before the wait for a ready process counts against it.
            const fixed = fixDeadline(options, () => this.#defaultTimeout(method.responseStream));
            const driver = await this.get(fixed.deadline?.getTime());
            const fn = forVersion(driver.version!)[key] as
              | ((r: unknown, o: CallOptions) => unknown)
              | undefined;
            if (!fn) throw this.#unimplemented(contract, key, driver.version!);
            return fn(request, fixed);
          };
          return method.responseStream ? lazyResponses(pick) : pick();
        };
      }
    }
    return out;
  }

  /** `call_timeout`, else 30 s for a call whose responses do not stream. */
  #defaultTimeout(responseStream: boolean): number | undefined {
    return this.entry.callTimeout ?? (responseStream ? undefined : DEFAULT_CALL_TIMEOUT_MS);
  }

  #unimplemented(contract: Contract, method: string, version: number): RpcError {
    return new RpcError(
      Status.UNIMPLEMENTED,
      `${method} is not in version ${version} of "${contract.type}", the version this driver negotiated`,
      { driver: this.entry.name, path: this.entry.driver, method },
    );
  }

  async close(): Promise<void> {
    clearTimeout(this.#timer);
    this.#cancelRestart?.(this.#error('DRIVER_CLOSED', 'the host was closed during a restart'));
    const starting = this.#ready;
    this.#set('closed');
    await starting?.catch(() => {});
    await this.#current?.close();
  }

  #begin(state: 'starting' | 'restarting'): void {
    this.#set(state);
    const run = this.launch().then(
      (driver) => {
        if (this.#state === 'closed') {
          void driver.close();
          throw this.#error('DRIVER_CLOSED', 'the host was closed while the driver started');
        }
        this.#current = driver;
        const startedAt = Date.now();
        this.#readySince = startedAt;
        driver.once('exit', (exit) => this.#onExit(driver, exit, Date.now() - startedAt));
        driver.on('replicas', () => this.#current === driver && this.emit('state', this.status));
        this.#set('ready');
        return driver;
      },
      (err: unknown) => {
        this.#lastError = err;
        // How a process that died while starting ended, for status and errors.
        if (err instanceof DriverkitError && (err.exitCode != null || err.signal != null))
          this.#lastExit = {
            code: err.exitCode ?? null,
            signal: (err.signal as NodeJS.Signals | null | undefined) ?? null,
          };
        // A failed first start is retried by the policy as a crash is: the caller that
        // started it hears why, and later calls wait for the retry.
        if (this.#state !== 'closed' && (state === 'restarting' || this.policy.policy !== 'never'))
          this.#scheduleRestart();
        else if (this.#state !== 'closed') this.#set('stopped');
        throw err;
      },
    );
    run.catch(() => {});
    // Calls waiting through a restart must see the next process, not this failure.
    // (When no restart replaced it, as on close, the failure itself is the answer.)
    if (state === 'restarting') {
      const waiting: Promise<Driver> = run.catch((err) =>
        this.#ready !== waiting ? this.#ready! : Promise.reject(err),
      );
      this.#ready = waiting;
    } else this.#ready = run;
  }

  #onExit(driver: Driver, exit: DriverExit, uptime: number): void {
    if (this.#current !== driver || this.#state !== 'ready') return;
    this.#lastExit = exit;
    const failed = exit.code !== 0;
    if (this.policy.policy === 'never' || !failed) {
      this.#set('exited');
      return;
    }
    if (uptime >= STABLE_MS) this.#failures = 0;
    this.#scheduleRestart();
  }

  #scheduleRestart(): void {
    this.#failures++;
    if (this.#failures > this.policy.maxRestarts) {
      this.logger.log('error', 'driver keeps failing; giving up', {
        driver: this.entry.name,
        restarts: this.#restarts,
        lastExit: this.#lastExit,
      });
      this.#set('failed');
      this.#ready = Promise.reject(
        this.#error('DRIVER_FAILED', `given up after ${this.#restarts} restarts`),
      );
      this.#ready.catch(() => {});
      return;
    }
    const delay = Math.min(this.policy.delay * 2 ** (this.#failures - 1), this.policy.maxDelay);
    this.logger.log('warn', 'driver failed; restarting', {
      driver: this.entry.name,
      in_ms: delay,
      attempt: this.#failures,
      lastExit: this.#lastExit,
    });
    this.#set('restarting');
    let resolveNext!: (d: Driver) => void;
    let rejectNext!: (e: unknown) => void;
    const next = new Promise<Driver>((res, rej) => ((resolveNext = res), (rejectNext = rej)));
    next.catch(() => {});
    this.#ready = next;
    this.#cancelRestart = rejectNext;
    this.#timer = setTimeout(() => {
      if (this.#state === 'closed')
        return rejectNext(this.#error('DRIVER_CLOSED', 'the host is closed'));
      this.#restarts++;
      this.#begin('restarting');
      this.#ready!.then(resolveNext, rejectNext);
    }, delay);
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
