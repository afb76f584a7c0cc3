import {
  type Client,
  type ClientReadableStream,
  type ClientWritableStream,
  Metadata,
  type ServiceError,
} from '@grpc/grpc-js';
import { type CallError, callDeadline, callMetadata, cancelledError } from '../../src/rpc/call.js';
import type { Call, Invoke } from '../../src/rpc/client.js';

/**
 * Marks whether the driver sent the status (a trailers-only answer carries its headers as
 * metadata; a longer one sent headers first), so that a driver's own UNAVAILABLE is told
 * apart from a connection that broke.
 */
function fromPeer(err: ServiceError, headers: boolean): CallError {
  return Object.assign(err, {
    fromPeer: headers || Object.keys(err.metadata?.getMap() ?? {}).length > 0,
  });
}

function metadataOf(call: Call): Metadata {
  const md = new Metadata();
  const extra = callMetadata(call.options);
  if (extra) for (const [k, v] of Object.entries(extra)) md.set(k, v);
  return md;
}

/**
 * The host's transport: calls of every kind over one grpc-js channel. Streams keep
 * grpc-js's flow control: responses are read as the caller iterates, requests are written
 * as the channel takes them.
 */
export function grpcInvoke(channel: Client): Invoke {
  return (call) => {
    const { signal } = call.options;
    if (signal?.aborted) return Promise.reject(cancelledError(signal));
    const deadline = callDeadline(call.options);
    const opts = deadline === undefined ? {} : { deadline };
    const md = metadataOf(call);
    let headers = false;
    if (!call.responseStream) {
      return new Promise((resolve, reject) => {
        const onAbort = () => pending.cancel();
        const answer = (err: ServiceError | null, value?: unknown) => {
          signal?.removeEventListener('abort', onAbort);
          if (err) reject(fromPeer(err, headers));
          else resolve(value);
        };
        const pending = call.requestStream
          ? channel.makeClientStreamRequest(
              call.path,
              call.serialize,
              call.deserialize,
              md,
              opts,
              answer,
            )
          : channel.makeUnaryRequest(
              call.path,
              call.serialize,
              call.deserialize,
              call.request,
              md,
              opts,
              answer,
            );
        pending.on('metadata', () => (headers = true));
        signal?.addEventListener('abort', onAbort, { once: true });
        if (call.requestStream)
          void pump(
            call.request as Iterable<unknown> | AsyncIterable<unknown>,
            pending as ClientWritableStream<unknown>,
          );
      });
    }
    const stream = call.requestStream
      ? channel.makeBidiStreamRequest(call.path, call.serialize, call.deserialize, md, opts)
      : channel.makeServerStreamRequest(
          call.path,
          call.serialize,
          call.deserialize,
          call.request,
          md,
          opts,
        );
    stream.on('metadata', () => (headers = true));
    if (call.requestStream)
      void pump(
        call.request as Iterable<unknown> | AsyncIterable<unknown>,
        stream as unknown as ClientWritableStream<unknown>,
      );
    return Promise.resolve(responses(stream, signal, () => headers));
  };
}

/** The responses of a stream as the caller reads them; leaving early or aborting cancels the call. */
async function* responses(
  stream: ClientReadableStream<unknown>,
  signal: AbortSignal | undefined,
  headers: () => boolean,
): AsyncGenerator<unknown> {
  const onAbort = () => stream.cancel();
  signal?.addEventListener('abort', onAbort, { once: true });
  let finished = false;
  try {
    for await (const message of stream) yield message;
    finished = true;
  } catch (err) {
    finished = true;
    throw fromPeer(err as ServiceError, headers());
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (!finished) stream.cancel();
  }
}

/**
 * Writes the caller's requests as the channel takes them, then half-closes. A request
 * iterable that throws cancels the call; a call that ended stops the writing.
 */
async function pump(
  requests: Iterable<unknown> | AsyncIterable<unknown>,
  stream: ClientWritableStream<unknown>,
): Promise<void> {
  let ended = false;
  stream.once('status', () => (ended = true));
  let sinceTurn = 0;
  try {
    for await (const request of requests) {
      if (ended) return;
      // grpc-js takes writes faster than they leave: give I/O (the call's status) a turn now and then.
      if (++sinceTurn >= 16) {
        sinceTurn = 0;
        await new Promise((resolve) => setImmediate(resolve));
        if (ended) return;
      }
      if (!stream.write(request)) {
        await new Promise<void>((resolve) => {
          const go = () => (stream.off('drain', go), stream.off('status', go), resolve());
          stream.once('drain', go);
          stream.once('status', go);
        });
      }
    }
    if (!ended) stream.end();
  } catch {
    stream.cancel();
  }
}
