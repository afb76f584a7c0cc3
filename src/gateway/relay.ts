// One relayed method: a call to the gateway, checked and counted, passed still encoded to
// a driver, and its answer (headers, messages, trailers, status) passed back as it came.
import { methodPath, type MethodDef, type ServiceDef } from '../contracts/contract.js';
import { DriverkitError, RpcError } from '../errors.js';
import type { RejectionReason } from '../metrics/host-metrics.js';
import { CONTEXT_METADATA } from '../protocol/context.js';
import type { Call } from '../rpc/client.js';
import { serverSpan, withSpan } from '../rpc/trace.js';
import { Status } from '../status.js';
import type { ServerCall } from '../transport/server-call.js';
import type { MethodImpl } from '../transport/server.js';
import { oneRequest, rawRequest, requestStream } from '../transport/server-methods.js';
import type { CallSlots } from './budget.js';
import {
  checkAllowed,
  type GatewaySecurity,
  type Token,
  tokenIndex,
  tokenName,
} from './security.js';

/** The metadata key that picks an instance when several drivers share a type. */
export const ROUTE_HEADER = 'driverkit-driver';

/**
 * Client metadata the gateway never passes on: its routing and credentials, and the request
 * context keys that a driver takes as the host's word (`ctx.context.user`, the log fields).
 * A client's `x-request-id` does pass, as a correlation id and nothing more.
 */
const NOT_RELAYED = new Set([
  ROUTE_HEADER,
  'user-agent',
  'authorization',
  CONTEXT_METADATA.user,
  CONTEXT_METADATA.fields,
  // The gateway's own span (when an SDK is registered) carries the trace on; without one,
  // nothing does: a client's headers never reach a driver's logs and sampling unchecked.
  'traceparent',
  'tracestate',
  'baggage',
]);

/** Where relayed calls go, and what each call is checked and counted against. */
export interface RelayTarget {
  /** Sends one call to an instance (see GatewayDrivers.invoke). */
  invoke(name: string, call: Call): Promise<unknown>;
  security: GatewaySecurity;
  slots: CallSlots;
  rejected: (reason: RejectionReason) => void;
}

type Answer = { code: number; details: string; trailers?: Record<string, string> };

/** The status a relayed call ends with: the driver's own, or why no driver could answer. */
export function relayedStatus(err: unknown): Answer {
  if (err instanceof RpcError) return { code: err.status, details: err.details };
  // Which driver and why: a caller of the gateway sees no log.
  if (err instanceof DriverkitError)
    return {
      code: err.code === 'DRIVER_NOT_READY' ? Status.DEADLINE_EXCEEDED : Status.UNAVAILABLE,
      details: `${err.driver ? `driver ${JSON.stringify(err.driver)}: ` : ''}${err.shortMessage}`,
    };
  return { code: Status.INTERNAL, details: 'the gateway failed to relay the call' };
}

/**
 * Who a call is from: for its limits (`key`), its bearer token, else its client
 * certificate, else (no authentication) its connection; and for drivers (`user`), the
 * token's name or the certificate's subject CN, when it authenticated.
 */
export function clientOf(
  call: ServerCall,
  tokens: readonly Token[] | undefined,
): { key: string; user?: string } {
  const token = tokens?.length ? tokenIndex(call.metadata().authorization, tokens) : undefined;
  if (token !== undefined) return { key: `token ${token}`, user: tokenName(tokens!, token) };
  const cert = call.connection.certificate;
  if (cert) return { key: `certificate ${cert.fingerprint256}`, user: cert.cn };
  return { key: `connection ${call.connection.address}` };
}

/** What one call holds while it is relayed. */
interface Relayed {
  client: { key: string; user?: string };
  name: string;
}

/**
 * Relays `method` of `service` to the instance a call names (ROUTE_HEADER), else the
 * first of `instances` (which a reload changes in place). Routing, the allow-list and the
 * call slots are checked at the call's headers, before a byte of its messages is held.
 */
