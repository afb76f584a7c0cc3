import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Client,
  Metadata,
  type sendUnaryData,
  Server,
  ServerCredentials,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { Broker, type BrokerTls, type BrokerTransport } from '../rpc/broker.js';
import type { ErrorMapper } from '../rpc/call.js';
import { codec, methodPath, type ServiceDef } from '../contracts/contract.js';
import { grpcDefinition } from './grpc-definition.js';
import {
  bindHandlers,
  type CallSink,
  type CallSource,
  type DriverLogger,
} from '../rpc/handlers.js';
import { internalServices } from '../contracts/internal.js';
import type { ConnInfo } from '../gen/plugin/grpc_broker.js';
import type { LogFields, LogLevel } from '../protocol/hclog.js';
import { MESSAGE_LIMIT_OPTIONS } from '../protocol/limits.js';
import { grpcInvoke } from './invoke.js';
import { openChannel } from './connect.js';
import type { Logger } from './logger.js';

/** The host's logger in the shape handlers of offered services log with. */
function handlerLog(logger: Logger, base: LogFields): DriverLogger {
  const at = (level: LogLevel) => (message: string, fields?: LogFields) =>
    logger.log(level, message, { ...base, ...fields });
  return {
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    with: (f) => handlerLog(logger, { ...base, ...f }),
  };
}

function metadataRecord(md: Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(md.getMap()))
    out[k] = typeof v === 'string' ? v : v.toString('base64');
  return out;
}

/** A grpc-js call of any kind, as far as the handler runner needs it. */
type GrpcCall = EventEmitter & {
  cancelled: boolean;
  metadata: Metadata;
  request?: unknown;
  sendMetadata(md: Metadata): void;
  write?(v: unknown): boolean;
  end?(trailers?: Metadata): void;
  iterator(o: { destroyOnReturn: boolean }): AsyncIterable<unknown>;
};

/**
 * Turns typed handlers into a grpc-js service: the host serves brokered services with
 * grpc-js. test/interop.test.ts serves the interop handlers with it too, to hold the
 * driver's own server to grpc-js's answers.
 */
export function toGrpcService(
  service: ServiceDef,
  handlers: Record<string, (req: any, ctx: any) => unknown>,
  log: DriverLogger,
  broker: Broker,
): { definition: ServiceDefinition; implementation: UntypedServiceImplementation } {
  const definition = grpcDefinition(service);
  const implementation: UntypedServiceImplementation = {};
  for (const { key, method, run } of bindHandlers(service, handlers, log, broker)) {
    implementation[key] = (call: GrpcCall, callback?: sendUnaryData<unknown>) => {
      // What the handler set with ctx.setHeader/setTrailer, made on first use (most set
      // neither). grpc-js would send empty headers with the first message, so ours go just
      // before the first response or the status, as the driver's own server sends them.
      let headers: Metadata | undefined;
      let trailers: Metadata | undefined;
      let headersOut = false;
      const flushHeaders = () => {
        headersOut = true;
        if (headers) call.sendMetadata(headers);
      };
      const source: CallSource = {
        get cancelled() {
          return call.cancelled;
        },
        onCancel: (listener) => call.once('cancelled', listener),
        metadata: () => metadataRecord(call.metadata),
        setHeader: (k, v) => !headersOut && ((headers ??= new Metadata()).set(k, v), true),
        setTrailer: (k, v) => (trailers ??= new Metadata()).set(k, v),
      };
      const sink: CallSink = {
        // grpc-js's writable side says when to wait, as node streams do.
        send: async (value) => {
          if (!headersOut) flushHeaders();
          if (!call.write!(value))
            await new Promise(
              (resolve) => (call.once('drain', resolve), call.once('cancelled', resolve)),
            );
        },
        done: (err, value) => {
          if (!headersOut) flushHeaders();
          if (callback)
            return err ? callback({ ...err, metadata: trailers }) : callback(null, value, trailers);
          if (err) call.emit('error', { ...err, metadata: trailers });
          else call.end!(trailers);
        },
      };
      // A client or bidi stream's call is itself the readable of requests; reading them to
      // the end must not destroy it, since a bidi call still writes its responses.
      run(
        method.requestStream ? call.iterator({ destroyOnReturn: false }) : call.request,
        source,
        sink,
      );
    };
  }
  return { definition, implementation };
}

/** Serves offered services with grpc-js on unix sockets, dials the driver's with grpc-js. */
function hostTransport(
  send: (info: ConnInfo) => void,
  log: DriverLogger,
  mapError: ErrorMapper,
): BrokerTransport {
  return {
    send,
    async serve(service, handlers, broker, tls) {
      const server = new Server(MESSAGE_LIMIT_OPTIONS);
      const { definition, implementation } = toGrpcService(service, handlers, log, broker);
      server.addService(definition, implementation);
      const creds = tls
        ? ServerCredentials.createSsl(
            Buffer.from(tls.peerCertPem),
            [{ private_key: Buffer.from(tls.keyPem), cert_chain: Buffer.from(tls.certPem) }],
            true,
          )
        : ServerCredentials.createInsecure();
      // grpc-js binds asynchronously, so no umask can cover it: the socket goes in a folder
      // of its own, mode 0700, which no other user can enter whatever the socket's mode.
      const dir = mkdtempSync(join(tmpdir(), 'driverkit-broker-'));
      const path = join(dir, `plugin${randomBytes(4).readUInt32BE()}`);
      const close = () => {
        server.forceShutdown();
        rmSync(dir, { recursive: true, force: true });
      };
      await new Promise<number>((resolve, reject) =>
        server.bindAsync(`unix:${path}`, creds, (err, port) => (err ? reject(err) : resolve(port))),
      ).catch((err) => {
        close();
        throw err;
      });
      return { network: 'unix', address: path, close };
    },
    dial(info, tls) {
      const channel = openChannel(info, tls);
      return { invoke: grpcInvoke(channel), close: () => channel.close() };
    },
    mapError,
  };
}

/**
 * The host's end of go-plugin's GRPCBroker over one driver's channel: opens StartStream
 * (as go-plugin hosts do on connect) and serves offered services on unix sockets.
 */
export function openHostBroker(
  channel: Client,
  driverName: string,
  logger: Logger,
  mapError: ErrorMapper,
  tls?: BrokerTls,
): Broker {
  const { startStream } = internalServices.broker.methods;
  const req = codec(startStream.requestType);
  const res = codec(startStream.responseType);
  const stream = channel.makeBidiStreamRequest(
    methodPath(internalServices.broker, startStream),
    req.serialize,
    res.deserialize,
  );
  const broker = new Broker(
    hostTransport(
      (info) => void stream.write(info),
      handlerLog(logger, { driver: driverName, broker: true }),
      mapError,
    ),
  );
  broker.useTls(tls);
  stream.on('data', (info: ConnInfo) => broker.receive(info));
  // The stream ends when the driver does; calls on brokered clients say so themselves.
  stream.on('error', () => {});
  const close = broker.close.bind(broker);
  broker.close = () => {
    stream.cancel();
    close();
  };
  return broker;
}
