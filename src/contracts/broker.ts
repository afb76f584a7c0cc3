// go-plugin's GRPCBroker, the part both sides share: ids, the ConnInfo exchange, serving
// an offered service on its own listener, dialing the peer's. Each side plugs in its end
// of the StartStream and how it listens (host and driver differ only there).
import { Client, credentials, Server, ServerCredentials } from '@grpc/grpc-js';
import type { ConnInfo } from '../gen/plugin/grpc_broker.js';
import { MESSAGE_LIMIT_OPTIONS } from '../protocol/limits.js';
import { createPromiseClient, type ErrorMapper, type PromiseClient } from './client.js';
import type { ServiceDef } from './contract.js';
import { type DriverLogger, type Handlers, toGrpcService } from './handlers.js';

/** go-plugin waits this long for the peer's ConnInfo of an id it was told to dial. */
export const BROKER_DIAL_TIMEOUT_MS = 5000;

/** Where an offered service listens; `cleanup` removes what listening left on disk. */
export interface BrokerListener {
  network: 'unix' | 'tcp';
  address: string;
  cleanup(): void;
}

/** AutoMTLS material: brokered connections are verified like the main one. */
export interface BrokerTls {
  certPem: string;
  keyPem: string;
  peerCertPem: string;
}

export interface BrokerTransport {
  /** Sends one ConnInfo to the peer over StartStream (queued until the stream exists). */
  send(info: ConnInfo): void;
  /** Binds a server for an offered service with these credentials. */
  listen(server: Server, creds: ServerCredentials): Promise<BrokerListener>;
  /** Set under AutoMTLS. */
  tls?: BrokerTls;
  /** Makes a failed brokered call an error of the caller's family. */
  mapError: ErrorMapper;
  /** Logs handler failures of offered services. */
  log: DriverLogger;
}

/**
 * Offers services to the peer and dials the peer's, by numeric id passed in app messages.
 * Ids are this side's own counter from 1, as in go-plugin.
 */
export class Broker {
  #nextId = 0;
  #known = new Map<number, ConnInfo>();
  #waiting = new Map<number, Array<(info: ConnInfo) => void>>();
  #servers: Array<{ server: Server; listener: BrokerListener }> = [];
  #clients: Client[] = [];

  constructor(private readonly transport: BrokerTransport) {}

  /** Turns on AutoMTLS for brokered connections (the driver learns its identity after creating the broker). */
  useTls(tls: BrokerTls): void {
    this.transport.tls = tls;
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
    const server = new Server(MESSAGE_LIMIT_OPTIONS);
    const { definition, implementation } = toGrpcService(service, handlers as unknown as Record<string, (req: unknown, ctx: unknown) => unknown>, this.transport.log, this);
    server.addService(definition, implementation);
    const tls = this.transport.tls;
    const creds = tls
      ? ServerCredentials.createSsl(Buffer.from(tls.peerCertPem), [{ private_key: Buffer.from(tls.keyPem), cert_chain: Buffer.from(tls.certPem) }], true)
      : ServerCredentials.createInsecure();
    const listener = await this.transport.listen(server, creds);
    this.#servers.push({ server, listener });
    this.transport.send({ serviceId: id, network: listener.network, address: listener.address, knock: undefined });
    return id;
  }

  /** A typed client of the service the peer offered under `id`; waits up to 5 s for its address. */
  async dial<S extends ServiceDef>(id: number, service: S): Promise<PromiseClient<S>> {
    const info = this.#known.get(id) ?? (await this.#await(id));
    const target = info.network === 'unix' ? `unix:${info.address}` : info.address;
    const tls = this.transport.tls;
    const client = tls
      ? new Client(target, credentials.createSsl(Buffer.from(tls.peerCertPem), Buffer.from(tls.keyPem), Buffer.from(tls.certPem)), {
          ...MESSAGE_LIMIT_OPTIONS,
          // go-plugin certificates name "localhost", whatever the address.
          'grpc.ssl_target_name_override': 'localhost',
          'grpc.default_authority': 'localhost',
        })
      : new Client(target, credentials.createInsecure(), MESSAGE_LIMIT_OPTIONS);
    this.#clients.push(client);
    return createPromiseClient(client, service, this.transport.mapError);
  }

  /** Stops offered services, closes dialed clients, removes sockets. */
  close(): void {
    for (const c of this.#clients) c.close();
    for (const { server, listener } of this.#servers) {
      server.forceShutdown();
      listener.cleanup();
    }
    this.#clients = [];
    this.#servers = [];
  }

  #await(id: number): Promise<ConnInfo> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.set(id, (this.#waiting.get(id) ?? []).filter((r) => r !== done));
        reject(new Error(`broker: the peer sent no address for service id ${id} within ${BROKER_DIAL_TIMEOUT_MS} ms`));
      }, BROKER_DIAL_TIMEOUT_MS);
      const done = (info: ConnInfo) => {
        clearTimeout(timer);
        resolve(info);
      };
      this.#waiting.set(id, [...(this.#waiting.get(id) ?? []), done]);
    });
  }
}

/** Binds a brokered server on a unix socket at `path`. */
export async function bindUnix(server: Server, creds: ServerCredentials, path: string, cleanup: () => void): Promise<BrokerListener> {
  await new Promise<number>((resolve, reject) => server.bindAsync(`unix:${path}`, creds, (err, port) => (err ? reject(err) : resolve(port))));
  return { network: 'unix', address: path, cleanup };
}
