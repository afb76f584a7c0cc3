// The one way to build a client: a transport's `invoke` wrapped in steps (deadlines, waiting
// through a restart, error mapping), as nice-grpc's middleware and connect's interceptors
// do. The host's channel, the driver's lean client, the broker, the supervisor and the
// gateway all build theirs here.
import { codec, methodPath, type ServiceDef } from '../contracts/contract.js';
import type { CallOptions, ErrorMapper, PromiseClient } from './call.js';

/** One call on its way to a transport, of any of gRPC's four kinds: what each step sees and may replace. */
export interface Call {
  /** The gRPC method path, `/package.Service/Method`. */
  readonly path: string;
  /** The request; for a client-streaming or bidi method, an iterable or async iterable of requests. */
  readonly request: unknown;
  readonly serialize: (value: unknown) => Buffer;
  readonly deserialize: (bytes: Buffer) => unknown;
  readonly options: CallOptions;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
}

/**
 * Sends a call. Resolves with the decoded response, or for a server-streaming or bidi
 * method with an AsyncIterable of responses (which throws the call's failure and cancels
 * the call when left early). A transport rejects (or throws) CallErrors.
 */
export type Invoke = (call: Call) => Promise<unknown>;

/** A step around every call of a client: it receives the next step and returns its own. */
export type Interceptor = (next: Invoke) => Invoke;

/**
 * A typed client of `service` whose calls go through `steps` (the first is outermost) and
 * then `invoke`. Codecs are prepared once, not per call. A streaming method's responses
 * are an AsyncIterable; the call starts when it is first read.
 */
export function createClient<S extends ServiceDef>(
  service: S,
  invoke: Invoke,
  ...steps: Interceptor[]
): PromiseClient<S> {
  const run = steps.reduceRight<Invoke>((next, step) => step(next), invoke);
  const out: Record<string, unknown> = {};
  for (const [key, method] of Object.entries(service.methods)) {
    const path = methodPath(service, method);
    const { serialize } = codec(method.requestType);
    const { deserialize } = codec(method.responseType);
    const { requestStream, responseStream } = method;
    out[key] = (request: unknown, options: CallOptions = {}) => {
      const call = {
        path,
        request,
        serialize,
        deserialize,
        options,
        requestStream,
        responseStream,
      };
      return responseStream ? lazyResponses(() => run(call)) : run(call);
    };
  }
  return out as PromiseClient<S>;
}

/**
 * The responses of a call that starts on the first read. Leaving (return or throw) settles
 * a read still waiting for the call to start with done, and cancels the call at once, or
 * as soon as it has started.
 */
export function lazyResponses(start: () => Promise<unknown>): AsyncIterable<unknown> {
  return { [Symbol.asyncIterator]: () => new LazyResponses(start) };
}

const DONE: IteratorResult<unknown> = { done: true, value: undefined };

class LazyResponses implements AsyncIterator<unknown> {
  #start: (() => Promise<unknown>) | undefined;
  /** The call's responses, once it has started. */
  #it: AsyncIterator<unknown> | undefined;
  #starting: Promise<AsyncIterator<unknown>> | undefined;
  #left = false;
  /** Reads waiting for the call to start, settled with done if the caller leaves first. */
  #waiting = new Set<(r: IteratorResult<unknown>) => void>();

  constructor(start: () => Promise<unknown>) {
    this.#start = start;
  }

  next(): Promise<IteratorResult<unknown>> {
    if (this.#it) return this.#it.next();
    if (this.#left) return Promise.resolve(DONE);
    this.#starting ??= this.#begin();
    return new Promise((resolve, reject) => {
      this.#waiting.add(resolve);
      this.#starting!.then(
        (it) => {
          if (!this.#waiting.delete(resolve)) return;
          it.next().then(resolve, reject);
        },
        (err: unknown) => this.#waiting.delete(resolve) && reject(err),
      );
    });
  }

  return(value?: unknown): Promise<IteratorResult<unknown>> {
    this.#leave();
    return Promise.resolve({ done: true, value });
  }

  throw(err?: unknown): Promise<IteratorResult<unknown>> {
    this.#leave();
    return Promise.reject(err);
  }

  async #begin(): Promise<AsyncIterator<unknown>> {
    const start = this.#start!;
    this.#start = undefined;
    const it = ((await start()) as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    if (this.#left) void Promise.resolve(it.return?.()).catch(() => {});
    else this.#it = it;
    return it;
  }

  #leave(): void {
    if (this.#left) return;
    this.#left = true;
    for (const resolve of this.#waiting) resolve(DONE);
    this.#waiting.clear();
    const it = this.#it;
    if (it) void Promise.resolve(it.return?.()).catch(() => {});
  }
}

/**
 * Fixes the call's deadline before anything else runs, so time spent waiting (for a
 * restart, say) counts against it; a call with neither `timeout` nor `deadline` gets
 * `defaultMs` (config `call_timeout`) when one is set, or what it returns for the call.
 * For a stream, the deadline covers the whole stream.
 */
export function deadlineStep(
  defaultMs?: number | ((call: Call) => number | undefined),
): Interceptor {
  const fallback = typeof defaultMs === 'function' ? defaultMs : () => defaultMs;
  return (next) => (call) => {
    const options = fixDeadline(call.options, () => fallback(call));
    return next(options === call.options ? call : { ...call, options });
  };
}

/**
 * The options with the call's deadline made absolute now: its `deadline`, else `timeout`,
 * else `defaultMs()`; unchanged when there is none or it is absolute already.
 */
export function fixDeadline(
  options: CallOptions,
  defaultMs: () => number | undefined,
): CallOptions {
  if (options.deadline) return options;
  const ms = options.timeout ?? defaultMs();
  return ms === undefined
    ? options
    : { ...options, timeout: undefined, deadline: new Date(Date.now() + ms) };
}

/** Turns a transport's CallError into the caller's error (the driver's error family), for streamed responses too. */
export function errorStep(map: ErrorMapper): Interceptor {
  return (next) => async (call) => {
    let out: unknown;
    try {
      out = await next(call);
    } catch (err) {
      throw await map(err as Parameters<ErrorMapper>[0], call.path);
    }
    return call.responseStream
      ? mapErrors(out as AsyncIterable<unknown>, (err) => map(err, call.path))
      : out;
  };
}

/** The responses with each failure mapped; leaving is passed on at once. */
function mapErrors(
  responses: AsyncIterable<unknown>,
  map: (err: any) => Error | Promise<Error>,
): AsyncIterable<unknown> {
  const inner = responses[Symbol.asyncIterator]();
  const rethrow = async (err: unknown) => {
    throw await map(err);
  };
  const it: AsyncIterableIterator<unknown> = {
    next: () => inner.next().then(undefined, rethrow),
    return: (value?: unknown) => inner.return?.(value) ?? Promise.resolve({ done: true, value }),
    throw: (err?: unknown) => (void inner.return?.(), Promise.reject(err)),
    [Symbol.asyncIterator]: () => it,
  };
  return it;
}
