import { type Client, Metadata, type ServiceError } from '@grpc/grpc-js';
import { type CallError, callDeadline, callMetadata, cancelledError } from '../rpc/call.js';
import type { Invoke } from '../rpc/client.js';

/**
 * The host's transport: unary calls over one grpc-js channel. A failed call rejects with
 * grpc-js's error, marked `fromPeer` when the driver sent the status (a trailers-only
 * answer carries its headers as metadata; a longer one sent headers first), so that a
 * driver's own UNAVAILABLE is told apart from a connection that broke.
 */
export function grpcInvoke(channel: Client): Invoke {
  return (call) =>
    new Promise((resolve, reject) => {
      const { signal } = call.options;
      if (signal?.aborted) return reject(cancelledError(signal));
      const md = new Metadata();
      const extra = callMetadata(call.options);
      if (extra) for (const [k, v] of Object.entries(extra)) md.set(k, v);
      const deadline = callDeadline(call.options);
      let headers = false;
      const onAbort = () => pending.cancel();
      const pending = channel.makeUnaryRequest(call.path, call.serialize, call.deserialize, call.request, md, deadline === undefined ? {} : { deadline }, (err: ServiceError | null, value) => {
        signal?.removeEventListener('abort', onAbort);
        if (!err) return resolve(value);
        const fromPeer = headers || Object.keys(err.metadata?.getMap() ?? {}).length > 0;
        reject(Object.assign(err, { fromPeer }) satisfies CallError);
      });
      pending.on('metadata', () => (headers = true));
      signal?.addEventListener('abort', onAbort, { once: true });
    });
}
