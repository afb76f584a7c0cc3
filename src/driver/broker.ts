import type { ErrorMapper } from '../rpc/call.js';
import { Broker } from '../rpc/broker.js';
import type { DriverLogger } from '../rpc/handlers.js';
import type { ConnInfo } from '../gen/plugin/grpc_broker.js';
import { dial } from '../transport/client.js';
import { GrpcServer } from '../transport/server.js';
import { serveHandlers } from '../transport/server-methods.js';
import { listen } from './listen.js';

/**
 * The driver's end of go-plugin's GRPCBroker: offered services get a lean server of their
 * own on a new unix socket, and the host's are dialed with the lean client.
 */
export function driverBroker(
  send: (info: ConnInfo) => void,
  log: DriverLogger,
  mapError: ErrorMapper,
): Broker {
  return new Broker({
    send,
    async serve(service, handlers, broker, tls) {
      const server = new GrpcServer(tls);
      serveHandlers(server, service, handlers, log, broker);
      const listening = await listen(server, 'unix');
      return {
        network: listening.network,
        address: listening.address,
        close: () => {
          server.close();
          listening.cleanup();
        },
      };
    },
    dial: (info, tls) => dial(info, { tls }),
    mapError,
  });
}
