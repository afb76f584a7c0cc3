import type { Broker } from '../rpc/broker.js';
import type { HostBrokers } from './host-brokers.js';

/** A running driver. */
export interface ServingDriver {
  /** The app protocol version negotiated with the host. */
  version: number;
  network: 'unix' | 'tcp';
  address: string;
  /** Stops serving, removes the socket and exits the process with `code`. */
  exit(code?: number): Promise<never>;
  /**
   * go-plugin's broker of the host heard from last. Each host connection has its own (ids
   * are per host); a handler's `ctx.broker` is the one of the host that called.
   */
  readonly broker: Broker;
}

/** A ServingDriver whose `broker` is the one of the host heard from last. */
export function serving(
  version: number,
  network: 'unix' | 'tcp',
  address: string,
  exit: (code?: number) => Promise<never>,
  brokers: HostBrokers,
): ServingDriver {
  return {
    version,
    network,
    address,
    exit,
    get broker() {
      return brokers.latest;
    },
  };
}
