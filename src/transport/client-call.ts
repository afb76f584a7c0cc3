// One call on one HTTP/2 stream, of any of gRPC's four kinds (grpc-go's ClientStream): a
// unary call is a stream of one request and one response. Status, trailers, frame errors
// and message counting live here alone, so a response of two messages, or one that ends in
// the middle of a message, is INTERNAL whatever the kind. Flow control as on the server
// side: requests are written as the connection takes them, responses are read as the
// caller iterates (at most 16 wait unread before the stream is paused).
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
import { callError, httpError, resetError, statusOf } from './call-status.js';
import { RequestQueue } from './request-queue.js';
import { ResponseStream } from './response-stream.js';

/** Where a call runs: its peer (for messages) and connection. */
export interface CallSite {
  where: string;
  session: ClientHttp2Session;
  /** Whether the connection's socket (and TLS) connected: a call failing before reached nobody. */
  connected(): boolean;
  /** Calls open on the connection, kept by runCall: the stall watch must not queue behind them. */
  calls: { open: number };
}

/**
 * Runs `call` on a new stream of the site's connection. Resolves with the response (unary,
 * client-streaming) or at once with a ResponseStream (server-streaming, bidi) that throws
 * the call's failure and resets the stream the moment it is left. `body` is a unary or
 * server-streaming call's request, framed already.
 */
