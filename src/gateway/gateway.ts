// `driverkit serve`'s gRPC server: every driver of a host on one address, on the same server
// drivers run as services use (src/transport), with TLS rotation, a plaintext health port,
// drain and connection limits as theirs.
import { methodPath, type ServiceDef } from '../contracts/contract.js';
import { internalServices } from '../contracts/internal.js';
import { DriverkitError } from '../errors.js';
import { Status } from '../status.js';
import type { RejectionReason } from '../metrics/host-metrics.js';
import type { Call } from '../rpc/client.js';
import { GrpcServer } from '../transport/server.js';
import { readTlsFiles, watchTlsFiles } from '../transport/tls-files.js';
import { CallSlots } from './budget.js';
import { serveGatewayHealth, serveGatewayInfo } from './gateway-health.js';
import { clientOf, relayMethod } from './relay.js';
import { checkListen, checkToken, type GatewaySecurity } from './security.js';

export { ROUTE_HEADER } from './relay.js';

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
   * (tokens only while some were set at start: turning them on or off needs a restart). An
   * empty list of tokens revokes them all: every call is then UNAUTHENTICATED.
   */
  update(next: Pick<GatewaySecurity, 'tokens' | 'allow'>): void;
}

/** How the gateway tells its operator what happened (a reloaded certificate, say). */
export type GatewayLog = (
  level: 'info' | 'warn',
  message: string,
  fields: Record<string, string>,
) => void;

const MIB = 1 << 20;
/** Client connections served at once; past it the oldest idle or half-open one gives way. */
const MAX_CONNECTIONS = 1024;

/**
 * Serves every driver of a host on one gRPC address, relaying each call, still encoded, to
 * a driver: the one named by the `driverkit-driver` metadata header, else the first
 * instance of the service's type in the config. Health: see serveGatewayHealth.
 */
export async function startGateway(
  drivers: GatewayDrivers,
  listen: string,
  security: GatewaySecurity = {},
  log: GatewayLog = () => {},
): Promise<Gateway> {
  const refusal = checkListen(listen, security);
  if (refusal) throw new DriverkitError('INVALID_OPTIONS', refusal);
  const rejected = (reason: RejectionReason) => drivers.metrics?.rejections.inc({ reason });
  const tls = security.tlsFiles
    ? readTlsFiles(security.tlsFiles)
    : security.tls && { ...security.tls, peerCertPem: security.tls.clientCaPem };
  const overall = security.maxConcurrentCalls ?? 256;
  // One driver alone may use every slot; among several, none takes more than half.
  const perDriver =
    security.maxDriverCalls ?? (drivers.instances().length > 1 ? Math.ceil(overall / 2) : overall);
  const target = {
    invoke: (name: string, call: Call) => drivers.invoke(name, call),
    security: { ...security },
    slots: new CallSlots({
      overall,
      perClient: security.maxClientCalls ?? Math.ceil(overall / 2),
      perDriver,
      perClientDriver: security.maxClientDriverCalls ?? Math.ceil(perDriver / 2),
    }),
    rejected,
  };
  const health = internalServices.health.fullName;
  const tokensOn = (security.tokens?.length ?? 0) > 0;
  const server = new GrpcServer(tls || undefined, {
    maxSessions: MAX_CONNECTIONS,
    // No client is told apart: a newcomer must not cut another client's calls.
    evictBusy: false,
    maxConcurrentStreams: security.maxCallsPerClient ?? 100,
    maxMessageBytes: security.maxMessageBytes,
    // Request bytes are counted as they arrive, per client (token, certificate, else
    // connection) and in all; a call past either is refused and its stream reset.
    memory: {
      perConnection: security.maxClientMemory ?? 64 * MIB,
      perPeer: security.maxClientMemory ?? 64 * MIB,
      total: security.maxMemory ?? 128 * MIB,
      names: {
        perConnection: 'max_client_memory',
        perPeer: 'max_client_memory',
        total: 'max_memory',
      },
    },
    peerOf: (call) => clientOf(call, target.security.tokens).key,
    onMemoryRefusal: () => rejected('limit_memory'),
    // The bearer token is checked at a call's headers, before a byte of its messages is
    // read: a client without one makes the gateway hold nothing. Health answers without one.
    authorize: tokensOn
      ? (call, path) => {
          if (path.startsWith(`/${health}/`)) return undefined;
          const tokens = target.security.tokens ?? [];
          // Tokens on, none valid (an emptied tokens file, reloaded): nobody gets through.
          const refused = tokens.length
            ? checkToken(call.metadata().authorization, tokens)
            : { code: Status.UNAUTHENTICATED, details: 'no bearer token is valid now' };
          if (refused) rejected('unauthenticated');
          return refused;
        }
      : undefined,
    // With tokens, a connection proves itself by a call a token let in, not by health.
    proves: tokensOn ? (path) => !path.startsWith(`/${health}/`) : undefined,
  });
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
          relay(server, service, list, target);
        }
        if (!list.includes(name)) list.push(name);
      }
    }
  };
  route();
  const stopRouting = drivers.onInstances?.(route);
  let draining = false;
  const routes = {
    ready: (name: string) => !draining && drivers.isReady(name),
    essential: () => essential,
    byService: (service: string) => byService.get(service),
    isInstance: (name: string) => names.includes(name),
  };
  serveGatewayHealth(server, routes);
  serveGatewayInfo(server, drivers);
  // Probes that speak no TLS (Kubernetes' gRPC probes) get health alone, in plaintext.
  const healthServer = security.healthListen ? new GrpcServer(undefined) : undefined;
  try {
    if (healthServer) {
      serveGatewayHealth(healthServer, routes);
      await listenOn(healthServer, security.healthListen!, ' (health)');
    }
    const port = await listenOn(server, listen, '');
    const unwatch = security.tlsFiles
      ? watchTlsFiles(security.tlsFiles, server, (err) =>
          err
            ? log('warn', 'gateway TLS certificates not reloaded; the last good ones stay', {
                error: err.message,
              })
            : log('info', 'gateway TLS certificates reloaded', {}),
        )
      : undefined;
    return {
      address: `${listen.slice(0, listen.lastIndexOf(':'))}:${port}`,
      drain: () => {
        draining = true;
      },
      update: ({ tokens, allow }) => {
        if (tokensOn && tokens) target.security.tokens = tokens;
        target.security.allow = allow;
      },
      close: async (graceMs = 2000) => {
        stopRouting?.();
        unwatch?.();
        await Promise.all([healthServer?.close(), server.drain(graceMs)]);
      },
    };
  } catch (err) {
    stopRouting?.();
    await Promise.all([healthServer?.close(), server.close()]);
    throw err;
  }
}

/** Serves every method of `service` as a relay to one of `instances`. */
function relay(
  server: GrpcServer,
  service: ServiceDef,
  instances: string[],
  target: Parameters<typeof relayMethod>[3],
): void {
  for (const method of Object.values(service.methods))
    server.handle(methodPath(service, method), relayMethod(service, method, instances, target));
}

/** Listens on `HOST:PORT` (port 0 picks one); resolves with the port. */
async function listenOn(server: GrpcServer, listen: string, what: string): Promise<number> {
  const at = listen.lastIndexOf(':');
  const host = listen.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  try {
    return await server.listen({ host, port: Number(listen.slice(at + 1)) });
  } catch (err) {
    throw new Error(`cannot listen on ${listen}${what}: ${(err as Error).message}`);
  }
}
