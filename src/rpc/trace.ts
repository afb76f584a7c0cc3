// OpenTelemetry spans for calls, through @opentelemetry/api alone: a host or driver that
// registers an SDK gets a client span per call and a server span per handled call, linked by
// W3C `traceparent` / `tracestate` in gRPC metadata (otelgrpc's names, so Go peers join the
// trace); one that registers none pays for a non-recording span and nothing goes on the wire.
import {
  type Context,
  context,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  type Span,
  type SpanOptions,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { statusName } from '../status.js';
import { VERSION } from '../version.js';
import type { Interceptor } from './client.js';
import { observeCall } from './observe.js';

const tracer = trace.getTracer('driverkit', VERSION);
/** Server span options by method path: bounded by the methods a process serves. */
const SERVER_SPANS = new Map<string, { name: string; options: SpanOptions }>();

/**
 * The name (`pkg.Service/Method`, as OpenTelemetry's RPC conventions have it) and options
 * of a span for `path`, made once per method: a call that records nothing pays no more.
 */
function spanOptions(
  cache: Map<string, { name: string; options: SpanOptions }>,
  path: string,
  kind: SpanKind,
  driver?: string,
): { name: string; options: SpanOptions } {
  let hit = cache.get(path);
  if (!hit) {
    const name = path.slice(1);
    const slash = name.lastIndexOf('/');
    const attributes = {
      'rpc.system': 'grpc',
      'rpc.service': name.slice(0, slash),
      'rpc.method': name.slice(slash + 1),
      ...(driver ? { 'driverkit.driver': driver } : {}),
    };
    cache.set(path, (hit = { name, options: { kind, attributes } }));
  }
  return hit;
}

/** Whether a span is worth carrying: recorded, or part of a trace someone else records. */
const live = (span: Span) => span.isRecording() || isSpanContextValid(span.spanContext());

function end(span: Span, code: number): void {
  span.setAttribute('rpc.grpc.status_code', code);
  // Client and server alike mark every non-OK status an error (OpenTelemetry's gRPC rules
  // keep some codes unset on the server; one rule for both reads simpler in a trace).
  if (code !== 0) span.setStatus({ code: SpanStatusCode.ERROR, message: statusName(code) });
  span.end();
}

/**
 * A client span around every call, child of the active span, its context sent as
 * `traceparent` (and `tracestate`) metadata. A call with a request context but no request
 * id gets the trace id as one, so logs and traces name the request alike.
 */
export function traceStep(driver?: string): Interceptor {
  const cache = new Map<string, { name: string; options: SpanOptions }>();
  return (next) => (call) => {
    const parent = context.active();
    const { name, options: spanOpts } = spanOptions(cache, call.path, SpanKind.CLIENT, driver);
    const span = tracer.startSpan(name, spanOpts, parent);
    if (!live(span)) return next(call);
    const carrier: Record<string, string> = {};
    propagation.inject(trace.setSpan(parent, span), carrier);
    const { options } = call;
    const ctx = options.context;
    const traced = {
      ...call,
      options: {
        ...options,
        metadata: { ...options.metadata, ...carrier },
        ...(ctx && !ctx.requestId
          ? { context: { ...ctx, requestId: span.spanContext().traceId } }
          : {}),
      },
    };
    return observeCall(next, traced, (code) => end(span, code));
  };
}

/** A server span and the context to run its handler in; `end` takes the call's status code. */
export interface ServerSpan {
  readonly context: Context;
  readonly traceId: string;
  readonly spanId: string;
  end(code: number): void;
}

/**
 * The server span of a call to `path`, child of the trace its metadata carries; undefined
 * when there is nothing to record or pass on (no SDK, no incoming trace). `metadata` is
 * read only when a propagator is registered.
 */
export function serverSpan(
  path: string,
  metadata: () => Readonly<Record<string, string>>,
): ServerSpan | undefined {
  const parent = propagation.fields().length
    ? propagation.extract(ROOT_CONTEXT, metadata())
    : ROOT_CONTEXT;
  const { name, options } = spanOptions(SERVER_SPANS, path, SpanKind.SERVER);
  const span = tracer.startSpan(name, options, parent);
  if (!live(span)) return undefined;
  const { traceId, spanId } = span.spanContext();
  return {
    context: trace.setSpan(parent, span),
    traceId,
    spanId,
    end: (code) => end(span, code),
  };
}

/** Runs `fn` with the span's context active (as is, without one). */
export function withSpan<T>(span: ServerSpan | undefined, fn: () => T): T {
  return span ? context.with(span.context, fn) : fn();
}
