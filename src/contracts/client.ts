import { randomUUID } from 'node:crypto';
import { type Client, Metadata, type ServiceError } from '@grpc/grpc-js';
import { contextToMetadata, type RequestContext } from '../protocol/context.js';
import { type DeepPartial, grpcDefinition, type RequestOf, type ResponseOf, type ServiceDef } from './contract.js';

/** Per-call options of a typed client. */
export interface CallOptions {
  /** Milliseconds the call may take; becomes the gRPC deadline. Default: none. */
  timeout?: number;
  /** An absolute gRPC deadline; wins over `timeout`. */
  deadline?: Date;
  /** Aborting cancels the call in the driver too (it sees CANCELLED). */
  signal?: AbortSignal;
  /** gRPC metadata sent with the call. */
  metadata?: Record<string, string>;
  /** Request id, user, token and log fields for the driver's handler; a request id is made up if missing. */
  context?: RequestContext;
}

/** A typed, promise-based client of one service: one async method per RPC. */
export type PromiseClient<S extends ServiceDef> = {
  [K in keyof S['methods']]: (
    request: DeepPartial<RequestOf<S['methods'][K]>>,
    options?: CallOptions,
  ) => Promise<ResponseOf<S['methods'][K]>>;
};

/**
 * Turns a grpc-js failure into the caller's error (the driver's error family); may take a
 * moment (a promise) to learn why, e.g. the exit status of a driver that just died.
 */
export type ErrorMapper = (err: ServiceError, method: string) => Error | Promise<Error>;

/**
 * Builds a promise client for `service` over an existing grpc-js client, so every service
 * of one driver shares its one channel. Codecs are prepared once, not per call.
 */
export function createPromiseClient<S extends ServiceDef>(client: Client, service: S, mapError: ErrorMapper): PromiseClient<S> {
  const out: Record<string, unknown> = {};
  for (const [key, def] of Object.entries(grpcDefinition(service))) {
    if (def.requestStream || def.responseStream) continue;
    const { path, requestSerialize, responseDeserialize } = def;
    out[key] = (request: unknown, options: CallOptions = {}) =>
      new Promise((resolve, reject) => {
        const { signal } = options;
        if (signal?.aborted) {
          void Promise.resolve(mapError(cancelled(signal), path)).then(reject);
          return;
        }
        const md = new Metadata();
        if (options.metadata) for (const [k, v] of Object.entries(options.metadata)) md.set(k, v);
        if (options.context) {
          const ctx = options.context.requestId ? options.context : { ...options.context, requestId: randomUUID() };
          for (const [k, v] of Object.entries(contextToMetadata(ctx))) md.set(k, v);
        }
        const deadline = options.deadline ?? (options.timeout === undefined ? undefined : Date.now() + options.timeout);
        const onAbort = () => call.cancel();
        const call = client.makeUnaryRequest(path, requestSerialize, responseDeserialize, request, md, deadline === undefined ? {} : { deadline }, (err, value) => {
          signal?.removeEventListener('abort', onAbort);
          if (err) void Promise.resolve(mapError(err, path)).then(reject);
          else resolve(value);
        });
        signal?.addEventListener('abort', onAbort, { once: true });
      });
  }
  return out as PromiseClient<S>;
}

function cancelled(signal: AbortSignal): ServiceError {
  const reason = signal.reason instanceof Error ? signal.reason.message : 'aborted by the caller';
  return Object.assign(new Error(`1 CANCELLED: ${reason}`), { code: 1, details: reason, metadata: new Metadata() });
}
