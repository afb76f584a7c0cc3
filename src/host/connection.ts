import type { Client } from '@grpc/grpc-js';
import type { StdioData } from '../gen/plugin/grpc_stdio.js';
import type { Broker, BrokerTls } from '../rpc/broker.js';
import type { ErrorMapper } from '../rpc/call.js';
import type { Invoke } from '../rpc/client.js';
import { openHostBroker } from './broker.js';
import { checkHealth, openChannel, requestShutdown, streamStdio } from './connect.js';
import { grpcInvoke } from './invoke.js';
import type { Logger } from './logger.js';

/**
 * The gRPC side of one driver: its channel, the health check, its stdio stream and
 * go-plugin's broker, whatever started the process. Calls go through `invoke`.
 */
export class Connection {
  readonly #channel: Client;
  readonly #tls?: BrokerTls;
  #stopStdio?: () => void;
  #broker?: Broker;
  /** The raw transport: rejects with grpc-js's errors (see grpcInvoke). */
  readonly invoke: Invoke;

  constructor(target: { network: string; address: string }, tls?: BrokerTls) {
    this.#channel = openChannel(target, tls);
    this.#tls = tls;
    this.invoke = grpcInvoke(this.#channel);
  }

  /** Resolves once health service `plugin` is SERVING, as go-plugin hosts check. */
  checkHealth(deadline: Date): Promise<void> {
    return checkHealth(this.#channel, deadline);
  }

  /** Starts GRPCStdio: what the driver writes to stdout after the handshake comes to `onData`. */
  streamStdio(onData: (d: StdioData) => void, onError: (details: string) => void): void {
    this.#stopStdio = streamStdio(this.#channel, onData, (err) => onError(err.details));
  }

  /** go-plugin's broker over this connection, opened on first use. */
  broker(driver: string, logger: Logger, mapError: ErrorMapper): Broker {
    return (this.#broker ??= openHostBroker(this.#channel, driver, logger, mapError, this.#tls));
  }

  /** GRPCController.Shutdown; resolves whatever the answer. */
  shutdown(deadline: Date): Promise<void> {
    return requestShutdown(this.#channel, deadline);
  }

  close(): void {
    this.#stopStdio?.();
    this.#broker?.close();
    this.#channel.close();
  }
}
