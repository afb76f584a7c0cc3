import { type DeepPartial, type MethodDef, methodPath, type RequestOf, type ResponseOf, type ServiceDef } from '../contracts/contract.js';
import { Status } from '../status.js';
import { contextFromMetadata, type RequestContext } from '../protocol/context.js';
import type { LogFields } from '../protocol/hclog.js';
import type { Broker } from './broker.js';

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
}

/** The handlers a driver implements for one service: one async function per method. */
export type Handlers<S extends ServiceDef> = {
  [K in keyof S['methods']]: (
    request: RequestOf<S['methods'][K]>,
    context: CallContext,
  ) => Promise<DeepPartial<ResponseOf<S['methods'][K]>>> | DeepPartial<ResponseOf<S['methods'][K]>>;
};

/** Something thrown that carries a gRPC status: driverkit's RpcError, or one from another copy of it. */
function statusOf(err: unknown): { code: number; details: string } | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { name?: unknown; status?: unknown; details?: unknown };
  if (e.name === 'RpcError' && typeof e.status === 'number' && typeof e.details === 'string') return { code: e.status, details: e.details };
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
}

/** One method of a service with its handler bound: a server registers `run` under `path`. */
export interface BoundMethod {
  /** The method's key in the generated service (`getUser`). */
  key: string;
  path: string;
  method: MethodDef;
  run(request: unknown, call: CallSource, done: (err: CallStatus | null, value?: unknown) => void): void;
}

/**
 * Binds handlers to a service's methods, the one way both sides serve handlers (the
 * driver on its own server, the host's broker on grpc-js). Unary methods only for now, so
 * a service with a streaming one is refused up front.
 */
export function bindHandlers(service: ServiceDef, handlers: Record<string, ((req: any, ctx: any) => unknown) | undefined>, log: DriverLogger, broker: Broker): BoundMethod[] {
  return Object.entries(service.methods).map(([key, method]) => {
    const path = methodPath(service, method);
    if (method.requestStream || method.responseStream) throw new TypeError(`${path}: streaming methods are not supported by the driver SDK yet`);
    const handler = handlers[key];
    return { key, path, method, run: (request, call, done) => invokeHandler(handler, request, call, path, log, broker, done) };
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
  request: unknown,
  call: CallSource,
  path: string,
  log: DriverLogger,
  broker: Broker,
  done: (err: CallStatus | null, value?: unknown) => void,
): void {
  if (!handler) {
    done({ code: Status.UNIMPLEMENTED, details: `method ${path} is not implemented by this driver` });
    return;
  }
  let controller: AbortController | undefined;
  let metadata: Record<string, string> | undefined;
  let requestContext: RequestContext | undefined;
  let callLog: DriverLogger | undefined;
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
        callLog = requestId || fields ? log.with({ ...fields, ...(requestId ? { request_id: requestId } : {}) }) : log;
      }
      return callLog;
    },
    method: path,
    broker,
  };
  let result: unknown;
  try {
    result = handler(request, context);
  } catch (err) {
    done(failure(err, path, context.log));
    return;
  }
  if (result instanceof Promise) result.then((value) => done(null, value), (err) => done(failure(err, path, context.log)));
  else done(null, result);
}

function failure(err: unknown, path: string, log: DriverLogger): CallStatus {
  const status = statusOf(err);
  if (status) return status;
  log.error('handler failed', { method: path, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  return { code: Status.UNKNOWN, details: `internal error in the driver while handling ${path} (see the driver's log)` };
}
