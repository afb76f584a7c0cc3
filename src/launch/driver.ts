import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { type Contract, contractVersions } from '../contracts/contract.js';
import { DriverkitError, type ErrorCode, type RpcError } from '../errors.js';
import { type Handshake, HANDSHAKE_SHAPE } from '../protocol/handshake.js';
import { parseLogLine } from '../protocol/hclog.js';
import { parseReattach, type ReattachInfo } from '../protocol/reattach.js';
import { ENV, HOST_SECRET_HEADER } from '../protocol/env.js';
import type { TlsIdentity } from '../protocol/mtls.js';
import { certBase64ToPem } from '../protocol/tls-pem.js';
import type { Broker, BrokerTls } from '../rpc/broker.js';
import type { CallError } from '../rpc/call.js';
import { createClient, errorStep, type Invoke, type Call } from '../rpc/client.js';
import { traceStep } from '../rpc/trace.js';
import { Status } from '../status.js';
import { Connection } from './connection.js';
import { backendServing } from './connect.js';
import { checkHandshake, remoteRefusal } from './handshake-check.js';
import { clientTls } from './client-tls.js';
import { checkInfo } from './driver-info.js';
import {
  DEFAULT_REPLICA_TIMING,
  NoReplicaReady,
  ReplicaSet,
  type ReplicaStatus,
} from './replicas.js';
import { type ServiceTargets, serviceTargets } from './service-targets.js';
import { readHandshakeLine } from './handshake-reader.js';
import { consoleLogger } from './logger.js';
import type { DriverExit, DriverOptions, LatestClient, Versioned } from './options.js';
import { validateOptions } from './options.js';
import { DriverProcess } from './process.js';
import { callFailure } from './rpc-error.js';
import { listenedByGroup, listenedByProcess } from './listener-owner.js';
import { notMadeBy, removeSocket } from './socket-file.js';
import { pinSocket, socketInode, unpin } from './socket-pin.js';
import { checkExecutable } from './spawn.js';

type State = 'starting' | 'ready' | 'closing' | 'closed' | 'exited';

/** How long a reattached driver has to answer health once its connection ended. */
const ATTACHED_CHECK_MS = 5_000;

/**
 * One driver: its process (spawned, or reattached) and the gRPC connection to it. Create
 * it with `launchDriver` or `startDriver`; `close()` always leaves no process and no
 * socket behind. Emits `exit` with `{ code, signal }` when the process ends, as `exited`
 * resolves.
 */
