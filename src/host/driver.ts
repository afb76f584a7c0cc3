import type { ChildProcess } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { rmSync } from 'node:fs';
import type { CallOptions, Client, ClientUnaryCall, Metadata, ServiceError } from '@grpc/grpc-js';
import { type Contract, contractVersions } from '../contracts/contract.js';
import { DriverkitError, type ErrorCode, type RpcError } from '../errors.js';
import { type Handshake, HANDSHAKE_SHAPE } from '../protocol/handshake.js';
import { checkHandshake } from './handshake-check.js';
import { callFailure } from './rpc-error.js';
import { parseLogLine } from '../protocol/hclog.js';
import { parseReattach, type ReattachInfo } from '../protocol/reattach.js';
import { ENV } from '../protocol/env.js';
import type { TlsIdentity } from '../protocol/mtls.js';
import { certBase64ToPem } from '../protocol/tls-pem.js';
import { Status } from '../status.js';
import { openHostBroker } from './broker.js';
import { checkHealth, openChannel, requestShutdown, streamStdio } from './connect.js';
import type { Broker, BrokerTls } from '../rpc/broker.js';
import { readHandshakeLine } from './handshake-reader.js';
import { readLines, Tail } from './lines.js';
import { consoleLogger } from './logger.js';
import type { DriverOptions, DriverExit, LatestClient } from './options.js';
import { validateOptions } from './options.js';
import { checkExecutable, spawnProcess } from './spawn.js';
import { pidAlive } from '../pid.js';
import { pidGoneWithin, signalGroup, signalPid, trackGroup } from './terminate.js';
import { createPromiseClient } from './client.js';
import type { CallError } from '../rpc/call.js';

type State = 'starting' | 'ready' | 'closing' | 'closed' | 'exited';

const identity = (b: Buffer) => b;

/**
 * One driver process and the gRPC connection to it. Create it with `launchDriver` or
 * `startDriver`; `close()` always leaves no process and no socket behind. Emits `exit`
 * with `{ code, signal }` when the process ends, as `exited` resolves.
 */
