import {
  type DeepPartial,
  type MethodDef,
  methodPath,
  type ServiceDef,
} from '../contracts/contract.js';
import { Status } from '../status.js';
import { contextFromMetadata, type RequestContext } from '../protocol/context.js';
import type { LogFields } from '../protocol/hclog.js';
import type { Broker } from './broker.js';
import { serverSpan, withSpan } from './trace.js';

/** The logger a handler gets: hclog's levels, and `with` for a logger that adds fields. */
export interface DriverLogger {
  trace(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds these fields to every line (a request id, say). */
  with(fields: LogFields): DriverLogger;
}

/** What a handler gets besides its request. */
export interface CallContext {
  /** Aborted when the host cancels the call or its deadline passes. */
  readonly signal: AbortSignal;
  /** The call's gRPC metadata, lower-case keys, string values. */
  readonly metadata: Readonly<Record<string, string>>;
  /** The request id, user, token and log fields the host sent (see RequestContext). */
  readonly context: RequestContext;
  /** The driver's logger; its lines carry the request id and the host's log fields. */
  readonly log: DriverLogger;
  /** The gRPC method path. */
  readonly method: string;
  /** go-plugin's broker: offer a service to the peer, or dial one it offered, by id. */
  readonly broker: Broker;
  /**
   * Sets a response header (gRPC initial metadata). Headers go out with the first response
   * of a stream, or with a unary call's answer or status, so set them before; after that
   * this throws. The same key again replaces the value. Keys are lower-case (`x-trace`); a
   * `-bin` key takes bytes (sent base64), any other key printable ASCII; `grpc-` keys and
   * the transport's own headers are refused.
   */
  setHeader(key: string, value: string | Uint8Array): void;
  /** Sets a trailer (gRPC trailing metadata), sent with the call's status, whatever it is; keys and values as for setHeader. */
  setTrailer(key: string, value: string | Uint8Array): void;
}

/** One response, or a promise of it. */
type Answer<T> = Promise<DeepPartial<T>> | DeepPartial<T>;
/** What a streaming handler returns: an async generator, or any iterable of responses. */
type Responses<T> = AsyncIterable<DeepPartial<T>> | Iterable<DeepPartial<T>>;

/**
 * The handler of one method, by its kind: unary `(request) => response`; server-streaming
 * `(request) => responses` (an async generator); client-streaming `(requests) => response`;
 * bidi `(requests) => responses`. Requests arrive as an AsyncIterable that applies
 * back-pressure: the client is slowed while the handler does not read.
 */
export type Handler<M> =
  M extends MethodDef<infer Req, infer Res>
    ? M extends { requestStream: true }
      ? M extends { responseStream: true }
        ? (requests: AsyncIterable<Req>, context: CallContext) => Responses<Res>
        : (requests: AsyncIterable<Req>, context: CallContext) => Answer<Res>
      : M extends { responseStream: true }
        ? (request: Req, context: CallContext) => Responses<Res>
        : (request: Req, context: CallContext) => Answer<Res>
    : never;

/** The handlers a driver implements for one service: one function per method. */
export type Handlers<S extends ServiceDef> = {
  [K in keyof S['methods']]: Handler<S['methods'][K]>;
};

/** Something thrown that carries a gRPC status: driverkit's RpcError, or one from another copy of it. */
function statusOf(err: unknown): { code: number; details: string } | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { name?: unknown; status?: unknown; details?: unknown };
  if (e.name === 'RpcError' && typeof e.status === 'number' && typeof e.details === 'string')
    return { code: e.status, details: e.details };
  return undefined;
}

/** A gRPC failure as both servers send it. */
export interface CallStatus {
  code: number;
  details: string;
}

/** What a server knows of one call, whichever server it is. */
export interface CallSource {
  readonly cancelled: boolean;
  /** Runs `listener` once when the host cancels the call or its deadline passes. */
  onCancel(listener: () => void): void;
  /** The call's metadata, lower-case keys, string values (binary ones base64). */
  metadata(): Record<string, string>;
  /** Sets a response header (checked by checkMetadata); false once the headers have gone out. */
  setHeader(key: string, value: string | Buffer): boolean;
  /** Sets a trailer (checked by checkMetadata), sent with the status. */
  setTrailer(key: string, value: string | Buffer): void;
  /** The connection the call came on (its HTTP/2 session): each peer has its own broker. */
  readonly peer?: object;
}