export function relayMethod(
  service: ServiceDef,
  method: MethodDef,
  instances: readonly string[],
  target: RelayTarget,
): MethodImpl {
  const path = methodPath(service, method);
  const { requestStream: streams, responseStream } = method;
  const calls = new WeakMap<ServerCall, Relayed>();
  const refuse = (call: ServerCall, reason: RejectionReason, code: number, details: string) => {
    target.rejected(reason);
    call.end(code, details);
    return undefined;
  };
  /** Checks a call at its headers; what it is relayed as, or undefined (it was answered). */
  const admit = (call: ServerCall): Relayed | undefined => {
    const wanted = call.metadata()[ROUTE_HEADER];
    const name = wanted ?? instances[0];
    // Every driver of this type was removed by a reload: the service is no more.
    if (name === undefined)
      return refuse(
        call,
        'unknown_driver',
        Status.UNIMPLEMENTED,
        `no ${service.name} driver is configured now`,
      );
    if (!instances.includes(name))
      return refuse(
        call,
        'unknown_driver',
        Status.INVALID_ARGUMENT,
        `${ROUTE_HEADER}: no ${service.name} driver named ${JSON.stringify(wanted)} (known: ${instances.join(', ')})`,
      );
    const denied = checkAllowed(name, method.name, target.security.allow);
    if (denied) return refuse(call, 'not_allowed', denied.code, denied.details);
    const client = clientOf(call, target.security.tokens);
    const slot = target.slots.take(client.key, name);
    if (slot.verdict) return refuse(call, 'limit_calls', slot.verdict.code, slot.verdict.details);
    call.onClosed(slot.release);
    return { client, name };
  };
  // A single request is held whole until its call ends, counted against its client by the
  // server (ServerCall.inbound); a stream's pass through one at a time.
  if (streams)
    return requestStream(path, rawRequest, (call, requests) => {
      const relayed = admit(call);
      if (relayed) relay(call, relayed, requests);
    });
  return oneRequest(
    path,
    rawRequest,
    (call, request) => relay(call, calls.get(call)!, request),
    (call) => {
      const relayed = admit(call);
      if (relayed) calls.set(call, relayed);
    },
  );

  function relay(call: ServerCall, relayed: Relayed, request: unknown): void {
    const metadata: Record<string, string> = {};
    // The caller's credentials are the gateway's to check, not the driver's to see; who
    // the call is for and the log fields are the host's to say, not a client's.
    for (const [k, v] of Object.entries(call.metadata())) if (!NOT_RELAYED.has(k)) metadata[k] = v;
    // Who it is for comes from how the client authenticated, never from what it says.
    if (relayed.client.user) metadata[CONTEXT_METADATA.user] = relayed.client.user;
    const abort = new AbortController();
    call.onCancel(() => abort.abort());
    // What the driver says besides its messages goes back as it came: headers before the
    // first response, trailers with the status, on OK calls as on failed ones.
    const onMetadata = (block: 'headers' | 'trailers', md: Record<string, string>) => {
      if (block === 'trailers') for (const [k, v] of Object.entries(md)) call.setTrailer(k, v);
      else {
        for (const [k, v] of Object.entries(md)) call.setHeader(k, v);
        // A stream's headers go at once; a unary call's with its one response.
        if (responseStream) call.flushHeaders();
      }
    };
    const options = {
      metadata,
      signal: abort.signal,
      onMetadata,
      ...(call.deadline !== undefined ? { deadline: new Date(call.deadline) } : {}),
    };
    // The gateway's span continues its client's trace; the host's client span is its child.
    const span = serverSpan(path, () => call.metadata());
    const send = () =>
      target.invoke(relayed.name, {
        path,
        request,
        serialize: identity as (b: unknown) => Buffer,
        deserialize: identity,
        options,
        requestStream: streams,
        responseStream,
      });
    // A unary call is checked at its headers and sent at the end of its request: an instance
    // removed meanwhile (a reload) makes invoke throw, which must end this call, not the
    // process (it ran in the stream's 'end' listener).
    let started: Promise<unknown>;
    try {
      started = withSpan(span, send);
    } catch (err) {
      started = Promise.reject(err);
    }
    const answered = started.then(async (reply) => {
      if (!responseStream) return call.reply(reply as Buffer);
      for await (const message of reply as AsyncIterable<Buffer>) {
        // The caller reads slowly: wait, so the driver is slowed too (its stream is read as we write).
        await call.send(message);
        if (call.done) break;
      }
      call.end(Status.OK);
    });
    answered.then(
      () => span?.end(Status.OK),
      (err) => {
        const status = relayedStatus(err);
        span?.end(status.code);
        call.end(status.code, status.details);
      },
    );
  }
}

const identity = (b: Buffer) => b;
