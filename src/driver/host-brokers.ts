import type { ConnInfo } from '../gen/plugin/grpc_broker.js';
import type { Broker } from '../rpc/broker.js';
import type { CallSource } from '../rpc/handlers.js';

interface HostBroker {
  broker: Broker;
  /** StartStream on this connection, once the host has opened it. */
  send?: (info: ConnInfo) => void;
  /** ConnInfos offered before it was. */
  queued: ConnInfo[];
}

/**
 * go-plugin's broker, one per host connection. Each host numbers its broker ids from 1: a
 * second host reattached to this driver must not dial the first one's services by the same
 * ids, nor its calls run on the first host's helpers.
 */
export class HostBrokers {
  #byConnection = new Map<object, HostBroker>();
  #latest?: HostBroker;

  constructor(private readonly create: (send: (info: ConnInfo) => void) => Broker) {}

  /** The broker of the host a call came from. */
  readonly of = (call: CallSource): Broker => this.#entry(call.peer).broker;

  /** The broker of the host heard from last (outside a call there is no other way to choose). */
  get latest(): Broker {
    return (this.#latest ?? this.#entry(this)).broker;
  }

  /** A host opened (`send`) or ended (undefined) StartStream on `connection`. */
  attach(connection: object, send: ((info: ConnInfo) => void) | undefined): void {
    const entry = this.#entry(connection);
    entry.send = send;
    if (send) for (const info of entry.queued.splice(0)) send(info);
  }

  /** Takes a ConnInfo the host on `connection` sent. */
  receive(connection: object, info: ConnInfo): void {
    this.#entry(connection).broker.receive(info);
  }

  close(): void {
    for (const entry of this.#byConnection.values()) entry.broker.close();
    this.#byConnection.clear();
  }

  #entry(given: object | undefined): HostBroker {
    // A connection already gone (a host that dropped) gets nothing kept for it.
    const session = given as { closed?: boolean; destroyed?: boolean } | undefined;
    const connection = !given || session?.closed || session?.destroyed ? this : given;
    let entry = this.#byConnection.get(connection);
    if (!entry) {
      const made: HostBroker = {
        queued: [],
        broker: this.create((info) => (made.send ? made.send(info) : void made.queued.push(info))),
      };
      entry = made;
      this.#byConnection.set(connection, entry);
      // A host connection that ends takes its offered services and dialed clients with it.
      const closable = connection as { once?: (event: string, fn: () => void) => void };
      if (typeof closable.once === 'function')
        closable.once('close', () => {
          made.broker.close();
          this.#byConnection.delete(connection);
          if (this.#latest === made) this.#latest = undefined;
        });
    }
    if (connection !== this) this.#latest = entry;
    return entry;
  }
}
