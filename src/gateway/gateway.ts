import type { EventEmitter } from 'node:events';
import {
  experimental,
  Metadata,
  Server,
  ServerCredentials,
  ServerInterceptingCall,
  type ServerInterceptor,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { methodPath, type ServiceDef } from '../contracts/contract.js';
import { CONTEXT_METADATA } from '../protocol/context.js';
import { internalServices } from '../contracts/internal.js';
import { DriverkitError, RpcError } from '../errors.js';
import { HealthCheckResponse_ServingStatus as Serving } from '../gen/grpc/health/v1/health.js';
import { VERSION } from '../version.js';
import { grpcDefinition } from './grpc-definition.js';
import { MESSAGE_LIMIT_OPTIONS } from '../protocol/limits.js';
import type { Call } from '../rpc/client.js';
import { Status } from '../status.js';
import { CallSlots, MemoryBudget } from './budget.js';
import type { RejectionReason } from '../metrics/host-metrics.js';
import { serverSpan, withSpan } from '../rpc/trace.js';
import {
  checkAllowed,
  checkListen,
  checkToken,
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

/** What a gateway relays to: named driver instances, their services, and a way to call each. */
export interface GatewayDrivers {
  /** Every instance, in config order, with the services of every version of its type. */
  instances(): ReadonlyArray<{
    name: string;
    services: readonly ServiceDef[];
    /** Health "" needs it ready (if none is required: every instance). */
    required?: boolean;
    /** Its driver type and contract versions (for DriverInfo). */
    type?: string;
    versions?: readonly number[];
  }>;
  /** The app protocol version an instance's driver negotiated, while it runs. */
  versionOf?(name: string): number | undefined;
  /** Calls `fn` when instances come or go (a socket folder); returns how to stop. */
  onInstances?(fn: () => void): () => void;
  /** Sends one call to an instance: started on first use, through a restart, with its `call_timeout`. */
  invoke(name: string, call: Call): Promise<unknown>;
  /** Whether an instance is ready for calls now. */
  isReady(name: string): boolean;
  /** Where the gateway counts the calls it refuses, by reason. */
  readonly metrics?: { rejections: { inc(labels: { reason: RejectionReason }): void } };
}

/** A running gateway. */
export interface Gateway {
  /** `HOST:PORT` actually bound (port 0 picks a free one). */
  address: string;
  /** Health says NOT_SERVING from now on (a load balancer stops sending), calls still served. */
  drain(): void;
  /** Stops accepting calls, lets running ones finish for up to `graceMs`, then cuts them. */
  close(graceMs?: number): Promise<void>;
  /**
   * A reloaded config's bearer tokens and `gateway_allow` rules, for every call from now on
   * (tokens only while some were set at start: turning them on or off needs a restart).
   */
  update(next: Pick<GatewaySecurity, 'tokens' | 'allow'>): void;
}

const identity = (b: Buffer) => b;
const MIB = 1 << 20;

/**
 * Serves every driver of a host on one gRPC address, relaying each call, still encoded, to
 * a driver: the one named by the `driverkit-driver` metadata header, else the first
 * instance of the service's type in the config. Health: "" is SERVING while every required
 * driver (every driver, if none is) is ready, a service (its replicas) with one replica
 * ready; a service name while its default instance is; an instance name while it is; all
 * NOT_SERVING once draining.
 */
export async function startGateway(
  drivers: GatewayDrivers,
  listen: string,
  security: GatewaySecurity = {},
): Promise<Gateway> {
  const refusal = checkListen(listen, security);
  if (refusal) throw new DriverkitError('INVALID_OPTIONS', refusal);
  const rejected = (reason: RejectionReason) => drivers.metrics?.rejections.inc({ reason });
  const maxMessage =
    security.maxMessageBytes ?? MESSAGE_LIMIT_OPTIONS['grpc.max_receive_message_length'];
  const server = new Server({
    ...MESSAGE_LIMIT_OPTIONS,
    'grpc.max_receive_message_length': maxMessage,
    'grpc.max_concurrent_streams': security.maxCallsPerClient ?? 100,
    // Without tokens there is nothing to check before a call's messages: no interceptor.
    interceptors: security.tokens?.length
      ? [authenticate(() => guard.security.tokens, rejected)]
      : [],
  });
  const memory = new MemoryBudget(
    security.maxClientMemory ?? 64 * MIB,
    security.maxMemory ?? 256 * MIB,
  );
  const overall = security.maxConcurrentCalls ?? 256;
  // One driver alone may use every slot; among several, none takes more than half.
  const perDriver =
    security.maxDriverCalls ?? (drivers.instances().length > 1 ? Math.ceil(overall / 2) : overall);
  const slots = new CallSlots({
    overall,
    perClient: security.maxClientCalls ?? Math.ceil(overall / 2),
    perDriver,
    perClientDriver: security.maxClientDriverCalls ?? Math.ceil(perDriver / 2),
  });
  const guard = { security: { ...security }, slots, memory, rejected };
  let names: string[] = [];
  // Readiness of the whole gateway: what it cannot serve without.
  let essential: string[] = [];
  const byService = new Map<string, string[]>();
  /** Routes for the instances there are now: drivers found in a socket folder come and go. */
  const route = () => {
    const now = drivers.instances();
    names = now.map((d) => d.name);
    const required = now.filter((d) => d.required).map((d) => d.name);
    essential = required.length > 0 ? required : names;
    // An instance gone, or (after a reload) of another type now, leaves that service's routes.
    const serves = new Map(now.map((d) => [d.name, new Set(d.services.map((s) => s.fullName))]));
    for (const [service, list] of byService)
      for (let i = list.length - 1; i >= 0; i--)
        if (!serves.get(list[i])?.has(service)) list.splice(i, 1);
    for (const { name, services } of now) {
      for (const service of services) {
        let list = byService.get(service.fullName);
        if (!list) {
          list = [];
          byService.set(service.fullName, list);
          server.addService(
            relayDefinition(service),
            relayImplementation(service, list, drivers, guard),
          );
        }
        if (!list.includes(name)) list.push(name);
      }
    }
  };
  route();
  const stopRouting = drivers.onInstances?.(route);
  let draining = false;
  const healthImpl = {
    check: (call: ServerUnaryCall<{ service: string }, unknown>, cb: sendUnaryData<unknown>) => {
      const name = call.request.service;
      let up: boolean | undefined;
      const ready = (n: string) => !draining && drivers.isReady(n);
      // "plugin" is what a driverkit or go-plugin host checks: this gateway, dialed as a service.
      if (name === '' || name === 'plugin') up = essential.every(ready);
      else if (byService.has(name)) up = ready(byService.get(name)![0]);
      else if (names.includes(name)) up = ready(name);
      if (up === undefined)
        cb({
          code: Status.NOT_FOUND,
          details: `unknown service or driver ${JSON.stringify(name)}`,
        });
      else cb(null, { status: up ? Serving.SERVING : Serving.NOT_SERVING });
    },
    watch: (call: { emit(e: string, v: unknown): void }) =>
      call.emit('error', { code: Status.UNIMPLEMENTED, details: 'Watch is not implemented' }),
  };
  server.addService(grpcDefinition(internalServices.health), healthImpl);
  serveInfo(server, drivers);
  // Probes that speak no TLS (Kubernetes' gRPC probes) get health alone, in plaintext.
  const healthServer = security.healthListen ? new Server() : undefined;
  if (healthServer) {
    healthServer.addService(grpcDefinition(internalServices.health), healthImpl);
    const at = security.healthListen!;
    await new Promise<void>((resolve, reject) =>
      healthServer.bindAsync(at, ServerCredentials.createInsecure(), (err) =>
        err ? reject(new Error(`cannot listen on ${at} (health): ${err.message}`)) : resolve(),
      ),
    );
  }
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(listen, credentialsOf(security), (err, p) =>
      err ? reject(new Error(`cannot listen on ${listen}: ${err.message}`)) : resolve(p),
    ),
  );
  return {
    address: `${listen.slice(0, listen.lastIndexOf(':'))}:${port}`,
    drain: () => {
      draining = true;
    },
    update: ({ tokens, allow }) => {
      const on = (guard.security.tokens?.length ?? 0) > 0;
      if (on && tokens?.length) guard.security.tokens = tokens;
      guard.security.allow = allow;
    },
    close: (graceMs = 2000) =>
      new Promise<void>((resolve) => {
        stopRouting?.();
        healthServer?.forceShutdown();
        const timer = setTimeout(() => server.forceShutdown(), graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}

function relayDefinition(service: ServiceDef): ServiceDefinition {
  const def: Record<string, ServiceDefinition[string]> = {};
  for (const [key, m] of Object.entries(grpcDefinition(service))) {
    def[key] = {
      ...m,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    };
  }
  return def;
}

/** The status a relayed call ends with: the driver's own, or why no driver could answer. */
function relayedStatus(
  err: unknown,
  trailers: Metadata | undefined,
): { code: number; details: string; metadata?: Metadata } {
  if (err instanceof RpcError)
    return { code: err.status, details: err.details, metadata: trailers };
  // Which driver and why: a caller of the gateway sees no log.
  if (err instanceof DriverkitError)
    return {
      code: err.code === 'DRIVER_NOT_READY' ? Status.DEADLINE_EXCEEDED : Status.UNAVAILABLE,
      details: `${err.driver ? `driver ${JSON.stringify(err.driver)}: ` : ''}${err.shortMessage}`,
    };
  return { code: Status.INTERNAL, details: 'the gateway failed to relay the call' };
}

/** A grpc-js server call of any kind, as far as relaying needs it. */
type GatewayCall = EventEmitter & {
  metadata: Metadata;
  request?: Buffer;
  getDeadline(): Date | number;
  getPeer(): string;
  /** Its TLS peer, when there is one (grpc-js does not export the type). */
  getAuthContext(): {
    sslPeerCertificate?: { fingerprint256?: string; subject?: { CN?: string | string[] } };
  } | null;
  write?(b: Buffer): boolean;
  end?(trailers?: Metadata): void;
  sendMetadata(md: Metadata): void;
  iterator(o: { destroyOnReturn: boolean }): AsyncIterable<Buffer>;
};

/** The server's credentials: TLS (and mTLS with a client CA) when configured. */
function credentialsOf({ tls, tlsFiles }: GatewaySecurity): ServerCredentials {
  if (!tls) return ServerCredentials.createInsecure();
  if (tlsFiles) {
    // Read again every second: new connections get certificates rotated meanwhile.
    const watch = (files: {
      certificateFile?: string;
      privateKeyFile?: string;
      caCertificateFile?: string;
    }) => new experimental.FileWatcherCertificateProvider({ ...files, refreshIntervalMs: 1000 });
    const identity = watch({ certificateFile: tlsFiles.cert, privateKeyFile: tlsFiles.key });
    const ca = tlsFiles.clientCa ? watch({ caCertificateFile: tlsFiles.clientCa }) : null;
    // grpc-js names this function's first argument the CA provider, yet hands it on as the
    // identity one (1.14): the order here is the one that works, and the tests hold it.
    return experimental.createCertificateProviderServerCredentials(
      identity as never,
      ca as never,
      ca !== null,
    );
  }
  const ca = tls.clientCaPem ? Buffer.from(tls.clientCaPem) : null;
  return ServerCredentials.createSsl(
    ca,
    [{ private_key: Buffer.from(tls.keyPem), cert_chain: Buffer.from(tls.certPem) }],
    ca !== null,
  );
}

interface Guard {
  security: GatewaySecurity;
  slots: CallSlots;
  memory: MemoryBudget;
  rejected: (reason: RejectionReason) => void;
}

/**
 * Who a call is from: for its limits (`key`), its bearer token, else its client
 * certificate, else (no authentication) its connection; and for drivers (`user`), the
 * token's name or the certificate's subject CN, when it authenticated.
 */
function clientOf(
  call: GatewayCall,
  tokens: readonly Token[] | undefined,
): { key: string; user?: string } {
  const token = tokenIndex(call.metadata, tokens);
  if (token !== undefined) return { key: `token ${token}`, user: tokenName(tokens!, token) };
  const cert = call.getAuthContext()?.sslPeerCertificate;
  if (cert?.fingerprint256)
    return { key: `certificate ${cert.fingerprint256}`, user: [cert.subject?.CN].flat()[0] };
  return { key: `connection ${call.getPeer()}` };
}

/**
 * Checks the bearer token on a call's headers, before grpc-js reads a byte of its messages:
 * a refused call's stream stays paused, so a client without a token can make the gateway
 * hold no more than HTTP/2's stream window (64 KiB) per call. Health answers without one.
 */
function authenticate(
  tokens: () => readonly Token[] | undefined,
  rejected: (reason: RejectionReason) => void,
): ServerInterceptor {
  return (method, call) =>
    new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, pass) => {
            const refused = method.path.startsWith(`/${internalServices.health.fullName}/`)
              ? undefined
              : checkToken(metadata, tokens());
            if (!refused) return pass(metadata);
            rejected('unauthenticated');
            call.sendStatus({ ...refused, metadata: new Metadata() });
          },
        }),
    });
}

