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
  /**
   * Sets what health answers for `""` and the served services: SERVING (true, the default)
   * or NOT_SERVING, for a driver that runs but cannot answer now (its backend is
   * unreachable). `plugin` stays SERVING (go-plugin hosts read it as "the process lives"),
   * and a service that drains is NOT_SERVING whatever this says.
   */
  setServing(serving: boolean): void;
}

/** A ServingDriver whose `broker` is the one of the host heard from last. */
export function serving(
  version: number,
  network: 'unix' | 'tcp',
  address: string,
  exit: (code?: number) => Promise<never>,
  brokers: HostBrokers,
  setServing: (serving: boolean) => void,
): ServingDriver {
  return {
    version,
    network,
    address,
    exit,
    setServing,
    get broker() {
      return brokers.latest;
    },
  };
}
