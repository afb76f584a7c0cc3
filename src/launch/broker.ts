import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { internalServices } from '../contracts/internal.js';
import type { ConnInfo } from '../gen/plugin/grpc_broker.js';
import type { LogFields, LogLevel } from '../protocol/hclog.js';
import { Broker, type BrokerTls, type BrokerTransport } from '../rpc/broker.js';
import type { ErrorMapper } from '../rpc/call.js';
import { createClient, type Invoke } from '../rpc/client.js';
import type { DriverLogger } from '../rpc/handlers.js';
import { dial } from '../transport/client.js';
import { RequestQueue } from '../transport/request-queue.js';
import { GrpcServer } from '../transport/server.js';
import { serveHandlers } from '../transport/server-methods.js';
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

/** Serves offered services on unix sockets and dials the driver's, with the one transport. */
function hostTransport(
  send: (info: ConnInfo) => void,
  log: DriverLogger,
  mapError: ErrorMapper,
): BrokerTransport {
  return {
    send,
    async serve(service, handlers, broker, tls) {
      const server = new GrpcServer(tls);
      serveHandlers(server, service, handlers, log, broker);
      // The socket goes in a folder of its own, mode 0700, which no other user can enter
      // whatever the socket's mode.
      const dir = mkdtempSync(join(tmpdir(), 'driverkit-broker-'));
      const path = join(dir, `plugin${randomBytes(4).readUInt32BE()}`);
      const close = () => {
        void server.close(0);
        rmSync(dir, { recursive: true, force: true });
      };
      await server.listen({ path }).catch((err) => {
        close();
        throw err;
      });
      return { network: 'unix', address: path, close };
    },
    dial: (info, tls) => dial(info, { tls }),
    mapError,
  };
}

/**
 * The host's end of go-plugin's GRPCBroker over one driver's connection: opens StartStream
 * (as go-plugin hosts do on connect) and serves offered services on unix sockets.
 */
export function openHostBroker(
  invoke: Invoke,
  driverName: string,
  logger: Logger,
  mapError: ErrorMapper,
  tls?: BrokerTls,
): Broker {
  const outgoing = new RequestQueue<ConnInfo>(
    () => {},
    () => {},
  );
  const stop = new AbortController();
  const broker = new Broker(
    hostTransport(
      (info) => outgoing.push(info),
      handlerLog(logger, { driver: driverName, broker: true }),
      mapError,
    ),
  );
  broker.useTls(tls);
  const { startStream } = createClient(internalServices.broker, invoke);
  void (async () => {
    // The stream ends when the driver does; calls on brokered clients say so themselves.
    try {
      for await (const info of startStream(outgoing, { signal: stop.signal })) broker.receive(info);
    } catch {}
  })();
  const close = broker.close.bind(broker);
  broker.close = () => {
    stop.abort();
    outgoing.end();
    close();
  };
  return broker;
}
