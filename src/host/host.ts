import { stat } from 'node:fs/promises';
import type { BuildResult } from '../build/build.js';
import { configFromObject, loadConfig } from '../config/load.js';
import type { Config, DriverEntry } from '../config/schema.js';
import type { Contract, ServiceDef } from '../contracts/contract.js';
import type { Call } from '../rpc/client.js';
import type { CallOptions } from '../rpc/call.js';
import { DriverkitError } from '../errors.js';
import { MAX_TIMER_MS } from '../protocol/grpc-wire.js';
import { Driver } from '../launch/driver.js';
import { driverOptions } from './driver-options.js';
import { consoleLogger, type Logger } from '../launch/logger.js';
import type { LatestClient, Versioned } from '../launch/options.js';
import type { ReloadReport } from './reload.js';
import { SocketDiscovery } from './socket-discovery.js';
import { Supervisor, type SupervisorStatus } from './supervisor.js';
import type { DriverSample, HostMetrics, PrepareKind } from '../metrics/host-metrics.js';

/** go-plugin's start timeout, which a driver's Configure also gets when its entry sets no call_timeout. */
const DEFAULT_START_TIMEOUT_MS = 60_000;

/** How to open a host. */
export interface HostOptions {
  /** A config file path (default `driverkit.toml`), or a config object. */
  config?: string | Record<string, unknown>;
  /** Driver types from the host's code (`driverkit gen` contract modules) that the config may name. Default: none. */
  contracts?: readonly Contract[];
  /** For a config object: the folder its relative paths are relative to. Default: the working directory. */
  dir?: string;
  /** Receives every driver's log lines. Default: `consoleLogger()`. */
  logger?: Logger;
  /** Called before a source driver is really (not from cache) built. */
  onBuild?: (entry: DriverEntry) => void;
  /** Called whenever a driver's state changes (starting, ready, restarting, failed, …). */
  onState?: (name: string, status: SupervisorStatus) => void;
  /**
   * Measures every call, driver process, build and install (`new HostMetrics()` from
   * `driverkit/metrics`; its `registry` is what to serve on `/metrics`). Default: none.
   */
  metrics?: HostMetrics;
}

/**
 * The drivers a config names, started lazily: the first `driver(name)` or `client(name)`
 * builds (if from source), starts and configures that driver; `startAll()` does all of
 * them now. Drivers are restarted by their `restart` policy. `close()` stops every driver.
 */
export class DriverHost {
  readonly config: Config;
  readonly #logger: Logger;
  readonly #options: Pick<HostOptions, 'onBuild' | 'onState' | 'metrics'>;
  readonly #supervisors = new Map<string, Supervisor>();
  #closed = false;
  /** Fired by close(): installs and clones in progress stop. */
  readonly #closing = new AbortController();
  /** Drivers started but not yet configured: close() must not wait out their Configure. */
  readonly #launching = new Set<Driver>();
  /** Drivers found in `socket_dir`. */
  readonly #sockets: SocketDiscovery;
  readonly #onInstances = new Set<() => void>();
  #reloading: Promise<unknown> = Promise.resolve();
  /** Supervisors removed from the config, still draining: close() stops them too. */
  readonly #stopping = new Set<Supervisor>();

  constructor(
    config: Config,
    options: Pick<HostOptions, 'logger' | 'onBuild' | 'onState' | 'metrics'> = {},
  ) {
    this.config = config;
    this.#logger = options.logger ?? consoleLogger();
    this.#options = options;
    this.#sockets = new SocketDiscovery({
      config,
      logger: this.#logger,
      closed: () => this.#closed,
      remove: (name) => this.#remove(name, false),
      changed: () => {
        for (const fn of this.#onInstances) fn();
      },
    });
    options.metrics?.watch(() => this.#samples());
  }

  /** The metrics given to the host, if any: the gateway counts its rejections there. */
  get metrics(): HostMetrics | undefined {
    return this.#options.metrics;
  }

