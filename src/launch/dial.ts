// The library's `dial`: a client of any gRPC server (driverkit serve's gateway, a driver run
// as a service) whose failed calls reject with RpcError, as a driver's client's do.
import { errorStep } from '../rpc/client.js';
import {
  type Channel,
  type DialOptions,
  type DialTarget,
  dial as dialTransport,
} from '../transport/client.js';
import { rpcErrorOf } from './rpc-error.js';

/**
 * A client of the server at `target` over one HTTP/2 connection, opened on the first call;
 * give its `invoke` to `createClient`. Failed calls reject with RpcError (status, method).
 */
export function dial(target: DialTarget, options: DialOptions = {}): Channel {
  const channel = dialTransport(target, options);
  return { invoke: errorStep(rpcErrorOf)(channel.invoke), close: () => channel.close() };
}
