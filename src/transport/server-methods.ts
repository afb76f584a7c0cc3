// The kinds of method a GrpcServer serves, as MethodImpls: one request message (unary,
// server-streaming) or a stream of them (client-streaming, bidi), typed or still encoded.
import type { MessageType, MethodDef, ServiceDef } from '../contracts/contract.js';
import { RpcError } from '../errors.js';
import { bindHandlers, type BrokerOf, type CallSink, type DriverLogger } from '../rpc/handlers.js';
import { Status } from '../status.js';
import { RequestQueue } from './request-queue.js';
import type { ServerCall } from './server-call.js';
import type { GrpcServer, MethodImpl } from './server.js';

/** How a method reads one request message: decoded, or as it came (undefined: the call was ended). */
export type ReadRequest<Req> = (call: ServerCall, message: Buffer) => Req | undefined;

/** The bytes as they came, for a relay. */
export const rawRequest: ReadRequest<Buffer> = (_call, message) => message;

/** Decodes with `type`; a message that does not decode ends the call with INTERNAL. */
export function decoded<T>(type: MessageType<T>, path: string): ReadRequest<T> {
  return (call, message) => {
    try {
      return type.decode(message);
    } catch (err) {
      call.end(
        Status.INTERNAL,
        `${path}: cannot decode the request: ${err instanceof Error ? err.message : String(err)}`,
      );
      return undefined;
    }
  };
}

/**
 * A method with exactly one request message: `run` gets it once the requests have ended.
 * None, two, or one cut short end the call (UNIMPLEMENTED, UNIMPLEMENTED, INTERNAL), as
 * grpc-go's server does. `open` runs at the call's headers, before any message.
 */
export function oneRequest<Req>(
  path: string,
  read: ReadRequest<Req>,
  run: (call: ServerCall, request: Req) => void,
  open?: (call: ServerCall) => void,
): MethodImpl {
  return {
    requestStream: false,
    onOpen: open,
    onMessage: (call, message) => {
      if (call.request !== undefined)
        return call.end(Status.UNIMPLEMENTED, `${path} takes one request message, got more`);
      call.request = read(call, message);
    },
    onEnd: (call, partial) => {
      if (call.done) return;
      if (partial)
        return call.end(Status.INTERNAL, `${path}: the request ended in the middle of a message`);
      if (call.request === undefined)
        return call.end(Status.UNIMPLEMENTED, `${path} takes one request message, got none`);
      run(call, call.request as Req);
    },
  };
}

/**
 * A method whose requests stream: `run` starts at the call's headers with a RequestQueue of
 * them, which pauses the stream while its reader lags, and releases each request's bytes
 * from the server's budget as it is taken.
 */
export function requestStream<Req>(
  path: string,
  read: ReadRequest<Req>,
  run: (call: ServerCall, requests: RequestQueue<Req>) => void,
): MethodImpl {
  const queues = new WeakMap<ServerCall, RequestQueue<Req>>();
  return {
    requestStream: true,
    onOpen: (call) => {
      const queue = new RequestQueue<Req>(
        () => call.pause(),
        () => call.resume(),
        (bytes) => call.inbound?.release(bytes),
      );
      queues.set(call, queue);
      call.onCancel(() => queue.fail(new RpcError(Status.CANCELLED, 'the call was cancelled')));
      run(call, queue);
    },
    onMessage: (call, message) => {
      const request = read(call, message);
      // The frame's 5-byte prefix was counted with it.
      if (request !== undefined) queues.get(call)?.push(request, message.length + 5);
    },
    onEnd: (call, partial) => {
      if (partial)
        return call.end(Status.INTERNAL, `${path}: the requests ended in the middle of a message`);
      queues.get(call)?.end();
    },
  };
}

/** Encodes a handler's value, or ends the call with INTERNAL (a 1.5 for an int32, say): this call fails, not the driver. */
export function encoded<Res>(
  call: ServerCall,
  type: MessageType<Res>,
  value: unknown,
  path: string,
): Uint8Array | undefined {
  try {
    return type.encode(type.fromPartial(value ?? {})).finish();
  } catch (e) {
    call.end(
      Status.INTERNAL,
      `${path}: cannot encode the response: ${e instanceof Error ? e.message : String(e)}`,
    );
    return undefined;
  }
}

/**
 * An app method of any kind, run by `run` (see bindHandlers): a unary or server-streaming
 * method once its one request is in, a client-streaming or bidi one at once, with its
 * requests as a RequestQueue.
 */
export function appMethod(
  path: string,
  m: MethodDef,
  run: (input: unknown, call: ServerCall, sink: CallSink) => void,
): MethodImpl {
  const sink = (call: ServerCall): CallSink => ({
    send: (value) => {
      const bytes = encoded(call, m.responseType, value, path);
      if (bytes === undefined)
        return Promise.reject(new Error(`${path}: cannot encode a response`));
      return call.send(bytes);
    },
    done: (err, value) => {
      if (call.done) return;
      if (err) return call.end(err.code, err.details);
      if (m.responseStream) return call.end(Status.OK);
      const bytes = encoded(call, m.responseType, value, path);
      if (bytes !== undefined) call.reply(bytes);
    },
  });
  const read = decoded(m.requestType, path);
  return m.requestStream
    ? requestStream(path, read, (call, queue) => run(queue, call, sink(call)))
    : oneRequest(path, read, (call, request) => run(request, call, sink(call)));
}

/** Serves typed handlers of `service` (a driver's own, or one offered over the broker). */
export function serveHandlers(
  server: GrpcServer,
  service: ServiceDef,
  handlers: Record<string, (req: any, ctx: any) => unknown>,
  log: DriverLogger,
  broker: BrokerOf,
): void {
  for (const { path, method, run } of bindHandlers(service, handlers, log, broker))
    server.handle(path, appMethod(path, method, run));
}