function relayImplementation(
  service: ServiceDef,
  instances: string[],
  drivers: GatewayDrivers,
  guard: Guard,
): UntypedServiceImplementation {
  const impl: UntypedServiceImplementation = {};
  for (const [key, method] of Object.entries(service.methods)) {
    const path = methodPath(service, method);
    const { requestStream, responseStream } = method;
    impl[key] = (call: GatewayCall, cb?: sendUnaryData<Buffer>) => {
      const fail = (status: { code: number; details: string; metadata?: Metadata }) =>
        cb ? cb(status) : call.emit('error', status);
      const wanted = call.metadata.get(ROUTE_HEADER)[0]?.toString();
      const name = wanted ?? instances[0];
      if (name === undefined) {
        // Every driver of this type was removed by a reload: the service is no more.
        guard.rejected('unknown_driver');
        return fail({
          code: Status.UNIMPLEMENTED,
          details: `no ${service.name} driver is configured now`,
        });
      }
      if (!instances.includes(name)) {
        guard.rejected('unknown_driver');
        fail({
          code: Status.INVALID_ARGUMENT,
          details: `${ROUTE_HEADER}: no ${service.name} driver named ${JSON.stringify(wanted)} (known: ${instances.join(', ')})`,
        });
        return;
      }
      const denied = checkAllowed(name, method.name, guard.security.allow);
      if (denied) {
        guard.rejected('not_allowed');
        return fail(denied);
      }
      const client = clientOf(call, guard.security.tokens);
      const slot = guard.slots.take(client.key, name);
      if (slot.verdict) {
        guard.rejected('limit_calls');
        return fail(slot.verdict);
      }
      // A single request is held whole until its call ends. Messages of a request stream pass
      // through one at a time (not counted), and a message still arriving is grpc-js's to
      // hold: max_calls_per_client × max_message_size bounds that per connection.
      const held = guard.memory.take(client.key, requestStream ? 0 : call.request!.length);
      if (held.verdict) {
        slot.release();
        guard.rejected('limit_memory');
        return fail(held.verdict);
      }
      const release = () => {
        slot.release();
        held.release();
      };
      call.once('cancelled', release);
      const metadata: Record<string, string | Buffer> = {};
      // The caller's credentials are the gateway's to check, not the driver's to see; who
      // the call is for and the log fields are the host's to say, not a client's.
      for (const [k, v] of Object.entries(call.metadata.getMap()))
        if (!NOT_RELAYED.has(k)) metadata[k] = v;
      // Who it is for comes from how the client authenticated, never from what it says.
      if (client.user) metadata[CONTEXT_METADATA.user] = client.user;
      const deadline = Number(call.getDeadline());
      const abort = new AbortController();
      call.once('cancelled', () => abort.abort());
      // What the driver says besides its messages goes back as it came: headers before the
      // first response, trailers with the status, on OK calls as on failed ones.
      let trailers: Metadata | undefined;
      const onMetadata = (block: 'headers' | 'trailers', md: Record<string, string>) => {
        if (block === 'headers') call.sendMetadata(toMetadata(md));
        else trailers = toMetadata(md);
      };
      const options = {
        metadata,
        signal: abort.signal,
        onMetadata,
        ...(Number.isFinite(deadline) ? { deadline: new Date(deadline) } : {}),
      };
      // A client or bidi stream's call is itself the readable of requests, still encoded. Not
      // destroyed when they end: a bidi call's writable side still carries the responses.
      const request = requestStream ? call.iterator({ destroyOnReturn: false }) : call.request;
      // The gateway's span continues its client's trace; the host's client span is its child.
      const span = serverSpan(path, () => call.metadata.getMap() as Record<string, string>);
      const relayed = withSpan(span, () =>
        drivers.invoke(name, {
          path,
          request,
          serialize: identity as (b: unknown) => Buffer,
          deserialize: identity,
          options,
          requestStream,
          responseStream,
        }),
      );
      void relayed.then(release, release);
      if (!responseStream) {
        relayed.then(
          (reply) => {
            span?.end(Status.OK);
            cb!(null, reply as Buffer, trailers);
          },
          (err) => {
            const status = relayedStatus(err, trailers);
            span?.end(status.code);
            cb!(status);
          },
        );
        return;
      }
      void relayed
        .then(async (replies) => {
          for await (const reply of replies as AsyncIterable<Buffer>) {
            // The caller reads slowly: wait, so the driver is slowed too (its stream is read as we write).
            if (!call.write!(reply)) await drained(call);
          }
          span?.end(Status.OK);
          call.end!(trailers);
        })
        .catch((err) => {
          const status = relayedStatus(err, trailers);
          span?.end(status.code);
          fail(status);
        })
        .finally(release);
    };
  }
  return impl;
}

