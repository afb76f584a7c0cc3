// How the client reads a call's end: the status a peer sent (grpc-status, an HTTP status, a
// stream reset) or the one the transport makes up, as one CallError shape.
import { type ClientHttp2Session, constants, type Http2Stream } from 'node:http2';
import type { CallError } from '../rpc/call.js';
import { decodeGrpcMessage, httpStatusCode, resetStatusCode } from '../protocol/grpc-wire.js';
import { MAX_MESSAGE_BYTES } from '../protocol/limits.js';
import { Status, statusName } from '../status.js';

/** A failed call: `fromPeer` when the status came from the peer, not from the transport. */
export function callError(code: number, details: string, fromPeer = false): CallError {
  return Object.assign(new Error(`${code} ${statusName(code)}: ${details}`), {
    code,
    details,
    fromPeer,
  });
}

/** A message past the 16 MiB limit, refused before it goes out (or as it comes in). */
export function tooLarge(what: 'request' | 'response', size: number): CallError {
  return callError(
    Status.RESOURCE_EXHAUSTED,
    `${what} of ${size} bytes is larger than the ${MAX_MESSAGE_BYTES}-byte limit`,
  );
}

/** The error with the caller's stack below its own message, as grpc-js gives it. */
export function withCaller(err: CallError, caller: Error): CallError {
  const at = caller.stack?.slice(caller.stack.indexOf('\n') + 1);
  if (at) err.stack = `${err.name}: ${err.message}\nfor call at\n${at}`;
  return err;
}

/** A response with an HTTP status other than 200 and no gRPC status (a proxy, not gRPC). */
export function httpError(http: number, path: string): CallError {
  return callError(httpStatusCode(http), `HTTP status ${http} from ${path}`, true);
}

/**
 * The error of a stream the peer reset (RST_STREAM) on a live connection before any status;
 * undefined when it was not reset, or the connection itself went (that is UNAVAILABLE).
 */
export function resetError(
  stream: Http2Stream,
  where: string,
  session: ClientHttp2Session,
): CallError | undefined {
  const code = stream.rstCode;
  if (code === undefined || code === constants.NGHTTP2_NO_ERROR || session.destroyed)
    return undefined;
  return callError(resetStatusCode(code), `${where} reset the stream (HTTP/2 error ${code})`, true);
}

/** The status in a trailers block (or a trailers-only response): null for OK, undefined for none. */
export function statusOf(
  headers: Record<string, string | string[] | number | undefined>,
): CallError | null | undefined {
  const raw = headers['grpc-status'];
  if (raw === undefined) return undefined;
  const code = Number(raw);
  return code === Status.OK
    ? null
    : callError(code, decodeGrpcMessage(String(headers['grpc-message'] ?? '')), true);
}