/** The broker of the peer a call came from (see CallSource.peer), or one broker for all. */
export type BrokerOf = Broker | ((call: CallSource) => Broker);

/** Headers a handler may not set: the transport's own, which the server sets (a second content-type or te would break the call). */
const TRANSPORT_HEADERS = new Set([
  'content-type',
  'te',
  'user-agent',
  'content-length',
  'accept-encoding',
]);

function quoted(value: unknown): string {
  return typeof value === 'string'
    ? `${JSON.stringify(value)} (string)`
    : value instanceof Uint8Array
      ? `${value.length} bytes`
      : `${String(value)} (${typeof value})`;
}

/**
 * A metadata entry a handler gives, checked as gRPC defines metadata (PROTOCOL-HTTP2.md:
 * keys of `0-9 a-z _ - .`, ASCII values printable, `-bin` values bytes), so that both
 * servers refuse the same entries with the same message. Returns bytes as a Buffer.
 */
export function checkMetadata(what: string, key: unknown, value: unknown): string | Buffer {
  if (typeof key !== 'string' || !/^[0-9a-z_.-]+$/.test(key)) {
    throw new TypeError(
      `${what}: expected a metadata key of lower-case letters, digits, "-", "_" and ".", got ${quoted(key)}`,
    );
  }
  if (key.startsWith('grpc-') || TRANSPORT_HEADERS.has(key))
    throw new TypeError(`${what}: ${JSON.stringify(key)} is set by gRPC itself, not by handlers`);
  if (key.endsWith('-bin')) {
    if (!(value instanceof Uint8Array))
      throw new TypeError(
        `${what}: a -bin key takes bytes (a Buffer or Uint8Array), got ${quoted(value)}`,
      );
    return Buffer.isBuffer(value)
      ? value
      : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
  if (typeof value !== 'string' || !/^[\x20-\x7e]*$/.test(value)) {
    throw new TypeError(
      `${what}: expected printable ASCII for ${JSON.stringify(key)} (or a key ending in -bin, for bytes), got ${quoted(value)}`,
    );
  }
  return value;
}

/** Where a handler's answer goes: each streamed response, then the call's end. */
export interface CallSink {
  /** Sends one response of a streaming method; resolves when the peer can take more. */
  send(value: unknown): Promise<void>;
  /** Ends the call: a status, or OK with the one response of a unary or client-streaming method. Once. */
  done(err: CallStatus | null, value?: unknown): void;
}

/** One method of a service with its handler bound: a server registers `run` under `path`. */
export interface BoundMethod {
  /** The method's key in the generated service (`getUser`). */
  key: string;
  path: string;
  method: MethodDef;
  /** Runs the handler on `input`: the request, or for a client or bidi stream, the requests. */
  run(input: unknown, call: CallSource, sink: CallSink): void;
}

/**
 * Binds handlers to a service's methods, the one way both sides serve handlers (the
 * driver on its own server, the host's broker on grpc-js).
 */
export function bindHandlers(
  service: ServiceDef,
  handlers: Record<string, ((req: any, ctx: any) => unknown) | undefined>,
  log: DriverLogger,
  broker: BrokerOf,
): BoundMethod[] {
  return Object.entries(service.methods).map(([key, method]) => {
    const path = methodPath(service, method);
    const handler = handlers[key];
    return {
      key,
      path,
      method,
      run: (input, call, sink) =>
        invokeHandler(handler, method.responseStream, input, call, path, log, broker, sink),
    };
  });
}

/**
 * Runs one handler: builds its CallContext lazily, and answers with its value or its
 * status. A handler that throws RpcError answers with that status; anything else becomes
 * UNKNOWN with a generic message and its stack goes to the driver's log, so internals never
 * leak to the host.
 */
function invokeHandler(
  handler: ((req: any, ctx: CallContext) => unknown) | undefined,
  streams: boolean,
  input: unknown,
  call: CallSource,
  path: string,
  log: DriverLogger,
  broker: BrokerOf,
  untraced: CallSink,
): void {
  if (!handler) {
    untraced.done({
      code: Status.UNIMPLEMENTED,
      details: `method ${path} is not implemented by this driver`,
    });
    return;
  }
  let controller: AbortController | undefined;
  let metadata: Record<string, string> | undefined;
  let requestContext: RequestContext | undefined;
  let callLog: DriverLogger | undefined;
  const span = serverSpan(path, () => (metadata ??= call.metadata()));
  const sink: CallSink = span
    ? {
        send: (value) => untraced.send(value),
        done: (err, value) => {
          // A stream the caller cancelled ends its loop quietly: its span says so.
          span.end(err ? err.code : call.cancelled ? Status.CANCELLED : Status.OK);
          untraced.done(err, value);
        },
      }
    : untraced;
  // All are built on first use: most handlers read none, and this is the hot path.
  const context: CallContext = {
    get signal() {
      if (!controller) {
        const c = (controller = new AbortController());
        if (call.cancelled) c.abort();
        else call.onCancel(() => c.abort());
      }
      return controller.signal;
    },
    get metadata() {
      return (metadata ??= call.metadata());
    },
    get context() {
      return (requestContext ??= contextFromMetadata(this.metadata));
    },
    get log() {
      if (!callLog) {
        const { requestId, fields } = this.context;
        callLog =
          requestId || fields || span
            ? log.with({
                ...fields,
                ...(requestId ? { request_id: requestId } : {}),
                ...(span ? { trace_id: span.traceId, span_id: span.spanId } : {}),
              })
            : log;
      }
      return callLog;
    },
    method: path,
    get broker() {
      return typeof broker === 'function' ? broker(call) : broker;
    },
    setHeader(key, value) {
      const checked = checkMetadata('ctx.setHeader', key, value);
      if (!call.setHeader(key, checked))
        throw new Error(
          `ctx.setHeader(${JSON.stringify(key)}): the response headers of ${path} have gone out (with the first response); set headers before it`,
        );
    },
    setTrailer(key, value) {
      call.setTrailer(key, checkMetadata('ctx.setTrailer', key, value));
    },
  };
  let result: unknown;
  try {
    // The handler and what it calls (a broker dial, a call to another driver) are children of the span.
    result = withSpan(span, () => handler(input, context));
  } catch (err) {
    sink.done(failure(err, path, context.log));
    return;
  }
  if (streams)
    void withSpan(span, () => drain(result, call, sink)).then(
      () => sink.done(null),
      (err) => sink.done(failure(err, path, context.log)),
    );
  else if (result instanceof Promise)
    result.then(
      (value) => sink.done(null, value),
      (err) => sink.done(failure(err, path, context.log)),
    );
  else sink.done(null, result);
}

/**
 * Sends what a streaming handler yields, one response at a time, each after the peer took
 * the last (so a slow reader slows the generator). A cancelled call stops the loop, which
 * ends the generator (its `finally` runs).
 */
async function drain(responses: unknown, call: CallSource, sink: CallSink): Promise<void> {
  const iterable = responses as AsyncIterable<unknown> | Iterable<unknown> | null | undefined;
  if (
    iterable == null ||
    (typeof (iterable as AsyncIterable<unknown>)[Symbol.asyncIterator] !== 'function' &&
      typeof (iterable as Iterable<unknown>)[Symbol.iterator] !== 'function')
  ) {
    throw new TypeError(
      'a streaming handler must return an iterable of responses (an async generator, say)',
    );
  }
  for await (const value of iterable) {
    if (call.cancelled) return;
    await sink.send(value);
    if (call.cancelled) return;
  }
}

function failure(err: unknown, path: string, log: DriverLogger): CallStatus {
  const status = statusOf(err);
  if (status) return status;
  log.error('handler failed', {
    method: path,
    error: err instanceof Error ? (err.stack ?? err.message) : String(err),
  });
  return {
    code: Status.UNKNOWN,
    details: `internal error in the driver while handling ${path} (see the driver's log)`,
  };
}