export class Driver<C extends Contract = Contract> extends EventEmitter<{
  exit: [DriverExit];
  /** A service's replica changed state (see `replicas`). */
  replicas: [];
}> {
  readonly name: string;
  readonly path: string;
  readonly contract: C;
  /** Settles when the driver is ready for calls; rejects with a DriverkitError if it cannot start. */
  readonly ready: Promise<void>;
  /** Settles when the driver process has exited, for any reason. */
  readonly exited: Promise<DriverExit>;
  /** The app protocol version negotiated in the handshake. */
  version?: number;
  /** The handshake, once read. */
  handshake?: Handshake;

  #state: State = 'starting';
  #options: ReturnType<typeof validateOptions<C>>;
  #log;
  #process?: DriverProcess;
  #connection?: Connection;
  #client?: LatestClient<C>;
  #invoke?: Invoke;
  #resolveExit!: (e: DriverExit) => void;
  #abortStart = new AbortController();
  #closing?: Promise<void>;
  #tls?: TlsIdentity;
  /** Tells the driver which connections are its host's (see ENV.hostSecret). */
  readonly #hostSecret = randomBytes(16).toString('hex');
  /** When the process was spawned: a socket made before it is not this driver's. */
  #spawnedAt = 0;
  /** The driver's own socket, once the handshake named one it made. */
  #socket?: string;
  /** The host's own link of the driver's socket, which is what is dialed (see socket-pin.ts). */
  #pinned?: string;
  /** A reattached driver answered as the one named: killOnClose may stop its pid. */
  #attached = false;
  /** A service's replicas (an `address` driver). */
  #replicas?: ReplicaSet;

  constructor(options: DriverOptions<C>) {
    super();
    this.#options = validateOptions(options);
    this.name = options.name;
    this.path = options.path;
    this.contract = options.contract;
    this.#log = options.logger ?? consoleLogger();
    this.exited = new Promise((resolve) => (this.#resolveExit = resolve));
    this.ready = this.#start();
    // A caller that only ever awaits close() must not see an unhandled rejection.
    this.ready.catch(() => {});
  }

  /** The typed client for the negotiated version. Throws DRIVER_NOT_READY before `ready`. */
  get client(): LatestClient<C> {
    if (!this.#client || this.#state !== 'ready') throw this.#notReady('no calls possible');
    return this.#client;
  }

  /** The process id, once spawned (or as given for a reattached driver). */
  get pid(): number | undefined {
    return this.#process?.pid;
  }

  /** starting, ready, closing, closed, or exited (on its own). */
  get state(): State {
    return this.#state;
  }

  /**
   * Sends one call as given: path, codecs and options. Typed clients are built on it; a
   * relay passes identity codecs to forward encoded messages. Errors are RpcErrors, as
   * from the typed client.
   */
  invoke(call: Call): Promise<unknown> {
    if (!this.#invoke || this.#state !== 'ready')
      return Promise.reject(this.#notReady('no calls possible'));
    return this.#invoke(call);
  }

  /**
   * go-plugin's broker over this driver's connection: `offer` a service to the driver (pass
   * the id in a request), `dial` one the driver offered. Opened on first use.
   */
  get broker(): Broker {
    if (this.#replicas)
      throw this.#error(
        'PROTOCOL_UNSUPPORTED',
        "no broker for a driver run as a service: brokered services listen on the driver's own machine",
      );
    if (!this.#connection || this.#state !== 'ready') throw this.#notReady('no broker');
    return this.#connection.broker(this.name, this.#log, (err, m) => this.#rpcError(err, m));
  }

  /** The last lines of the driver's stderr. */
  get stderrTail(): string[] {
    return this.#process?.tail.get() ?? [];
  }

  async #start(): Promise<void> {
    const o = this.#options;
    try {
      if (o.reattach !== undefined) return await this.#attach(o.reattach);
      if (o.address !== undefined) return await this.#dialService(o.address);
      await checkExecutable(this.path, { driver: this.name, path: this.path }, o.sha256);
      this.#checkNotClosed();
      // AutoMTLS: the certificate is made before the spawn, since it goes in the environment.
      this.#tls = o.autoMTLS
        ? await (await import('../protocol/mtls.js')).generateIdentity()
        : undefined;
      // close() may have run meanwhile; spawning is synchronous from here, so no gap.
      this.#checkNotClosed();
      const env = {
        ...o.env,
        [ENV.hostSecret]: this.#hostSecret,
        ...(this.#tls ? { [ENV.clientCert]: this.#tls.certPem } : {}),
      };
      const socket = () => this.#socket;
      this.#spawnedAt = Date.now();
      const process = await DriverProcess.spawn(
        this.path,
        this.contract,
        { ...o, env },
        (line) => this.#onStderr(line),
        socket,
      ).catch((err: Error) => {
        // Node refuses some spawns by throwing (a cwd that is a file), others in an 'error' event.
        throw this.#error('SPAWN_FAILED', `cannot start the executable: ${err.message}`, err);
      });
      this.#process = process;
      void process.exited.then((exit) => this.#onExit(exit));
      const line = await this.#race(
        readHandshakeLine(process.child!.stdout!, (chunk) => this.#onStdout(chunk)),
        o.startTimeout,
      );
      this.handshake = await this.#parse(line);
      await this.#connect();
    } catch (err) {
      await this.#stop(false);
      throw err;
    }
  }

  /** Reattach: the process runs already; take its address instead of a handshake. */
  async #attach(reattach: ReattachInfo | string): Promise<void> {
    const parsed = parseReattach(reattach);
    if (!parsed.ok)
      throw this.#error('INVALID_OPTIONS', `reattach info not understood: ${parsed.reason}`);
    const { version, network, address, pid } = parsed.info;
    if (!contractVersions(this.contract).includes(version)) {
      throw this.#error(
        'VERSION_MISMATCH',
        `the running driver serves app protocol version ${version}; the host speaks ${contractVersions(this.contract).join(', ')} of "${this.contract.type}"`,
      );
    }
    const remote = remoteRefusal(parsed.info, this.#options.allowRemote);
    if (remote) throw this.#error('INVALID_OPTIONS', `reattach info: ${remote}`);
    // The pid is what close() signals under killOnClose: it must be the listener's.
    if (pid !== undefined && listenedByProcess(network, address, pid) === false)
      throw this.#error(
        'INVALID_OPTIONS',
        `reattach info: expected pid ${pid} to be the process listening at ${network}:${address}, and it is not; nothing was signalled`,
      );
    // Without a pid, there is nothing this host could stop: it only connects.
    this.#process = pid === undefined ? undefined : DriverProcess.attach(pid);
    void this.#process?.exited.then((exit) => this.#onExit(exit));
    this.handshake = { core: 1, app: version, network, address, protocol: 'grpc' };
    await this.#connect();
  }

  /**
   * A driver that runs as a service: its replicas (one address, a list, or a DNS name's
   * records) dialed and health-watched; calls balanced over the ready ones. The version is
   * the newest the first replica and the host share; every other replica must serve it.
   */
  async #dialService(spec: string | readonly string[]): Promise<void> {
    const o = this.#options;
    let targets: ServiceTargets;
    try {
      targets = serviceTargets(spec, o);
    } catch (err) {
      throw this.#error('INVALID_OPTIONS', `address: ${(err as Error).message}`);
    }
    const deadline = () => new Date(Date.now() + DEFAULT_REPLICA_TIMING.healthTimeoutMs * 5);
    const set = (this.#replicas = new ReplicaSet({
      driver: this.name,
      resolve: targets.resolve,
      connection: {
        serviceTls: targets.secure ? clientTls(o.tls ?? {}) : undefined,
        keepalive: o.keepalive,
      },
      // The first replica picks the version; every other one must serve it.
      admit: async (connection) => {
        this.version = await this.#admit(connection, deadline(), this.version);
      },
      service: () => (this.version ? this.contract.versions[this.version] : undefined),
      log: this.#log,
      onChange: () => this.emit('replicas'),
    }));
    await this.#race(set.start(), o.startTimeout).catch((err) => {
      set.close();
      if (err instanceof DriverkitError && err.code !== 'HANDSHAKE_TIMEOUT') throw err;
      throw this.#error(
        'CONNECT_FAILED',
        err instanceof NoReplicaReady
          ? `expected a replica of the service ready, got none: ${err.message}`
          : err instanceof DriverkitError
            ? `expected a replica of the service ready within ${o.startTimeout} ms, got none: ${set.reasons()}`
            : `cannot find the service's replicas: ${err.message}`,
        err,
      );
    });
    this.#invoke = this.#steps(set.invoke);
    this.#client = createClient(
      this.contract.versions[this.version!],
      this.#invoke,
    ) as LatestClient<C>;
    this.#checkNotClosed();
    this.#state = 'ready';
  }

  /** A service's replicas: address, state, calls open (undefined for a driver this host runs). */
  get replicas(): ReplicaStatus[] | undefined {
    return this.#replicas?.status();
  }

  /**
   * Whether its backend serves, by its own health for `""` (see `backendServing`), asked
   * on the transport itself: no trace span or step sees a host's periodic check.
   */
  backendServing(deadline: Date): Promise<boolean | undefined> {
    const invoke = this.#replicas?.invoke ?? this.#connection?.invoke;
    return invoke ? backendServing(invoke, deadline) : Promise.resolve(undefined);
  }

  /**
   * A running driver (reattached, or a service's replica) says what it is (DriverInfo):
   * another type, or not serving `want`, is refused before any call; else the version to
   * speak (`want`, or the newest both speak). One without DriverInfo (a go-plugin driver)
   * cannot be checked: reattached, it is taken on trust with a warning; a service's replica
   * is refused unless `allowUnverifiedType` says to trust it (it would get the calls'
   * secrets, whatever it is).
   */
  async #admit(connection: Connection, deadline: Date, want?: number): Promise<number> {
    const where = `${connection.target.network}:${connection.target.address}`;
    const info = await connection.info(deadline).catch((err) => {
      throw this.#error(
        'CONNECT_FAILED',
        `DriverInfo at ${where} failed: ${err.details ?? err.message}`,
        err,
      );
    });
    if (!info && this.#options.address !== undefined && !this.#options.allowUnverifiedType)
      throw this.#error(
        'DRIVER_INCOMPATIBLE',
        `${where} answers no DriverInfo, so nothing says it is a ${this.contract.type} driver; it is sent no calls (set allow_unverified_type = true, option allowUnverifiedType, to trust a plain go-plugin service)`,
      );
    if (!info) {
      this.#log.log('warn', 'the running driver has no DriverInfo; its type is not checked', {
        driver: this.name,
        address: where,
      });
      return want ?? Math.max(...contractVersions(this.contract));
    }
    const verdict = checkInfo(info, this.contract, where, want);
    if (!verdict.ok) throw this.#error(verdict.code, verdict.message);
    return verdict.version;
  }

  /**
   * A connection to a reattached driver ended: no exit event tells whether the driver did.
   * Its pid, or else a health check on a new connection, does; a driver found gone exits
   * as a spawned one would (state, `exit`, `exited`), so a supervisor restarts it by policy.
   */
  #onDisconnect(): void {
    const p = this.#process;
    if (this.#state !== 'ready' || p?.child) return;
    if (p && !p.running) return p.markGone();
    this.#connection
      ?.checkHealth(new Date(Date.now() + ATTACHED_CHECK_MS))
      .catch((err: { fromPeer?: boolean; code?: number }) => {
        // Gone means the connection itself failed; NOT_SERVING (draining) or a slow answer is alive.
        if (this.#state !== 'ready' || err.fromPeer || err.code !== Status.UNAVAILABLE) return;
        if (p) p.markGone();
        else this.#onExit({ code: null, signal: null });
      });
  }

  /** Dials the handshake's address, checks health, starts stdio and builds the typed client. */
  async #connect(): Promise<void> {
    const h = this.handshake!;
    const target = { network: h.network, address: this.#pinned ?? h.address };
    const connection = (this.#connection = new Connection(target, {
      tls: this.#peerTls(),
      keepalive: this.#options.keepalive,
      // A reattached driver was not given it; sending it would only tell it to a stranger.
      headers: this.#process?.child ? { [HOST_SECRET_HEADER]: this.#hostSecret } : undefined,
      onStall: (reason) => this.#onStall(reason),
      onDisconnect: () => this.#onDisconnect(),
    }));
    const timeout = this.#options.startTimeout;
    await this.#race(connection.checkHealth(new Date(Date.now() + timeout)), timeout).catch(
      async (err) => {
        if (err instanceof DriverkitError) throw err;
        // A driver that dies right after its handshake shows first as a connection that broke.
        const p = this.#process;
        if (!err.fromPeer && p?.child && (await p.goneWithin(250)))
          throw await this.#exitedEarly(p.exit!);
        throw this.#error(
          'CONNECT_FAILED',
          `cannot reach its gRPC server at ${h.network}:${h.address}: ${err.details ?? err.message}`,
          err,
        );
      },
    );
    if (this.#options.reattach !== undefined)
      await this.#admit(connection, new Date(Date.now() + timeout), h.app);
    this.version = h.app;
    connection.streamStdio(
      (d) => this.#onStdout(Buffer.from(d.data)),
      (details) =>
        this.#log.log('debug', 'stdio stream ended', { driver: this.name, error: details }),
    );
    this.#invoke = this.#steps(connection.invoke);
    this.#client = createClient(
      this.contract.versions[this.version],
      this.#invoke,
    ) as LatestClient<C>;
    this.#checkNotClosed();
    this.#state = 'ready';
    this.#attached = this.#options.reattach !== undefined;
  }

  /** The transport's invoke inside every call's steps: a trace span, the caller's `steps`, then errors mapped. */
  #steps(invoke: Invoke): Invoke {
    const steps = [
      traceStep(this.name),
      ...(this.#options.steps ?? []),
      errorStep((err, m) => this.#rpcError(err, m)),
    ];
    return steps.reduceRight((next, step) => step(next), invoke);
  }

  /** Under AutoMTLS: our identity and the driver's certificate from its handshake, for the channel and the broker. */
  #peerTls(): BrokerTls | undefined {
    const cert = this.handshake?.serverCert;
    return this.#tls && cert
      ? { certPem: this.#tls.certPem, keyPem: this.#tls.keyPem, peerCertPem: certBase64ToPem(cert) }
      : undefined;
  }

  #checkNotClosed(): void {
    if (this.#abortStart.signal.aborted || this.#state !== 'starting')
      throw this.#error('DRIVER_CLOSED', 'closed while starting');
  }

  /** Waits for `p` unless the start timeout passes, the driver exits or close() is called. */
  async #race<T>(p: Promise<T>, timeout: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const signal = this.#abortStart.signal;
    try {
      return await Promise.race([
        p,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                this.#error(
                  'HANDSHAKE_TIMEOUT',
                  `expected a handshake line on stdout and a healthy gRPC server within ${timeout} ms, got neither`,
                ),
              ),
            timeout,
          );
          if (signal.aborted) reject(this.#error('DRIVER_CLOSED', 'closed while starting'));
          signal.addEventListener(
            'abort',
            () => reject(this.#error('DRIVER_CLOSED', 'closed while starting')),
            { once: true },
          );
        }),
        this.exited.then(async (e) => {
          throw await this.#exitedEarly(e);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #parse(line: string | undefined): Promise<Handshake> {
    if (line === undefined) {
      await this.exited;
      await this.#process?.stderrSettled();
      throw this.#error(
        'EXITED_BEFORE_HANDSHAKE',
        `closed stdout before the handshake; expected ${HANDSHAKE_SHAPE}`,
      );
    }
    const verdict = checkHandshake(
      line,
      this.contract,
      this.#tls !== undefined,
      this.#options.allowRemote,
    );
    this.handshake = verdict.handshake;
    const h = verdict.handshake;
    // Only a socket this driver made is dialed, and removed on teardown (even when refused).
    const foreign = h?.network === 'unix' ? await notMadeBy(h.address, this.#spawnedAt) : undefined;
    if (h?.network === 'unix' && foreign === undefined) this.#socket = h.address;
    if (!verdict.ok) throw this.#error(verdict.code, verdict.message);
    if (foreign !== undefined)
      throw this.#error(
        'HANDSHAKE_INVALID',
        `expected the handshake to name the socket the driver made, got ${JSON.stringify(h!.address)}: ${foreign}`,
      );
    // A spawned driver's address must be listened on by its own processes (its group).
    const p = this.#process;
    const refuse = (why: string) => {
      if (this.#socket === h!.address) this.#socket = undefined;
      return this.#error(
        'HANDSHAKE_INVALID',
        `expected the handshake to name a ${h!.network === 'unix' ? 'socket' : 'port'} the driver's own processes listen on, got ${JSON.stringify(h!.address)}: ${why}`,
      );
    };
    const ino = h?.network === 'unix' ? socketInode(h.address) : undefined;
    if (p?.child && h && listenedByGroup(h.network, h.address, p.pid) === false)
      throw refuse('none of them does (another process’s?)');
    // The same file after the check, and dialed by a link of that file the driver cannot
    // swap: a symbolic link put there in between would reach another driver.
    // A driver listens before its handshake: its socket is there now, or this is not its.
    if (p?.child && h?.network === 'unix') {
      if (ino === undefined) {
        // One that exited right after its handshake took its socket with it: say that.
        if (await p.goneWithin(250)) throw await this.#exitedEarly(p.exit!);
        throw refuse('no socket is there');
      }
      if (socketInode(h.address) !== ino) throw refuse('it was replaced while it was checked');
      try {
        this.#pinned = pinSocket(h.address, ino);
      } catch (err) {
        throw refuse((err as Error).message);
      }
      if (!this.#pinned)
        this.#log.log(
          'warn',
          'the driver’s socket is on another file system: dialed by its path, unpinned',
          {
            driver: this.name,
            socket: h.address,
          },
        );
    }
    return verdict.handshake;
  }

  async #exitedEarly(exit: DriverExit): Promise<DriverkitError> {
    await this.#process?.stderrSettled();
    return this.#error(
      'EXITED_BEFORE_HANDSHAKE',
      `exited before it was ready; expected a handshake line (${HANDSHAKE_SHAPE}) on stdout`,
      undefined,
      exit,
    );
  }

  #onStderr(line: string): void {
    const entry = parseLogLine(line);
    // The host says which driver a line came from: a driver (or a caller's forged log fields) cannot.
    this.#log.log(entry.level, entry.message, { ...entry.fields, driver: this.name });
  }

  #onStdout(chunk: Buffer): void {
    if (this.#options.stdout) this.#options.stdout(chunk);
    else
      this.#log.log('debug', chunk.toString('utf8').trimEnd(), {
        driver: this.name,
        stream: 'stdout',
      });
  }

  #onExit(exit: DriverExit): void {
    // Its socket went with it: the link that pinned it goes too (a restart makes a new one).
    unpin(this.#pinned);
    this.#pinned = undefined;
    if (this.#state === 'ready') {
      this.#state = 'exited';
      this.#log.log('warn', 'driver exited on its own', {
        driver: this.name,
        code: exit.code,
        signal: exit.signal,
      });
    }
    this.#resolveExit(exit);
    this.emit('exit', exit);
  }

  /**
   * The connection stopped answering PINGs; its calls have failed with UNAVAILABLE. A driver
   * that no longer reads its connection is not healthy, whatever its health service says on
   * a new one: it is killed, and its exit (on its own, as far as a supervisor is concerned)
   * restarts it by policy. A reattached driver we may not stop is only reconnected.
   */
  #onStall(reason: string): void {
    if (this.#state !== 'ready') return;
    const p = this.#process;
    const ours = p?.child !== undefined || this.#options.killOnClose === true;
    this.#log.log('error', ours ? 'driver stalled; killing it' : 'driver stalled; reconnecting', {
      driver: this.name,
      reason,
    });
    if (ours) void p!.stop({ graceful: false, grace: 0, killTimeout: this.#options.killTimeout });
    // Its stdout came over the connection that stalled: ask for it on the next one.
    else this.#connection?.reopenStdio();
  }

  #notReady(what: string): DriverkitError {
    return this.#error('DRIVER_NOT_READY', `${what}: the driver is ${this.#state}`);
  }

  #error(
    code: ErrorCode,
    message: string,
    cause?: unknown,
    exit = this.#process?.exit,
  ): DriverkitError {
    return new DriverkitError(code, message, {
      driver: this.name,
      path: this.path,
      stderrTail: this.stderrTail,
      exitCode: exit?.code,
      signal: exit?.signal,
      cause,
    });
  }

  /**
   * The caller's error for a failed call. A status the driver sent is its answer, whatever
   * the code, and costs nothing more. Only a transport that broke is worth a wait: a driver
   * that crashes mid-call closes its socket a moment before its exit is reported, so wait
   * for that (briefly) and the error can say how it ended.
   */
  #rpcError(err: CallError, method: string): RpcError | Promise<RpcError> {
    const p = this.#process;
    if (err.code === Status.UNAVAILABLE && !err.fromPeer && p?.child && !p.exit) {
      return p
        .goneWithin(250)
        .then(() => p.stderrSettled())
        .then(() => this.#rpcErrorNow(err, method));
    }
    return this.#rpcErrorNow(err, method);
  }

  #rpcErrorNow(err: CallError, method: string): RpcError {
    const exit = this.#process?.exit;
    const exitedOnItsOwn =
      exit !== undefined && this.#state !== 'closing' && this.#state !== 'closed';
    return callFailure(err, method, {
      driver: this.name,
      path: this.path,
      exit,
      exitedOnItsOwn,
      stderrTail: this.stderrTail,
    });
  }

  /**
   * Stops the driver: GRPCController.Shutdown, up to `shutdownGrace` ms for it to exit, then
   * SIGTERM and after `killTimeout` ms SIGKILL, each to its whole process group; then removes
   * a socket file it left. A reattached driver is left running unless `killOnClose`.
   * Idempotent, and safe while starting (start then rejects).
   */
  close(): Promise<void> {
    return this.#stop(true);
  }

  #stop(graceful: boolean): Promise<void> {
    return (this.#closing ??= this.#teardown(graceful));
  }

  async #teardown(graceful: boolean): Promise<void> {
    const o = this.#options;
    const wasReady = this.#state === 'ready';
    this.#state = 'closing';
    this.#abortStart.abort();
    const process = this.#process;
    const connection = this.#connection;
    // A reattach that failed proved nothing about the pid it named: it is never signalled.
    const ours =
      process !== undefined &&
      (o.reattach === undefined || (o.killOnClose === true && this.#attached));
    if (ours) {
      const shutdown =
        wasReady && connection
          ? () => void connection.shutdown(new Date(Date.now() + o.shutdownGrace))
          : undefined;
      await process.stop({
        graceful,
        shutdown,
        grace: o.shutdownGrace,
        killTimeout: o.killTimeout,
      });
    }
    connection?.close();
    this.#replicas?.close();
    if (ours && o.reattach !== undefined && this.handshake?.network === 'unix')
      removeSocket(this.handshake.address);
    else if (ours && this.#socket) removeSocket(this.#socket);
    unpin(this.#pinned);
    this.#state = 'closed';
    // No exit event comes for a driver never spawned, or not our child: `exited` settles now.
    if (!process?.child) this.#resolveExit({ code: null, signal: null });
  }
}

/**
 * The client of the version `driver` negotiated, tagged with it (see Versioned): a method
 * only another version has is a compile error until `version` is narrowed.
 */
export function versioned<C extends Contract>(driver: Driver<C>): Versioned<C> {
  return { version: driver.version, client: driver.client } as Versioned<C>;
}

/** Spawns a driver and returns at once; await `driver.ready` before calls. */
export function launchDriver<C extends Contract>(options: DriverOptions<C>): Driver<C> {
  return new Driver(options);
}

/** Spawns a driver and resolves once it is ready for calls; on failure nothing is left running. */
export async function startDriver<C extends Contract>(
  options: DriverOptions<C>,
): Promise<Driver<C>> {
  const driver = new Driver(options);
  await driver.ready;
  return driver;
}
