// Streaming calls of the driver's lean client (client-streaming, server-streaming, bidi),
// over a stream of the same HTTP/2 connection as its unary calls. Flow control as on the
// server side: requests are written as the connection takes them, responses are read as
// the caller iterates (at most 16 wait unread before the stream is paused).
import { type ClientHttp2Session, type ClientHttp2Stream, constants } from 'node:http2';
import { type CallError, callDeadline, cancelledError } from '../rpc/call.js';
import type { Call } from '../rpc/client.js';
import {
  FrameReader,
  frameMessage,
  MAX_TIMER_MS,
  responseMetadata,
} from '../protocol/grpc-wire.js';
import { MAX_MESSAGE_BYTES } from '../protocol/limits.js';
import { Status } from '../status.js';
import { RequestQueue } from './request-queue.js';

/** How the unary client reads a status and makes errors, shared with streams. */
export interface StreamParts {
  statusOf(headers: Record<string, unknown>): CallError | null | undefined;
  httpError(http: number, path: string): CallError;
  resetError(
    stream: ClientHttp2Stream,
    where: string,
    session: ClientHttp2Session,
  ): CallError | undefined;
  callError(code: number, details: string, fromPeer?: boolean): CallError;
  where: string;
}

/**
 * Runs a streaming call on `stream`: resolves with the response (client-streaming) or with
 * an AsyncIterable of responses (server-streaming, bidi) that throws the call's failure
 * and cancels the call when left early.
 */
export function streamCall(
  session: ClientHttp2Session,
  stream: ClientHttp2Stream,
  call: Call,
  parts: StreamParts,
): Promise<unknown> {
  const { signal } = call.options;
  const responses = new RequestQueue<unknown>(
    () => stream.pause(),
    () => stream.resume(),
  );
  let status: CallError | null | undefined;
  let finished = false;
  const cancel = (err: CallError) => {
    if (finished) return;
    finished = true;
    responses.fail(err);
    stream.close(constants.NGHTTP2_CANCEL);
  };
  const onAbort = () => cancel(cancelledError(signal!));
  signal?.addEventListener('abort', onAbort, { once: true });
  const deadline = callDeadline(call.options);
  const timer =
    deadline !== undefined && deadline - Date.now() <= MAX_TIMER_MS
      ? setTimeout(
          () => cancel(parts.callError(Status.DEADLINE_EXCEEDED, 'deadline exceeded')),
          deadline - Date.now(),
        )
      : undefined;
  const reader = new FrameReader(
    MAX_MESSAGE_BYTES,
    (message) => {
      try {
        responses.push(call.deserialize(message));
      } catch (err) {
        cancel(
          parts.callError(
            Status.INTERNAL,
            `cannot decode a response: ${err instanceof Error ? err.message : String(err)}`,
          ),
        );
      }
    },
    (err) =>
      cancel(
        parts.callError(
          err.kind === 'too-large' ? Status.RESOURCE_EXHAUSTED : Status.INTERNAL,
          err.kind === 'too-large'
            ? `response of ${err.size} bytes is larger than the ${MAX_MESSAGE_BYTES}-byte limit`
            : 'compressed response without grpc-encoding',
        ),
      ),
  );
  const { onMetadata } = call.options;
  stream.on('response', (h) => {
    status = parts.statusOf(h);
    if (status === undefined && h[':status'] !== 200)
      status = parts.httpError(Number(h[':status']), call.path);
    onMetadata?.(status === undefined ? 'headers' : 'trailers', responseMetadata(h));
  });
  stream.on('trailers', (h) => {
    status = parts.statusOf(h);
    onMetadata?.('trailers', responseMetadata(h));
  });
  stream.on('data', (chunk: Buffer) => reader.push(chunk));
  // Every response has been read: the call is over, whether or not our requests are. An
  // early answer (client-streaming SendAndClose) stops the writing and frees the stream,
  // and a status comes after the responses before it, as in grpc-js.
  stream.once('end', () => {
    if (finished || status === undefined) return;
    finished = true;
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    if (status === null) responses.end();
    else responses.endWith(status);
    // RST_STREAM(NO_ERROR), as grpc-go sends after an early answer; destroyed, not only
    // closed: a stream the peer reset first stays open for writes that never drain.
    stream.destroy();
  });
  stream.on('error', (err: Error) =>
    cancel(
      parts.resetError(stream, parts.where, session) ??
        parts.callError(Status.UNAVAILABLE, `${parts.where}: ${err.message}`),
    ),
  );
  stream.on('close', () => {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    if (finished) return;
    finished = true;
    if (status === null) responses.end();
    else
      responses.endWith(
        status ??
          parts.resetError(stream, parts.where, session) ??
          parts.callError(
            Status.UNAVAILABLE,
            `the connection to ${parts.where} closed before the call ended`,
          ),
      );
  });
  void writeRequests(stream, call, () => finished).catch((err) =>
    cancel(
      parts.callError(
        Status.INTERNAL,
        `cannot encode a request: ${err instanceof Error ? err.message : String(err)}`,
      ),
    ),
  );
  if (!call.responseStream) {
    return (async () => {
      let reply: unknown;
      let count = 0;
      for await (const r of responses) (reply = r), count++;
      if (count !== 1)
        throw parts.callError(Status.INTERNAL, `${call.path}: expected one response, got ${count}`);
      return reply;
    })();
  }
  return Promise.resolve(
    (async function* () {
      try {
        yield* responses;
      } finally {
        cancel(parts.callError(Status.CANCELLED, 'the caller stopped reading'));
      }
    })(),
  );
}

/** The request, or the requests as the stream takes them; rejects when one cannot be encoded or the iterable throws. */
async function writeRequests(
  stream: ClientHttp2Stream,
  call: Call,
  finished: () => boolean,
): Promise<void> {
  if (!call.requestStream) return void stream.end(frameMessage(call.serialize(call.request)));
  for await (const request of call.request as AsyncIterable<unknown> | Iterable<unknown>) {
    // A stream already closed never drains nor closes again: stop here, not wait forever.
    const gone = () => finished() || stream.closed || stream.destroyed || stream.writableEnded;
    if (gone()) return;
    if (!stream.write(frameMessage(call.serialize(request)))) {
      if (gone()) return;
      await new Promise<void>((resolve) => {
        const go = () => (stream.off('drain', go), stream.off('close', go), resolve());
        stream.once('drain', go);
        stream.once('close', go);
      });
    }
  }
  if (!finished()) stream.end();
}