  /** What the metrics read of each driver when scraped. */
  #samples(): DriverSample[] {
    return Object.entries(this.status()).map(([driver, s]) => ({
      driver,
      type: this.entry(driver).type,
      state: s.state,
      pid: s.pid,
      restarts: s.restarts,
      lastExit: s.lastExit,
      replicas: s.replicas,
    }));
  }

  /** The config entry of an instance; UNKNOWN_DRIVER names the known ones. */
  entry(name: string): DriverEntry {
    const entry = this.config.drivers.find((d) => d.name === name);
    if (!entry) {
      throw new DriverkitError(
        'UNKNOWN_DRIVER',
        `no driver named ${JSON.stringify(name)} in ${this.config.file} (known: ${this.config.drivers.map((d) => d.name).join(', ')})`,
      );
    }
    return entry;
  }

  /**
   * The executable of an entry: a package installed on first use (and the sha256 its lock
   * pins), a source folder built if needed, or a binary as it is.
   */
  async #prepare(
    entry: DriverEntry,
    signal?: AbortSignal,
  ): Promise<{ path: string; sha256?: string; build?: BuildResult }> {
    if (this.config.mode === 'production') {
      // Nothing is built or downloaded at run time (serve checks every entry before it starts).
      const { productionRefusal } = await import('./production.js');
      const why = await productionRefusal(entry, this.config);
      if (why) throw new DriverkitError('CONFIG_INVALID', why, { driver: entry.name });
    }
    if (entry.package) {
      // Install, lock and signature errors name the package; a user also needs the instance.
      // A first-use install counts against the start: close() or start_timeout ends it.
      // Packages and builds load when a config needs them: a host of binaries never does.
      const { installedPackage } = await import('./package-entry.js');
      const ms = entry.startTimeout ?? DEFAULT_START_TIMEOUT_MS;
      const late = new AbortController();
      // Past what a timer holds, no limit (a timer would fire at once).
      const timer =
        ms <= MAX_TIMER_MS
          ? setTimeout(
              () => late.abort(new Error(`start_timeout (${ms} ms) passed during its install`)),
              ms,
            ).unref()
          : undefined;
      const signal = AbortSignal.any([this.#closing.signal, late.signal]);
      return this.#timed(entry, 'install', () => installedPackage(entry, this.config, signal))
        .finally(() => clearTimeout(timer))
        .catch((err: unknown) => {
          if (!(err instanceof DriverkitError) || err.driver !== undefined) throw err;
          throw new DriverkitError(
            err.code,
            `package ${entry.package!.name}: ${err.shortMessage}`,
            {
              driver: entry.name,
              cause: err,
            },
          );
        });
    }
    if (!(await stat(entry.driver)).isDirectory()) return { path: entry.driver };
    const { buildDriver } = await import('../build/build.js');
    const build = await this.#timed(entry, 'build', () =>
      buildDriver({
        folder: entry.driver,
        type: entry.type,
        binDir: this.config.binDir,
        driver: entry.name,
        onBuild: () => this.#options.onBuild?.(entry),
        signal: signal ? AbortSignal.any([this.#closing.signal, signal]) : this.#closing.signal,
      }),
    );
    return { path: build.binary, build };
  }

  /** Runs a build or install, timed in the metrics when there are some. */
  #timed<T>(entry: DriverEntry, kind: PrepareKind, prepare: () => Promise<T>): Promise<T> {
    const metrics = this.#options.metrics;
    return metrics ? metrics.timePrepare(entry.name, kind, prepare) : prepare();
  }

  /** Every instance with the services of every version of its type (for a gateway). */
  instances(): Array<{
    name: string;
    services: ServiceDef[];
    required: boolean;
    type: string;
    versions: number[];
  }> {
    return this.config.drivers.map((d) => ({
      name: d.name,
      services: Object.values(d.contract.versions),
      required: d.required === true,
      type: d.contract.type,
      versions: Object.keys(d.contract.versions).map(Number),
    }));
  }

  /** The app protocol version an instance's driver negotiated, while it runs. */
  versionOf(name: string): number | undefined {
    return this.#supervisors.get(name)?.current?.version;
  }

  /** Sends one call to an instance through its supervisor: started on first use, through restarts, with `call_timeout`. */
  invoke(name: string, call: Call): Promise<unknown> {
    if (this.#closed)
      return Promise.reject(
        new DriverkitError('DRIVER_CLOSED', 'the host is closed', { driver: name }),
      );
    return this.#supervisor(name).invoke(call);
  }

  /**
   * Whether an instance is ready for calls now: its process (a service: a replica) and, by
   * its own health, its backend.
   */
  isReady(name: string): boolean {
    const status = this.#supervisors.get(name)?.status;
    if (status?.state !== 'ready' || status.backend === 'NOT_SERVING') return false;
    return !status.replicas || status.replicas.some((r) => r.state === 'ready');
  }

  /** The supervisor of an instance: its state, its current process, a client that survives restarts. */
  #supervisor(name: string): Supervisor {
    let s = this.#supervisors.get(name);
    if (!s) {
      const entry = this.entry(name);
      const metrics = this.#options.metrics;
      s = new Supervisor(
        entry,
        (e, signal) => this.#launch(e, signal),
        this.#logger,
        metrics ? [metrics.step(name)] : [],
      );
      s.on('state', (status) => this.#options.onState?.(name, status));
      this.#supervisors.set(name, s);
    }
    return s;
  }

  /** The running driver of an instance, started (and configured) on first use. */
  driver(name: string): Promise<Driver> {
    if (this.#closed)
      return Promise.reject(
        new DriverkitError('DRIVER_CLOSED', 'the host is closed', { driver: name }),
      );
    try {
      return this.#supervisor(name).get();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * The typed client of an instance, checking that it is of the contract's type. Its calls
   * go to the current process: across a restart they wait (up to their deadline) for the next.
   */
  async client<C extends Contract>(name: string, contract: C): Promise<LatestClient<C>> {
    const entry = this.entry(name);
    if (entry.type !== contract.type) {
      throw new DriverkitError(
        'INVALID_OPTIONS',
        `is a "${entry.type}" driver, not "${contract.type}"`,
        { driver: name },
      );
    }
    await this.driver(name);
    return this.#supervisor(name).client<LatestClient<C>>(contract);
  }

  /**
   * The client of the version the instance negotiated, tagged with it (see Versioned): narrow
   * on `version` for the methods only that version has. Its calls wait through a restart
   * as `client`'s do; a restart that negotiates another version makes them UNIMPLEMENTED.
   */
  async versioned<C extends Contract>(name: string, contract: C): Promise<Versioned<C>> {
    await this.client(name, contract);
    const driver = await this.driver(name);
    const version = driver.version!;
    return {
      version,
      client: this.#supervisor(name).clientOf(contract, version),
    } as Versioned<C>;
  }

  /**
   * Replaces an instance's process: builds its source again if it changed, starts the new
   * process beside the old, and once it is ready and configured sends new calls to it while
   * calls in flight finish on the old one (up to `drain_timeout`). A failed build or start
   * rejects and leaves the old process serving. A newer replace of the same instance, or
   * `signal`, cancels this one (RELOAD_CANCELLED) while its process is not ready yet. Calls
   * through `client()`, `versioned()` and `invoke()` are drained; calls made on the Driver
   * that `driver()` returned are not counted, and may be cut when that process closes.
   */
  replace(name: string, signal?: AbortSignal): Promise<void> {
    if (this.#closed)
      return Promise.reject(
        new DriverkitError('DRIVER_CLOSED', 'the host is closed', { driver: name }),
      );
    return this.#supervisor(name).replace(this.entry(name), signal);
  }

  /**
   * Takes a new config (one reload at a time): drivers added start, removed ones stop after
   * their calls in flight end, changed ones are replaced as by `replace()`, and unchanged ones
   * are not touched. A changed driver that fails to start keeps its old process and entry (and
   * is in `failed`). Settings a running host cannot change are listed in `needsRestart`, and
   * keep their old values; the gateway's own settings are the gateway's to apply.
   */
  reload(next: Config): Promise<ReloadReport> {
    const run = this.#reloading.then(() => this.#reload(next));
    this.#reloading = run.catch(() => {});
    return run;
  }

  async #reload(next: Config): Promise<ReloadReport> {
    if (this.#closed) throw new DriverkitError('DRIVER_CLOSED', 'the host is closed');
    if (next.mode === 'production' || this.config.mode === 'production') {
      // Nothing is built or downloaded at run time, after a reload too.
      const { checkProduction } = await import('./production.js');
      await checkProduction({ ...next, mode: 'production' });
    }
    // A configured driver wins over one found in socket_dir under the same name.
    for (const d of next.drivers)
      if (this.#sockets.found.has(d.name)) await this.#remove(d.name, false);
    const { applyReload } = await import('./reload-apply.js');
    return applyReload(next, {
      config: this.config,
      found: this.#sockets.found,
      logger: this.#logger,
      remove: (name) => void this.#remove(name, true),
      replace: (entry) => this.#supervisor(entry.name).replace(entry),
      start: (name) => this.driver(name),
      routesChanged: () => {
        for (const fn of this.#onInstances) fn();
      },
    });
  }

  /**
   * Forgets an instance: its entry, its supervisor and (once it has stopped) its metrics.
   * `drain`: calls in flight finish first (a reload); else it closes at once (its socket is gone).
   */
  async #remove(name: string, drain: boolean): Promise<void> {
    this.#sockets.found.delete(name);
    const i = this.config.drivers.findIndex((d) => d.name === name);
    if (i >= 0) this.config.drivers.splice(i, 1);
    const supervisor = this.#supervisors.get(name);
    this.#supervisors.delete(name);
    if (!supervisor) return;
    this.#stopping.add(supervisor);
    await (drain ? supervisor.drainAndClose() : supervisor.close());
    this.#stopping.delete(supervisor);
    // A driver of that name added again meanwhile keeps its metrics.
    if (!this.config.drivers.some((d) => d.name === name)) this.#options.metrics?.forget(name);
  }

  /** Starts every driver now (eagerly); rejects with the first failure, leaving the others running. */
  async startAll(): Promise<Driver[]> {
    return Promise.all(this.config.drivers.map((d) => this.driver(d.name)));
  }

  /** Every instance's state, by name. */
  status(): Record<string, SupervisorStatus> {
    return Object.fromEntries(
      this.config.drivers.map((d) => [
        d.name,
        this.#supervisors.get(d.name)?.status ?? { state: 'stopped', restarts: 0 },
      ]),
    );
  }

  /** Calls `fn` whenever drivers are found in or gone from `socket_dir`; returns how to stop. */
  onInstances(fn: () => void): () => void {
    this.#onInstances.add(fn);
    return () => this.#onInstances.delete(fn);
  }

  /**
   * Looks in `socket_dir` now: each `NAME.sock` not yet known becomes driver NAME, of the
   * type its DriverInfo names; a driver whose socket is gone is closed and forgotten. A
   * configured driver of the same name wins; a socket that names no known type is skipped,
   * with a warning. Runs one at a time.
   */
  discover(): Promise<void> {
    return this.#sockets.discover();
  }

  /** Watches `socket_dir` for sockets added and removed (discover() on each change). */
  watchSockets(): void {
    if (!this.#closed) this.#sockets.watch();
  }

  /** Stops every driver this host started. Idempotent. */
  async close(): Promise<void> {
    this.#sockets.close();
    this.#closed = true;
    this.#closing.abort(new Error('the host is closing'));
    // A start in progress (a Configure that hangs, say) is cut short, so close() takes the
    // shutdown grace and kill time at most, not the start timeout.
    await Promise.all([...this.#launching].map((d) => d.close()));
    await Promise.all([...this.#supervisors.values(), ...this.#stopping].map((s) => s.close()));
  }

  async #launch(entry: DriverEntry, signal?: AbortSignal): Promise<Driver> {
    // A reattached driver or a service runs already: nothing to build.
    const address = entry.address;
    const { path, sha256 } = address
      ? { path: [address].flat().join(', '), sha256: undefined }
      : entry.reattach
        ? { path: entry.driver, sha256: undefined }
        : await this.#prepare(entry, signal);
    // A build cannot always stop midway: what it made is not started for a closed host or a
    // cancelled reload.
    if (this.#closed)
      throw new DriverkitError('DRIVER_CLOSED', 'the host is closed', { driver: entry.name });
    signal?.throwIfAborted();
    const driver = new Driver(
      driverOptions(entry, this.config, { path, sha256, logger: this.#logger }),
    );
    this.#launching.add(driver);
    const started = performance.now();
    try {
      await driver.ready;
      // A service is configured by its deployment, and refuses a host's Configure.
      const configure = address ? undefined : (driver.client as Record<string, unknown>).configure;
      // A driver whose Configure never answers must not hang the host: it gets call_timeout, else the start timeout.
      const timeout = entry.callTimeout ?? entry.startTimeout ?? DEFAULT_START_TIMEOUT_MS;
      if (typeof configure === 'function')
        await (configure as (req: unknown, o: CallOptions) => Promise<unknown>)(
          { config: entry.config },
          { timeout },
        );
      this.#options.metrics?.startDuration.observe(
        { driver: entry.name },
        (performance.now() - started) / 1000,
      );
    } catch (err) {
      await driver.close();
      throw err;
    } finally {
      this.#launching.delete(driver);
    }
    return driver;
  }
}

/** Loads a config (file or object) and returns a host for its drivers; nothing starts yet. */
export async function openHost(options: HostOptions = {}): Promise<DriverHost> {
  const config =
    typeof options.config === 'object'
      ? await configFromObject(options.config, options.dir, options.contracts)
      : await loadConfig(options.config, options.contracts);
  return new DriverHost(config, options);
}