export class Driver<C extends Contract = Contract> extends EventEmitter<{ exit: [DriverExit] }> {
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
  #options: Required<Pick<DriverOptions<C>, 'startTimeout' | 'shutdownGrace' | 'killTimeout'>> & DriverOptions<C>;
  #log;
  #tail = new Tail();
  #child?: ChildProcess;
  #exit?: DriverExit;
  #resolveExit!: (e: DriverExit) => void;
  #stderrDone?: Promise<void>;
  #grpc?: Client;
  #client?: LatestClient<C>;
  #stopStdio?: () => void;
  #untrack?: () => void;
  #abortStart = new AbortController();
  #closing?: Promise<void>;
  #attachedPid?: number;
  #tls?: TlsIdentity;
  #broker?: Broker;

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
    if (!this.#client || this.#state !== 'ready') {
      throw this.#error('DRIVER_NOT_READY', `no calls possible: the driver is ${this.#state}`);
    }
    return this.#client;
  }

  /** The process id, once spawned (or as given for a reattached driver). */
  get pid(): number | undefined {
    return this.#child?.pid ?? this.#attachedPid;
  }

  /** starting, ready, closing, closed, or exited (on its own). */
  get state(): State {
    return this.#state;
  }

  /**
   * Sends an already-encoded request to `path` and hands back the encoded reply, for
   * gateways that relay calls without decoding them. Errors are grpc-js's, unchanged.
   */
  forward(path: string, request: Buffer, metadata: Metadata, options: CallOptions, callback: (err: ServiceError | null, reply?: Buffer) => void): ClientUnaryCall {
    if (!this.#grpc || this.#state !== 'ready') throw this.#error('DRIVER_NOT_READY', `no calls possible: the driver is ${this.#state}`);
    return this.#grpc.makeUnaryRequest(path, identity, identity, request, metadata, options, callback);
  }

  /**
   * go-plugin's broker over this driver's connection: `offer` a service to the driver (pass
   * the id in a request), `dial` one the driver offered. Opened on first use.
   */
  get broker(): Broker {
    if (!this.#grpc || this.#state !== 'ready') throw this.#error('DRIVER_NOT_READY', `no broker: the driver is ${this.#state}`);
    return (this.#broker ??= openHostBroker(this.#grpc, this.name, this.#log, (err, m) => this.#rpcError(err, m), this.#peerTls()));
  }

  /** The last lines of the driver's stderr. */
  get stderrTail(): string[] {
    return this.#tail.get();
  }

  async #start(): Promise<void> {
    const o = this.#options;
    try {
      if (o.reattach !== undefined) return await this.#attach(o.reattach);
      await checkExecutable(this.path, { driver: this.name, path: this.path }, o.sha256);
      // close() may have run during the check; spawning is synchronous from here, so no gap.
      if (this.#abortStart.signal.aborted) throw this.#error('DRIVER_CLOSED', 'closed while starting');
      // AutoMTLS: the certificate is made before the spawn, since it goes in the environment.
      this.#tls = o.autoMTLS ? await (await import('../protocol/mtls.js')).generateIdentity() : undefined;
      if (this.#abortStart.signal.aborted) throw this.#error('DRIVER_CLOSED', 'closed while starting');
      const env = this.#tls ? { ...o.env, [ENV.clientCert]: this.#tls.certPem } : o.env;
      let child: ChildProcess;
      try {
        child = this.#child = spawnProcess(this.path, this.contract, { ...o, env });
      } catch (err) {
        // Node refuses some spawns by throwing (a cwd that is a file, an environment too large).
        throw this.#error('SPAWN_FAILED', `cannot start the executable: ${err instanceof Error ? err.message : String(err)}`, err);
      }
      if (child.pid === undefined) {
        // Others it reports in an 'error' event on a later tick, with no pid.
        const [err] = (await once(child, 'error')) as [Error];
        throw this.#error('SPAWN_FAILED', `cannot start the executable: ${err.message}`, err);
      }
      this.#untrack = trackGroup(child.pid, () => (this.handshake?.network === 'unix' ? this.handshake.address : undefined));
      child.on('exit', (code, signal) => this.#onExit({ code, signal }));
      this.#stderrDone = new Promise((resolve) => child.stderr!.once('end', resolve));
      readLines(child.stderr!, (line) => this.#onStderr(line));
      const line = await this.#race(readHandshakeLine(child.stdout!, (chunk) => this.#onStdout(chunk)), o.startTimeout);
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
    if (!parsed.ok) throw this.#error('INVALID_OPTIONS', `reattach info not understood: ${parsed.reason}`);
    const { version, network, address, pid } = parsed.info;
    if (!contractVersions(this.contract).includes(version)) {
      throw this.#error('VERSION_MISMATCH', `the running driver serves app protocol version ${version}; the host speaks ${contractVersions(this.contract).join(', ')} of "${this.contract.type}"`);
    }
    this.#attachedPid = pid;
    this.handshake = { core: 1, app: version, network, address, protocol: 'grpc' };
    await this.#connect();
  }

  /** Dials the handshake's address, checks health, starts stdio and builds the typed client. */
  async #connect(): Promise<void> {
    const o = this.#options;
    this.version = this.handshake!.app;
    const h = this.handshake!;
    this.#grpc = openChannel(h, this.#peerTls());
    const deadline = new Date(Date.now() + o.startTimeout);
    await this.#race(checkHealth(this.#grpc, deadline, (err, m) => this.#rpcError(err, m)), o.startTimeout).catch((err) => {
      throw err instanceof DriverkitError && err.code !== 'RPC_ERROR' ? err : this.#error('CONNECT_FAILED', `cannot reach its gRPC server at ${this.handshake!.network}:${this.handshake!.address}: ${err.shortMessage ?? err.message}`, err);
    });
    this.#stopStdio = streamStdio(
      this.#grpc,
      (d) => this.#onStdout(Buffer.from(d.data)),
      (err) => this.#log.log('debug', 'stdio stream ended', { driver: this.name, error: err.details }),
    );
    const service = this.contract.versions[this.version];
    this.#client = createPromiseClient(this.#grpc, service, (err, m) => this.#rpcError(err, m)) as LatestClient<C>;
    if (this.#state !== 'starting') throw this.#error('DRIVER_CLOSED', 'closed while starting');
    this.#state = 'ready';
  }

  /** Under AutoMTLS: our identity and the driver's certificate from its handshake, for the channel and the broker. */
  #peerTls(): BrokerTls | undefined {
    const cert = this.handshake?.serverCert;
    return this.#tls && cert ? { certPem: this.#tls.certPem, keyPem: this.#tls.keyPem, peerCertPem: certBase64ToPem(cert) } : undefined;
  }

  /** Waits for `p` unless the start timeout passes, the driver exits or close() is called. */
  async #race<T>(p: Promise<T>, timeout: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const signal = this.#abortStart.signal;
    try {
      return await Promise.race([
        p,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(this.#error('HANDSHAKE_TIMEOUT', `expected a handshake line on stdout and a healthy gRPC server within ${timeout} ms, got neither`)), timeout);
          if (signal.aborted) reject(this.#error('DRIVER_CLOSED', 'closed while starting'));
          signal.addEventListener('abort', () => reject(this.#error('DRIVER_CLOSED', 'closed while starting')), { once: true });
        }),
        this.exited.then(async (e) => {
          await this.#stderrSettled();
          throw this.#error('EXITED_BEFORE_HANDSHAKE', `exited before it was ready; expected a handshake line (${HANDSHAKE_SHAPE}) on stdout`, undefined, e);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #parse(line: string | undefined): Promise<Handshake> {
    if (line === undefined) {
      await this.exited;
      await this.#stderrSettled();
      throw this.#error('EXITED_BEFORE_HANDSHAKE', `closed stdout before the handshake; expected ${HANDSHAKE_SHAPE}`, undefined, this.#exit);
    }
    const verdict = checkHandshake(line, this.contract, this.#tls !== undefined);
    // Known from here on, so that a refused driver's socket is still removed on teardown.
    this.handshake = verdict.handshake;
    if (!verdict.ok) throw this.#error(verdict.code, verdict.message);
    return verdict.handshake;
  }

  #onStderr(line: string): void {
    this.#tail.push(line);
    const entry = parseLogLine(line);
    this.#log.log(entry.level, entry.message, { driver: this.name, ...entry.fields });
  }

  #onStdout(chunk: Buffer): void {
    if (this.#options.stdout) this.#options.stdout(chunk);
    else this.#log.log('debug', chunk.toString('utf8').trimEnd(), { driver: this.name, stream: 'stdout' });
  }

  #onExit(exit: DriverExit): void {
    this.#exit = exit;
    if (this.#state === 'ready') {
      this.#state = 'exited';
      this.#log.log('warn', 'driver exited on its own', { driver: this.name, code: exit.code, signal: exit.signal });
    }
    this.#resolveExit(exit);
    this.emit('exit', exit);
  }

  /** Stderr can trail the exit event by a moment; wait for it, but never long. */
  async #stderrSettled(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#stderrDone, new Promise((r) => (timer = setTimeout(r, 250)))]);
    clearTimeout(timer);
  }

  #error(code: ErrorCode, message: string, cause?: unknown, exit = this.#exit): DriverkitError {
    return new DriverkitError(code, message, { driver: this.name, path: this.path, stderrTail: this.#tail.get(), exitCode: exit?.code, signal: exit?.signal, cause });
  }

  /**
   * A driver that crashes mid-call closes its socket a moment before its exit is reported;
   * wait for that moment (briefly) so the error can say how it ended.
   */
  #rpcError(err: CallError, method: string): RpcError | Promise<RpcError> {
    if (err.code === Status.UNAVAILABLE && !this.#exit && this.#child) {
      return this.#exitWithin(250).then(() => this.#stderrSettled()).then(() => this.#rpcErrorNow(err, method));
    }
    return this.#rpcErrorNow(err, method);
  }

  #rpcErrorNow(err: CallError, method: string): RpcError {
    const exitedOnItsOwn = this.#exit !== undefined && this.#state !== 'closing' && this.#state !== 'closed';
    return callFailure(err, method, { driver: this.name, path: this.path, exit: this.#exit, exitedOnItsOwn, stderrTail: this.#tail.get() });
  }

  /**
   * Stops the driver: GRPCController.Shutdown, up to `shutdownGrace` ms for it to exit, then
   * SIGTERM and after `killTimeout` ms SIGKILL, each to its whole process group; then removes
   * a socket file it left. Idempotent, and safe while starting (start then rejects).
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
    if (o.reattach !== undefined) return this.#detach(wasReady);
    const pid = this.#child?.pid;
    if (pid !== undefined && !this.#exit) {
      let gone = false;
      if (graceful && wasReady && this.#grpc) {
        void requestShutdown(this.#grpc, new Date(Date.now() + o.shutdownGrace));
        gone = await this.#exitWithin(o.shutdownGrace);
      }
      if (!gone) {
        signalGroup(pid, graceful ? 'SIGTERM' : 'SIGKILL');
        if (!(await this.#exitWithin(o.killTimeout))) {
          signalGroup(pid, 'SIGKILL');
          await this.exited;
        }
      }
    }
    // The leader is gone; anything it started in its group goes with it.
    if (pid !== undefined) signalGroup(pid, 'SIGKILL');
    this.#stopStdio?.();
    this.#broker?.close();
    this.#grpc?.close();
    this.#untrack?.();
    if (this.handshake?.network === 'unix') rmSync(this.handshake.address, { force: true });
    this.#state = 'closed';
    // Closed before anything was spawned: there is no exit to wait for, so `exited` settles now.
    if (pid === undefined) this.#resolveExit({ code: null, signal: null });
  }

  /** Closing a reattached driver leaves its process alone unless `killOnClose` asks otherwise. */
  async #detach(wasReady: boolean): Promise<void> {
    const o = this.#options;
    const pid = this.#attachedPid;
    let killed = false;
    if (o.killOnClose && pid !== undefined && pidAlive(pid)) {
      if (wasReady && this.#grpc) void requestShutdown(this.#grpc, new Date(Date.now() + o.shutdownGrace));
      for (const [signal, wait] of [[undefined, o.shutdownGrace], ['SIGTERM', o.killTimeout], ['SIGKILL', o.killTimeout]] as const) {
        if (signal) signalPid(pid, signal);
        // Not our child: no exit event comes, so watch the pid against a deadline.
        if (await pidGoneWithin(pid, wait)) break;
      }
      killed = true;
    }
    this.#stopStdio?.();
    this.#broker?.close();
    this.#grpc?.close();
    if (killed && this.handshake?.network === 'unix') rmSync(this.handshake.address, { force: true });
    this.#state = 'closed';
    this.#resolveExit({ code: null, signal: null });
  }

  async #exitWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([this.exited.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)))]);
    clearTimeout(timer);
    return done;
  }
}

/** Spawns a driver and returns at once; await `driver.ready` before calls. */
export function launchDriver<C extends Contract>(options: DriverOptions<C>): Driver<C> {
  return new Driver(options);
}

/** Spawns a driver and resolves once it is ready for calls; on failure nothing is left running. */
export async function startDriver<C extends Contract>(options: DriverOptions<C>): Promise<Driver<C>> {
  const driver = new Driver(options);
  await driver.ready;
  return driver;
}
