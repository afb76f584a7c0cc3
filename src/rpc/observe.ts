// When a call ends and with what status, for steps that measure calls (metrics, traces):
// a unary call when its promise settles, a streamed one when its responses end, fail or
// are left early by the caller.
import { DriverkitError, RpcError } from '../errors.js';
import { Status } from '../status.js';
import type { Call, Invoke } from './client.js';

/** The gRPC status a failed call counts as: its own, UNAVAILABLE for a driver that could not take it, else UNKNOWN. */
export function statusCodeOf(err: unknown): number {
  if (err instanceof RpcError) return err.status;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'number') return code;
  // DRIVER_NOT_READY, DRIVER_CLOSED, DRIVER_FAILED, CONNECT_FAILED: nobody answered.
  return err instanceof DriverkitError ? Status.UNAVAILABLE : Status.UNKNOWN;
}

/**
 * Sends `call` through `next` and calls `done` once with its status code when it ends;
 * a response stream is wrapped so that its end, failure or early return is seen.
 * `onStream` hears that a call's responses started streaming.
 */
export function observeCall(
  next: Invoke,
  call: Call,
  done: (code: number) => void,
  onStream?: () => void,
): Promise<unknown> {
  let sent: Promise<unknown>;
  try {
    sent = next(call);
  } catch (err) {
    sent = Promise.reject(err);
  }
  const failed = (err: unknown) => {
    done(statusCodeOf(err));
    throw err;
  };
  if (!call.responseStream)
    return sent.then((reply) => {
      done(Status.OK);
      return reply;
    }, failed);
  return sent.then((responses) => {
    onStream?.();
    return watched(responses as AsyncIterable<unknown>, done);
  }, failed);
}

/**
 * The responses, calling `done` once: when they end (OK), fail (their code), or the caller
 * returns early (CANCELLED), also before its first read, which a generator would not see.
 */
function watched(
  responses: AsyncIterable<unknown>,
  done: (code: number) => void,
): AsyncIterable<unknown> {
  let ended = false;
  const end = (code: number) => {
    if (ended) return;
    ended = true;
    done(code);
  };
  const inner = responses[Symbol.asyncIterator]();
  const iterator: AsyncIterator<unknown> = {
    next: async () => {
      try {
        const r = await inner.next();
        if (r.done) end(Status.OK);
        return r;
      } catch (err) {
        end(statusCodeOf(err));
        throw err;
      }
    },
    return: async (value?: unknown) => {
      end(Status.CANCELLED);
      return inner.return ? inner.return(value) : { done: true, value };
    },
  };
  return { [Symbol.asyncIterator]: () => iterator };
}
