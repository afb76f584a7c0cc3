// What a typed call takes and how its options go on the wire, the same for the host's
// grpc-js client and the driver's own (brokered dials).
import { randomUUID } from 'node:crypto';
import { contextToMetadata, type RequestContext } from '../protocol/context.js';
import type { DeepPartial, RequestOf, ResponseOf, ServiceDef } from '../contracts/contract.js';

/** Per-call options of a typed client. */
export interface CallOptions {
  /** Milliseconds the call may take; becomes the gRPC deadline. Default: none. */
  timeout?: number;
  /** An absolute gRPC deadline; wins over `timeout`. */
  deadline?: Date;
  /**
   * Aborting cancels the call in the driver too (it sees CANCELLED, its `ctx.signal` fires).
   * For a call whose requests stream (client-streaming, bidi) over grpc-js, the driver may
   * first see the requests end, then the cancel: grpc-js half-closes before it resets
   * (grpc/grpc-node#2583), so a handler can finish before it hears of the abort.
   */
  signal?: AbortSignal;
  /** gRPC metadata sent with the call; Buffer values for keys that end in `-bin`. */
  metadata?: Record<string, string | Buffer>;
  /** Request id, user, token and log fields for the driver's handler; a request id is made up if missing. */
  context?: RequestContext;
  /**
   * Hears the response's headers (before its first message) and trailers (with its status,
   * OK or not) as metadata, `-bin` values in base64: what a relay such as the gateway passes
   * on. Default: none.
   */
  onMetadata?: (block: 'headers' | 'trailers', metadata: Record<string, string>) => void;
}

/** Requests of a client-streaming or bidi call: any iterable, or an async generator that produces them as it goes. */
export type Requests<T> = AsyncIterable<T> | Iterable<T>;

/**
 * The client function of one method, by its kind: unary `(request) => Promise<response>`;
 * server-streaming `(request) => AsyncIterable<response>`; client-streaming
 * `(requests) => Promise<response>`; bidi `(requests) => AsyncIterable<response>`.
 */
export type ClientMethod<M> = M extends { requestStream: true }
  ? M extends { responseStream: true }
    ? (
        requests: Requests<DeepPartial<RequestOf<M>>>,
        options?: CallOptions,
      ) => AsyncIterable<ResponseOf<M>>
    : (
        requests: Requests<DeepPartial<RequestOf<M>>>,
        options?: CallOptions,
      ) => Promise<ResponseOf<M>>
  : M extends { responseStream: true }
    ? (request: DeepPartial<RequestOf<M>>, options?: CallOptions) => AsyncIterable<ResponseOf<M>>
    : (request: DeepPartial<RequestOf<M>>, options?: CallOptions) => Promise<ResponseOf<M>>;

/** A typed client of one service: one function per RPC, promise-based or streaming by its kind. */
export type PromiseClient<S extends ServiceDef> = {
  [K in keyof S['methods']]: ClientMethod<S['methods'][K]>;
};

/** A failed call as grpc-js reports it (its ServiceError); the driver's own client reports the same shape. */
export interface CallError extends Error {
  code: number;
  details: string;
  /**
   * True when the status came from the peer (it sent headers or trailers); false when the
   * transport made it up (the connection broke, the deadline passed, the caller cancelled).
   */
  fromPeer?: boolean;
  /**
   * True when the peer cannot have seen the call: its connection was never made, or the
   * stream was refused (GOAWAY, REFUSED_STREAM) before a handler ran. Safe to send elsewhere.
   */
  unprocessed?: boolean;
}

/**
 * Turns a failed call into the caller's error (the driver's error family); may take a
 * moment (a promise) to learn why, e.g. the exit status of a driver that just died.
 */
export type ErrorMapper = (err: CallError, method: string) => Error | Promise<Error>;

/** The metadata a call sends: the caller's, then its request context. Undefined when there is none. */
export function callMetadata(options: CallOptions): Record<string, string | Buffer> | undefined {
  if (!options.metadata && !options.context) return undefined;
  const out: Record<string, string | Buffer> = { ...options.metadata };
  if (options.context) {
    const ctx = options.context.requestId
      ? options.context
      : { ...options.context, requestId: randomUUID() };
    Object.assign(out, contextToMetadata(ctx));
  }
  return out;
}

/** The call's deadline in epoch milliseconds, or undefined for none. */
export function callDeadline(options: CallOptions): number | undefined {
  return (
    options.deadline?.getTime() ??
    (options.timeout === undefined ? undefined : Date.now() + options.timeout)
  );
}

/** The error of a call whose signal was aborted before or while it ran. */
export function cancelledError(signal: AbortSignal): CallError {
  const details = signal.reason instanceof Error ? signal.reason.message : 'aborted by the caller';
  return Object.assign(new Error(`1 CANCELLED: ${details}`), { code: 1, details, fromPeer: false });
}
