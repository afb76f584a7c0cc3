import { type Client, Metadata } from '@grpc/grpc-js';
import { type CallOptions, callDeadline, callMetadata, cancelledError, type ErrorMapper, type PromiseClient } from '../rpc/call.js';
import { type ServiceDef } from '../contracts/contract.js';
import { grpcDefinition } from './grpc-definition.js';

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
          void Promise.resolve(mapError(cancelledError(signal), path)).then(reject);
          return;
        }
        const md = new Metadata();
        const extra = callMetadata(options);
        if (extra) for (const [k, v] of Object.entries(extra)) md.set(k, v);
        const deadline = callDeadline(options);
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
