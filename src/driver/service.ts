// A driver run as a service: started by its platform (Kubernetes, systemd), not by a host;
// found by address, told apart by DriverInfo, drained on SIGTERM.
import { lstatSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import {
  type Contract,
  contractVersions,
  methodPath,
  type ServiceDef,
} from '../contracts/contract.js';
import { RpcError } from '../errors.js';
import { contextFromMetadata } from '../protocol/context.js';
import type { CallContext, DriverLogger } from '../rpc/handlers.js';
import { Status, type StatusCode } from '../status.js';
import { GrpcServer, type ServerTls } from '../transport/server.js';
import { serveHandlers } from '../transport/server-methods.js';
import { readTlsFiles, watchTlsFiles } from '../transport/tls-files.js';
import { driverBroker } from './broker.js';
import { HostBrokers } from './host-brokers.js';
import { hostPort } from '../protocol/address.js';
import { DEFAULT_DRAIN_GRACE_MS, listenTarget, type ServiceOptions } from './service-options.js';
import { serveBroker, serveHealth, serveInfo } from './services.js';
import { serving, type ServingDriver } from './serving.js';

/** Hosts a service may have connected at once (a child driver has one host, and 64). */
const SERVICE_MAX_SESSIONS = 1024;

type AnyHandlers = Record<string, (req: unknown, ctx: CallContext) => unknown>;

/** What serve() hands over: the driver's type, its handlers by version, its options. */
export interface ServiceDriver {
  contract: Contract;
  handlers: Record<number, AnyHandlers | undefined>;
  idleTimeoutMs?: number;
  info?: { name?: string; buildVersion?: string };
  onShutdown?: () => void | Promise<void>;
}

/**
 * Serves every version the handlers give at once (a host picks by DriverInfo), health
 * SERVING until SIGTERM, then NOT_SERVING, GOAWAY, calls in flight finish within the
 * grace, exit 0. Exits 1 with the reason on stderr when it cannot start.
 */
export async function serveService(
  d: ServiceDriver,
  o: ServiceOptions,
  log: DriverLogger,
): Promise<ServingDriver> {
  const fail = (message: string): never => {
    log.error(message);
    process.exit(1);
  };
  let target: ReturnType<typeof listenTarget> | undefined;
  let tls: ServerTls | undefined;
  try {
    target = listenTarget(o);
    tls = o.tls ? readTlsFiles(o.tls) : undefined;
  } catch (err) {
    fail((err as Error).message);
  }
  const server = new GrpcServer(tls, {
    idleTimeoutMs: d.idleTimeoutMs,
    maxSessions: SERVICE_MAX_SESSIONS,
    // One machine's hosts (or one that floods) take at most a quarter of them.
    maxSessionsPerPeer: SERVICE_MAX_SESSIONS / 4,
    // No connection is a host's here: a newcomer must not cut another host's calls.
    evictBusy: false,
  });
  const brokers = new HostBrokers((send) =>
    driverBroker(
      send,
      log,
      (err, method) => new RpcError(err.code as StatusCode, err.details, { method }),
    ),
  );
  const served = servedVersions(d.contract, d.handlers);
  if (served.length === 0) fail('serve: no handlers for any version of the contract');
  let configure: (() => Promise<void>) | undefined;
  for (const { version, service } of served) {
    const handlers = { ...d.handlers[version]! };
    if (version === served[0].version && handlers.configure && service.methods.configure)
      configure = bindConfigure(service, handlers.configure, o.configure, log, brokers);
    if (service.methods.configure) handlers.configure = refuseConfigure;
    serveHandlers(server, service, handlers, log, brokers.of);
  }
  const names = served.map((s) => s.service.fullName);
  const health = o.healthListen ? new GrpcServer(undefined, { maxSessions: 64 }) : undefined;
  const setters = [serveHealth(server, names), ...(health ? [serveHealth(health, names)] : [])];
  const setServing = (serving: boolean) => {
    for (const set of setters) set(serving);
  };
  serveInfo(server, {
    type: d.contract.type,
    versions: served.map((s) => ({ version: s.version, service: s.service.fullName })),
    name: d.info?.name ?? '',
    buildVersion: d.info?.buildVersion ?? '',
  });
  serveBroker(
    server,
    (connection, info) => brokers.receive(connection, info),
    (connection, send) => brokers.attach(connection, send),
  );
  if (o.configure !== undefined && configure) {
    try {
      await configure();
    } catch (err) {
      fail(`Configure from the deployment failed: ${(err as Error).message}`);
    }
  }
  const where = target && 'path' in target ? target.path : undefined;
  let port = 0;
  try {
    if (where) await removeStaleSocket(where);
    // Owner and group (a sidecar's shared folder): rw; nobody else.
    const umask = process.umask(0o117);
    try {
      port = await server.listen(target!);
    } finally {
      process.umask(umask);
    }
  } catch (err) {
    fail(`cannot listen on ${o.listen}: ${(err as Error).message}`);
  }
  const socketIno = where ? lstatSync(where, { throwIfNoEntry: false })?.ino : undefined;
  let healthAt: string | undefined;
  if (health)
    try {
      const target = listenTarget({ listen: o.healthListen!, insecure: true });
      const port = await health.listen(target);
      healthAt =
        'path' in target ? `unix://${target.path}` : `tcp://${hostPort({ ...target, port })}`;
    } catch (err) {
      fail(`cannot listen on ${o.healthListen} (health): ${(err as Error).message}`);
    }
  const unwatch = o.tls
    ? watchTlsFiles(o.tls, server, (err) =>
        err
          ? log.warn('TLS certificates not reloaded; the last good ones stay', {
              error: err.message,
            })
          : log.info('TLS certificates reloaded'),
      )
    : undefined;
  let exiting: Promise<never> | undefined;
  const exit = (code = 0): Promise<never> =>
    (exiting ??= (async () => {
      setServing(false);
      unwatch?.();
      // Calls in flight finish first: onShutdown may close what they use (a pool).
      await server.drain(o.drainGraceMs ?? DEFAULT_DRAIN_GRACE_MS);
      try {
        await d.onShutdown?.();
      } catch (err) {
        log.error('onShutdown failed', { error: String(err) });
      }
      await health?.close();
      brokers.close();
      // Only our own socket: a successor may already listen at the same path.
      if (
        where &&
        socketIno !== undefined &&
        lstatSync(where, { throwIfNoEntry: false })?.ino === socketIno
      )
        rmSync(where, { force: true });
      process.exit(code);
    })());
  // Readiness goes first: NOT_SERVING for drainDelayMs while calls are still taken (the
  // platform stops sending new ones), then GOAWAY. A second signal skips the delay.
  let draining = false;
  const onSignal = (signal: string) => {
    if (draining) return void exit(0);
    draining = true;
    setServing(false);
    log.info(`${signal}: draining`, { delay_ms: o.drainDelayMs ?? 0 });
    setTimeout(() => void exit(0), o.drainDelayMs ?? 0);
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  const network = where ? 'unix' : 'tcp';
  const address = where ?? hostPort({ host: (target as { host: string }).host, port });
  log.info('serving as a service', {
    address: where ? `unix://${where}` : `tcp://${address}`,
    versions: served.map((s) => s.version).join(','),
    tls: tls ? (tls.peerCertPem ? 'mtls' : 'tls') : 'off',
    ...(healthAt ? { health: healthAt } : {}),
  });
  return serving(served[0].version, network, address, exit, brokers, (up) => {
    for (const set of setters) set(up, 'backend');
  });
}

/** Each version given, newest first; versions that share a service name are served once, as the newest. */
function servedVersions(
  contract: Contract,
  handlers: Record<number, AnyHandlers | undefined>,
): Array<{ version: number; service: ServiceDef }> {
  const seen = new Set<string>();
  const out: Array<{ version: number; service: ServiceDef }> = [];
  for (const version of contractVersions(contract).sort((a, b) => b - a)) {
    const service = contract.versions[version];
    if (!handlers[version] || seen.has(service.fullName)) continue;
    seen.add(service.fullName);
    out.push({ version, service });
  }
  return out;
}

/** A host that shares this driver does not configure it: its deployment did (SERVICE_ENV.configure). */
function refuseConfigure(): never {
  throw new RpcError(
    Status.PERMISSION_DENIED,
    'this driver runs as a service shared by its hosts: its configuration is its deployment’s (DRIVERKIT_CONFIGURE), not a host’s',
  );
}

/** Runs the driver's own Configure handler once, on the deployment's request. */
function bindConfigure(
  service: ServiceDef,
  handler: AnyHandlers[string],
  json: unknown,
  log: DriverLogger,
  brokers: HostBrokers,
): () => Promise<void> {
  return async () => {
    const method = service.methods.configure;
    const request = method.requestType.fromJSON(json);
    const ctx: CallContext = {
      signal: new AbortController().signal,
      metadata: {},
      context: contextFromMetadata({}),
      log,
      method: methodPath(service, method),
      broker: brokers.latest,
      setHeader: () => {},
      setTrailer: () => {},
    };
    await handler(request, ctx);
  };
}

/** A socket file left by a service that died is in the way; one that answers is another's. */
async function removeStaleSocket(path: string): Promise<void> {
  let isSocket = false;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return;
  }
  if (!isSocket) throw new Error(`${path} exists and is not a socket`);
  const answers = await new Promise<boolean>((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (answers) throw new Error(`another process listens at ${path}`);
  rmSync(path, { force: true });
}