/** Resolves when a slow caller has taken what was written, or went away; leaves no listener. */
function drained(call: GatewayCall): Promise<void> {
  return new Promise((resolve) => {
    const go = () => {
      call.off('drain', go);
      call.off('cancelled', go);
      resolve();
    };
    call.once('drain', go);
    call.once('cancelled', go);
  });
}

/** Metadata as the transport reports it (`-bin` values in base64) in grpc-js's form. */
function toMetadata(md: Record<string, string>): Metadata {
  const out = new Metadata();
  for (const [k, v] of Object.entries(md))
    out.set(k, k.endsWith('-bin') ? Buffer.from(v, 'base64') : v);
  return out;
}

/**
 * DriverInfo, when every instance is of one type: then a gateway in front of a driver (a
 * go-plugin one, say) is itself that driver as a service, and hosts can dial it by address.
 * It reports the version its default instance negotiated, or every version of the type.
 */
function serveInfo(server: Server, drivers: GatewayDrivers): void {
  const instances = drivers.instances();
  const types = new Set(instances.map((d) => d.type));
  const first = instances[0];
  if (types.size !== 1 || !first?.type) return;
  const fullName = (v: number) =>
    first.services[first.versions?.indexOf(v) ?? -1]?.fullName ?? first.services[0].fullName;
  server.addService(grpcDefinition(internalServices.info), {
    getInfo: (_call: unknown, cb: sendUnaryData<unknown>) => {
      const now = drivers.versionOf?.(first.name);
      // Until its driver has negotiated, the version is not known: a host asks again.
      if (now === undefined)
        return cb({
          code: Status.UNAVAILABLE,
          details: `driver "${first.name}" is not running yet`,
        });
      const versions = [now];
      cb(null, {
        type: first.type,
        versions: versions.map((version) => ({ version, service: fullName(version) })),
        name: 'driverkit serve',
        buildVersion: VERSION,
      });
    },
  });
}
