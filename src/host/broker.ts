import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@grpc/grpc-js';
import { Broker, type BrokerTls, bindUnix } from '../contracts/broker.js';
import type { ErrorMapper } from '../contracts/client.js';
import { codec, methodPath } from '../contracts/contract.js';
import type { DriverLogger } from '../contracts/handlers.js';
import { internalServices } from '../contracts/internal.js';
import type { ConnInfo } from '../gen/plugin/grpc_broker.js';
import type { LogFields, LogLevel } from '../protocol/hclog.js';
import type { Logger } from './logger.js';

/** The host's logger in the shape handlers of offered services log with. */
function handlerLog(logger: Logger, base: LogFields): DriverLogger {
  const at = (level: LogLevel) => (message: string, fields?: LogFields) => logger.log(level, message, { ...base, ...fields });
  return { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), with: (f) => handlerLog(logger, { ...base, ...f }) };
}

/**
 * The host's end of go-plugin's GRPCBroker over one driver's channel: opens StartStream
 * (as go-plugin hosts do on connect) and serves offered services on unix sockets.
 */
export function openHostBroker(channel: Client, driverName: string, logger: Logger, mapError: ErrorMapper, tls?: BrokerTls): Broker {
  const { startStream } = internalServices.broker.methods;
  const req = codec(startStream.requestType);
  const res = codec(startStream.responseType);
  const stream = channel.makeBidiStreamRequest(methodPath(internalServices.broker, startStream), req.serialize, res.deserialize);
  const broker = new Broker({
    send: (info: ConnInfo) => void stream.write(info),
    listen: (server, creds) => {
      const path = join(tmpdir(), `plugin${randomBytes(4).readUInt32BE()}`);
      return bindUnix(server, creds, path, () => rmSync(path, { force: true }));
    },
    mapError,
    tls,
    log: handlerLog(logger, { driver: driverName, broker: true }),
  });
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
