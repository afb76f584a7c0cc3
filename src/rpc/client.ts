// The one way to build a client: a transport's `invoke` wrapped in steps (deadlines, waiting
// through a restart, error mapping), as nice-grpc's middleware and connect's interceptors
// do. The host's channel, the driver's lean client, the broker, the supervisor and the
// gateway all build theirs here.
import { codec, methodPath, type ServiceDef } from '../contracts/contract.js';
import { callDeadline, type CallOptions, type ErrorMapper, type PromiseClient } from './call.js';

/** One unary call on its way to a transport: what each step sees and may replace. */
export interface UnaryCall {
  /** The gRPC method path, `/package.Service/Method`. */
  readonly path: string;
  readonly request: unknown;
  readonly serialize: (value: unknown) => Buffer;
  readonly deserialize: (bytes: Buffer) => unknown;
  readonly options: CallOptions;
}

/** Sends a call and resolves with its decoded reply. A transport rejects with a CallError. */
export type Invoke = (call: UnaryCall) => Promise<unknown>;

/** A step around every call of a client: it receives the next step and returns its own. */
export type Interceptor = (next: Invoke) => Invoke;

/**
 * A typed, promise-based client of `service` whose calls go through `steps` (the first is
 * outermost) and then `invoke`. Codecs are prepared once, not per call.
 */
export function createClient<S extends ServiceDef>(service: S, invoke: Invoke, ...steps: Interceptor[]): PromiseClient<S> {
  const run = steps.reduceRight<Invoke>((next, step) => step(next), invoke);
  const out: Record<string, unknown> = {};
  for (const [key, method] of Object.entries(service.methods)) {
    // Streaming methods arrive with the streaming work; until then a client has none.
    if (method.requestStream || method.responseStream) continue;
    const path = methodPath(service, method);
    const { serialize } = codec(method.requestType);
    const { deserialize } = codec(method.responseType);
    out[key] = (request: unknown, options: CallOptions = {}) => run({ path, request, serialize, deserialize, options });
  }
  return out as PromiseClient<S>;
}

/**
 * Fixes the call's deadline before anything else runs, so time spent waiting (for a
 * restart, say) counts against it; a call with neither `timeout` nor `deadline` gets
 * `defaultMs` (config `call_timeout`) when one is set.
 */
export function deadlineStep(defaultMs?: number): Interceptor {
  return (next) => (call) => {
    const { options } = call;
    if (options.deadline) return next(call);
    const at = callDeadline(options) ?? (defaultMs === undefined ? undefined : Date.now() + defaultMs);
    return next(at === undefined ? call : { ...call, options: { ...options, timeout: undefined, deadline: new Date(at) } });
  };
}

/** Turns a transport's CallError into the caller's error (the driver's error family). */
export function errorStep(map: ErrorMapper): Interceptor {
  return (next) => (call) => next(call).catch(async (err) => Promise.reject(await map(err, call.path)));
}
