// go-plugin's GRPCBroker, the part both sides share: ids and the ConnInfo exchange. How an
// offered service is served and how a peer's is dialed is each side's own (the host uses
// grpc-js, the driver its lean server and client), plugged in as a BrokerTransport.
import { DriverkitError } from '../errors.js';
import type { ConnInfo } from '../gen/plugin/grpc_broker.js';
import type { ErrorMapper, PromiseClient } from './call.js';
import { createClient, errorStep, type Invoke } from './client.js';
import { traceStep } from './trace.js';
import type { ServiceDef } from '../contracts/contract.js';
import type { Handlers } from './handlers.js';

/** go-plugin waits this long for the peer's ConnInfo of an id it was told to dial. */
export const BROKER_DIAL_TIMEOUT_MS = 5000;

/** AutoMTLS material: brokered connections are verified like the main one. */
export interface BrokerTls {
  certPem: string;
  keyPem: string;
  peerCertPem: string;
}

/** An offered service, listening: where, and how to stop it (which also removes its socket). */
export interface OfferedService {
  network: 'unix' | 'tcp';
  address: string;
  close(): void;
}

export interface BrokerTransport {
  /** Sends one ConnInfo to the peer over StartStream (queued until the stream exists). */
  send(info: ConnInfo): void;
  /** Serves `handlers` on a new listener of this side's. */
  serve(
    service: ServiceDef,
    handlers: Record<string, (req: unknown, ctx: any) => unknown>,
    broker: Broker,
    tls?: BrokerTls,
  ): Promise<OfferedService>;
  /** A transport to the peer's server at `info`. */
  dial(info: ConnInfo, tls?: BrokerTls): { invoke: Invoke; close(): void };
  /** Turns a failed call on a dialed service into this side's error. */
  mapError: ErrorMapper;
}

/**
 * Offers services to the peer and dials the peer's, by numeric id passed in app messages.
 * Ids are this side's own counter from 1, as in go-plugin.
 */
export class Broker {
  #nextId = 0;
  #known = new Map<number, ConnInfo>();
  #waiting = new Map<number, Array<(info: ConnInfo) => void>>();
  #open: Array<{ close(): void }> = [];
  #tls?: BrokerTls;

  constructor(private readonly transport: BrokerTransport) {}

  /** Turns on AutoMTLS for brokered connections (the driver learns its identity after creating the broker). */
  useTls(tls: BrokerTls | undefined): void {
    this.#tls = tls;
  }

  /** Takes a ConnInfo the peer sent. */
  receive(info: ConnInfo): void {
    this.#known.set(info.serviceId, info);
    for (const resolve of this.#waiting.get(info.serviceId) ?? []) resolve(info);
    this.#waiting.delete(info.serviceId);
  }

  /** Serves `handlers` for `service` on a new listener and tells the peer; returns the id to pass on. */
  async offer<S extends ServiceDef>(service: S, handlers: Handlers<S>): Promise<number> {
    const id = ++this.#nextId;
    const offered = await this.transport.serve(
      service,
      handlers as unknown as Record<string, (req: unknown, ctx: unknown) => unknown>,
      this,
      this.#tls,
    );
    this.#open.push(offered);
    this.transport.send({
      serviceId: id,
      network: offered.network,
      address: offered.address,
      knock: undefined,
    });
    return id;
  }

  /** A typed client of the service the peer offered under `id`; waits up to 5 s for its address. */
  async dial<S extends ServiceDef>(id: number, service: S): Promise<PromiseClient<S>> {
    const info = this.#known.get(id) ?? (await this.#await(id));
    const dialed = this.transport.dial(info, this.#tls);
    this.#open.push(dialed);
    return createClient(service, dialed.invoke, traceStep(), errorStep(this.transport.mapError));
  }

  /** Stops offered services, closes dialed clients, removes sockets. */
  close(): void {
    for (const o of this.#open.splice(0)) o.close();
  }

  #await(id: number): Promise<ConnInfo> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.set(
          id,
          (this.#waiting.get(id) ?? []).filter((r) => r !== done),
        );
        reject(
          new DriverkitError(
            'BROKER_TIMEOUT',
            `broker: the peer sent no address for service id ${id} within ${BROKER_DIAL_TIMEOUT_MS} ms`,
          ),
        );
      }, BROKER_DIAL_TIMEOUT_MS);
      const done = (info: ConnInfo) => {
        clearTimeout(timer);
        resolve(info);
      };
      this.#waiting.set(id, [...(this.#waiting.get(id) ?? []), done]);
    });
  }
}