export function runCall(
  site: CallSite,
  headers: Record<string, string>,
  call: Call,
  body?: Buffer,
): Promise<unknown> {
  const { where, session } = site;
  // Node's close(code) half-closes a stream still sending before it resets it, so the peer
  // would read the requests as complete (grpc-go's Recv gives io.EOF) and only then hear of
  // the cancel. Aborting the request's signal resets it at once, without the half-close.
  const aborter = call.requestStream ? new AbortController() : undefined;
  const stream = session.request(headers, aborter && { signal: aborter.signal });
  site.calls.open++;
  const { signal, onMetadata } = call.options;
  let resolveReply: (value: unknown) => void = noop;
  let rejectReply: (err: CallError) => void = noop;
  const reply = call.responseStream
    ? undefined
    : new Promise<unknown>((resolve, reject) => {
        resolveReply = resolve;
        rejectReply = reject;
      });
  const responses = call.responseStream
    ? new RequestQueue<unknown>(
        () => stream.pause(),
        () => stream.resume(),
      )
    : undefined;
  let message: Buffer | undefined;
  let count = 0;
  let status: CallError | null | undefined;
  let finished = false;

  /** The call is over: with `err`, or with what came (the one response, or the stream's end). */
  const finish = (err: CallError | null) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    if (responses) return err ? responses.endWith(err) : responses.end();
    if (err) return rejectReply(err);
    if (count !== 1)
      return rejectReply(
        callError(Status.INTERNAL, `the response from ${where} carried no message`),
      );
    try {
      resolveReply(call.deserialize(message!));
    } catch (e) {
      rejectReply(callError(Status.INTERNAL, `cannot decode the response: ${errorText(e)}`));
    }
  };
  /** Ends the call here and resets the stream; responses not yet read are dropped. */
  const cancel = (err: CallError) => {
    if (finished) return;
    responses?.fail(err);
    finish(err);
    if (aborter) aborter.abort();
    else stream.close(constants.NGHTTP2_CANCEL);
  };
  /** The call failed without an answer: was it ever seen by the peer? */
  const unseen = (err: CallError, cause?: Error): CallError => {
    const refused =
      (cause as { code?: string } | undefined)?.code === 'ERR_HTTP2_GOAWAY_SESSION' ||
      stream.rstCode === constants.NGHTTP2_REFUSED_STREAM;
    if (status === undefined && (!site.connected() || refused)) err.unprocessed = true;
    return err;
  };
  const onAbort = () => cancel(cancelledError(signal!));
  signal?.addEventListener('abort', onAbort, { once: true });
  const deadline = callDeadline(call.options);
  const timer =
    deadline !== undefined && deadline - Date.now() <= MAX_TIMER_MS
      ? setTimeout(
          () => cancel(callError(Status.DEADLINE_EXCEEDED, 'deadline exceeded')),
          deadline - Date.now(),
        )
      : undefined;

  const reader = new FrameReader(
    MAX_MESSAGE_BYTES,
    (bytes) => {
      // Bytes already read when the call ended (a caller that left, say) are not decoded.
      if (finished) return;
      count++;
      if (!responses) {
        if (count > 1)
          cancel(callError(Status.INTERNAL, `${call.path}: expected one response, got two`));
        else message = bytes;
        return;
      }
      try {
        responses.push(call.deserialize(bytes));
      } catch (err) {
        cancel(callError(Status.INTERNAL, `cannot decode a response: ${errorText(err)}`));
      }
    },
    (err) =>
      cancel(
        callError(
          err.kind === 'too-large' ? Status.RESOURCE_EXHAUSTED : Status.INTERNAL,
          err.kind === 'too-large'
            ? `response of ${err.size} bytes is larger than the ${MAX_MESSAGE_BYTES}-byte limit`
            : 'compressed response without grpc-encoding',
        ),
      ),
  );
  stream.on('response', (h) => {
    status = statusOf(h);
    if (status === undefined && h[':status'] !== 200)
      status = httpError(Number(h[':status']), call.path);
    onMetadata?.(status === undefined ? 'headers' : 'trailers', responseMetadata(h));
  });
  stream.on('trailers', (h) => {
    status = statusOf(h);
    onMetadata?.('trailers', responseMetadata(h));
  });
  stream.on('data', (chunk: Buffer) => reader.push(chunk));
  /** The status the peer ended with; OK only if no message was cut short. */
  const ended = (): CallError | null =>
    status === null && reader.partial
      ? callError(Status.INTERNAL, `the response from ${where} ended in the middle of a message`)
      : status!;
  // Every response has been read: the call is over, whether or not our requests are. A
  // server may answer early (client-streaming SendAndClose, grpc-go refusing a message over
  // its limit) and stop reading, and the stream would never close on its own.
  stream.once('end', () => {
    if (status === undefined) return;
    finish(ended());
    // Our END_STREAM sent (nghttp2's localClose, not only our writes finished: it holds an
    // empty END_STREAM while the window is 0), the stream closes on its own: a reset would be
    // a frame per call for nothing, which servers count against rapid resets. Still sending
    // (an early answer): RST_STREAM(NO_ERROR), as grpc-go sends; destroyed even when the
    // peer reset it first (closed): its pending writes would never drain, and the requests'
    // producer would wait on them for ever.
    if (!stream.destroyed && !stream.state?.localClose) stream.destroy();
  });
  stream.on('error', (err: Error) =>
    cancel(
      unseen(
        resetError(stream, where, session) ??
          callError(Status.UNAVAILABLE, `${where}: ${err.message}`),
        err,
      ),
    ),
  );
  stream.on('close', () => {
    site.calls.open--;
    finish(
      status !== undefined
        ? ended()
        : unseen(
            resetError(stream, where, session) ??
              callError(
                Status.UNAVAILABLE,
                `the connection to ${where} closed before the call ended`,
              ),
          ),
    );
  });
  if (body) stream.end(body);
  else void writeRequests(stream, call, () => finished).catch((err) => cancel(requestsFailed(err)));
  if (reply) return reply;
  return Promise.resolve(
    new ResponseStream(responses!, () =>
      cancel(callError(Status.CANCELLED, 'the caller stopped reading')),
    ),
  );
}

/** The requests as the stream takes them; rejects when one cannot be encoded or the iterable throws. */
async function writeRequests(
  stream: ClientHttp2Stream,
  call: Call,
  finished: () => boolean,
): Promise<void> {
  for await (const request of call.request as AsyncIterable<unknown> | Iterable<unknown>) {
    // A stream already closed never drains nor closes again: stop here, not wait forever.
    const gone = () => finished() || stream.closed || stream.destroyed || stream.writableEnded;
    if (gone()) return;
    let frame: Buffer;
    try {
      frame = frameMessage(call.serialize(request));
    } catch (cause) {
      throw { encoding: true, cause };
    }
    if (!stream.write(frame)) {
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

/**
 * The caller's requests threw (the caller gave up on them): the call is CANCELLED with
 * their error; a request that cannot be encoded is INTERNAL.
 */
function requestsFailed(err: unknown): CallError {
  return (err as { encoding?: boolean } | null)?.encoding
    ? callError(
        Status.INTERNAL,
        `cannot encode a request: ${errorText((err as { cause: unknown }).cause)}`,
      )
    : callError(Status.CANCELLED, `the requests failed: ${errorText(err)}`);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function noop(): void {}
