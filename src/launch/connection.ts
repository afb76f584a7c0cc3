import type { GetInfoResponse } from '../gen/driverkit/info/v1/info.js';
import type { StdioData } from '../gen/plugin/grpc_stdio.js';
import type { Broker, BrokerTls } from '../rpc/broker.js';
import type { ErrorMapper } from '../rpc/call.js';
import type { Invoke } from '../rpc/client.js';
import { Status } from '../status.js';
import { type Channel, type ClientTls, dial } from '../transport/client.js';
import { DEFAULT_KEEPALIVE, type Keepalive } from '../transport/keepalive.js';
import { openHostBroker } from './broker.js';
import { askInfo, checkHealth, requestShutdown, streamStdio } from './connect.js';
import type { Logger } from './logger.js';
import { stripUndefined } from './options.js';

/** How the host's connection to a driver is watched. */
export interface ConnectionOptions {
  tls?: BrokerTls;
  /** TLS to a service (see DialOptions.serviceTls). */
  serviceTls?: () => ClientTls;
  /** PING timing; what is not given is DEFAULT_KEEPALIVE's. */
  keepalive?: Partial<Keepalive>;
  /** The connection stopped answering PINGs: its calls have failed with UNAVAILABLE. */
  onStall?: (reason: string) => void;
  /** A connection to the driver ended (see DialOptions.onDisconnect). */
  onDisconnect?: () => void;
  /** Sent on every call (the host's secret, see ENV.hostSecret). */
  headers?: Readonly<Record<string, string>>;
}

/**
 * The gRPC side of one driver: its connection, the health check, its stdio stream and
 * go-plugin's broker, whatever started the process. Calls go through `invoke`.
 */
export class Connection {
  readonly #channel: Channel;
  readonly #tls?: BrokerTls;
  #stopStdio?: () => void;
  #stdio?: { onData: (d: StdioData) => void; onError: (details: string) => void };
  #closed = false;
  #broker?: Broker;
  /** The raw transport: rejects with CallErrors (see transport/client.ts). */
  readonly invoke: Invoke;

  constructor(
    readonly target: { network: string; address: string },
    options: ConnectionOptions = {},
  ) {
    const keepalive = { ...DEFAULT_KEEPALIVE, ...stripUndefined(options.keepalive ?? {}) };
    this.#channel = dial(target, { ...options, keepalive });
    this.#tls = options.tls;
    this.invoke = this.#channel.invoke;
  }

  /** Resolves once health service `plugin` is SERVING, as go-plugin hosts check. */
  checkHealth(deadline: Date): Promise<void> {
    return checkHealth(this.invoke, deadline);
  }

  /** Starts GRPCStdio: what the driver writes to stdout after the handshake comes to `onData`. */
  streamStdio(onData: (d: StdioData) => void, onError: (details: string) => void): void {
    this.#stdio = { onData, onError };
    this.#stopStdio = streamStdio(this.invoke, onData, (err) => onError(err.details));
  }

  /**
   * Opens GRPCStdio again, on the connection the next call makes: after a stall, for a
   * driver that is not ours to kill (reattached). The driver may not have seen its old
   * stream end yet and refuse the new one (ALREADY_EXISTS): tried again, a moment apart.
   */
  reopenStdio(): void {
    const stdio = this.#stdio;
    if (!stdio || this.#closed) return;
    this.#stopStdio?.();
    let tries = 0;
    const open = () => {
      if (this.#closed) return;
      this.#stopStdio = streamStdio(this.invoke, stdio.onData, (err) => {
        if (err.code === Status.ALREADY_EXISTS && ++tries < 40) setTimeout(open, 250).unref();
        else stdio.onError(err.details);
      });
    };
    open();
  }

  /** go-plugin's broker over this connection, opened on first use. */
  broker(driver: string, logger: Logger, mapError: ErrorMapper): Broker {
    return (this.#broker ??= openHostBroker(this.invoke, driver, logger, mapError, this.#tls));
  }

  /** DriverInfo.GetInfo; undefined from a driver without it (a go-plugin one). */
  info(deadline: Date): Promise<GetInfoResponse | undefined> {
    return askInfo(this.invoke, deadline);
  }

  /** GRPCController.Shutdown; resolves whatever the answer. */
  shutdown(deadline: Date): Promise<void> {
    return requestShutdown(this.invoke, deadline);
  }

  close(): void {
    this.#closed = true;
    this.#stopStdio?.();
    this.#broker?.close();
    this.#channel.close();
  }
}
