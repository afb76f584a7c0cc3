import { Console } from 'node:console';
import { type Contract, contractVersions, type ServiceDef } from '../contracts/contract.js';
import { ENV, NOT_A_PROGRAM_MESSAGE } from '../protocol/env.js';
import { formatHandshake } from '../protocol/handshake.js';
import { formatReattachLine, REATTACH_FLAG } from '../protocol/reattach.js';
import { parseVersions, pickVersion } from '../protocol/versions.js';
import type { BrokerTls } from '../rpc/broker.js';
import type { Handlers } from '../rpc/handlers.js';
import { RpcError } from '../errors.js';
import type { StatusCode } from '../status.js';
import { driverBroker } from './broker.js';
import { HostBrokers } from './host-brokers.js';
import { GrpcServer } from '../transport/server.js';
import { serveHandlers } from '../transport/server-methods.js';
import { watchHost, watchHostPipe } from './host-watch.js';
import { listen } from './listen.js';
import { createLogger, type DriverLogger } from './log.js';
import { serveBroker, serveController, serveHealth, serveInfo, serveStdio } from './services.js';
import { type ServiceOptions, serviceFromEnv } from './service-options.js';
import type { ServiceDriver } from './service.js';
import { serving, type ServingDriver } from './serving.js';
import { StdoutCapture } from './stdout.js';

/** Handlers for each app protocol version the driver serves, keyed by version. */
export type VersionedHandlers<C extends Contract> = {
  [V in keyof C['versions']]?: C['versions'][V] extends ServiceDef
    ? Handlers<C['versions'][V]>
    : never;
};

/** What `serve` needs. */
export interface ServeOptions<C extends Contract> {
  /** The driver type, e.g. `userprovider` from `driverkit/driver`. */
  contract: C;
  /** Handlers per app protocol version; the versions given are the versions served. */
  handlers: VersionedHandlers<C>;
  /** `unix` (default, as go-plugin on every unix) or loopback `tcp` in the host's port range. */
  network?: 'unix' | 'tcp';
  /** The logger handed to handlers. Default: hclog JSON on stderr at `DRIVERKIT_LOG_LEVEL` (default info). */
  logger?: DriverLogger;
  /** Runs before the driver exits on Shutdown or when its host is gone; keep it short. */
  onShutdown?: () => void | Promise<void>;
  /**
   * A connection with no call open for this long is closed (HTTP/2 GOAWAY), so that peers
   * cannot hold the driver's 64 connections by doing nothing; a gRPC client reconnects on
   * its next call. A new connection has the smaller of this and 10 s to speak HTTP/2.
   * Default 5 minutes; Infinity: never.
   */
  idleTimeoutMs?: number;
  /** This driver's own name and build version, told to hosts by DriverInfo (`driverkit ls`). */
  info?: { name?: string; buildVersion?: string };
  /**
   * Run as a service (found by address, shared by hosts) instead of as a host's child.
   * Default: from the environment (`DRIVERKIT_LISTEN` and the rest of SERVICE_ENV), so any
   * driver binary can be deployed either way.
   */
  service?: ServiceOptions;
}

/**
 * Serves a driver the way go-plugin's `plugin.Serve` does: checks the cookie, negotiates
 * the app version, listens, prints the handshake line and serves until the host says
 * Shutdown or dies. Call it first thing: output before it can break the handshake.
 */
export async function serve<C extends Contract>(options: ServeOptions<C>): Promise<ServingDriver> {
  const { contract } = options;
  let asService: ServiceOptions | undefined;
  try {
    asService = options.service ?? serviceFromEnv(process.env);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
  if (asService) {
    const { serveService } = await import('./service.js');
    return serveService(
      options as unknown as ServiceDriver,
      asService,
      options.logger ?? createLogger(),
    );
  }
  // Started by hand for debugging: no host, no cookie; print where to reattach instead.
  const byHand = process.argv.includes(REATTACH_FLAG);
  if (!byHand && process.env[contract.cookieKey] !== contract.cookieValue) {
    process.stderr.write(NOT_A_PROGRAM_MESSAGE);
    process.exit(1);
  }
  const capture = new StdoutCapture();
  // console.log is the usual way stray output reaches stdout; send all of console to stderr.
  globalThis.console = new Console({ stdout: process.stderr, stderr: process.stderr });
  const log = options.logger ?? createLogger();
  // A terminal's Ctrl-C reaches the whole process group; like go-plugin, the host decides.
  // Started by hand, Ctrl-C is the way to stop it.
  if (byHand) process.once('SIGINT', () => void exit(0));
  else
    process.on('SIGINT', () =>
      log.debug('ignoring SIGINT: the host decides when this driver stops'),
    );

  const handlers = options.handlers as Record<
    number,
    Record<string, (req: any, ctx: any) => unknown> | undefined
  >;
  const offered = contractVersions(contract).filter((v) => handlers[v]);
  const version = pickVersion(
    byHand ? offered : parseVersions(process.env[ENV.protocolVersions]),
    offered,
  );
  const service = contract.versions[version];

  let server: GrpcServer | undefined;
  let exiting: Promise<never> | undefined;
  let listening: Awaited<ReturnType<typeof listen>> | undefined;
  const exit = (code = 0): Promise<never> =>
    (exiting ??= (async () => {
      try {
        await options.onShutdown?.();
      } catch (err) {
        log.error('onShutdown failed', { error: String(err) });
      }
      brokers.close();
      await server?.close();
      listening?.cleanup();
      process.exit(code);
    })());

  let serverCert: string | undefined;
  let tls: BrokerTls | undefined;
  const clientCert = process.env[ENV.clientCert];
  if (clientCert) {
    // AutoMTLS: trust only the host's certificate, and show ours in the handshake.
    const { checkPeerCertificate, generateIdentity } = await import('../protocol/mtls.js');
    try {
      checkPeerCertificate(clientCert);
    } catch (err) {
      log.error(`${ENV.clientCert}: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    }
    const id = await generateIdentity();
    tls = { certPem: id.certPem, keyPem: id.keyPem, peerCertPem: clientCert };
    serverCert = id.certBase64;
  }
  // go-plugin's broker, one per host connection: ConnInfos we offer wait until that host
  // has opened StartStream.
  const brokers = new HostBrokers((send) => {
    const broker = driverBroker(send, log, (err, method) => {
      return new RpcError(err.code as StatusCode, err.details, { method });
    });
    broker.useTls(tls);
    return broker;
  });
  const hostSecret = process.env[ENV.hostSecret] || undefined;
  // Processes this driver starts must not learn it: with it, they could pass for the host.
  delete process.env[ENV.hostSecret];
  const srv = (server = new GrpcServer(tls, { idleTimeoutMs: options.idleTimeoutMs, hostSecret }));
  // A service the SDK cannot serve (a streaming method) throws here, with its own message.
  serveHandlers(srv, service, handlers[version]!, log, brokers.of);
  const setHealth = serveHealth(srv, [service.fullName]);
  serveInfo(srv, {
    type: contract.type,
    versions: [{ version, service: service.fullName }],
    name: options.info?.name ?? '',
    buildVersion: options.info?.buildVersion ?? '',
  });
  // Reply first, then exit: go-plugin hosts take UNAVAILABLE as success too, but an answer is cleaner.
  serveController(srv, () => void exit(0));
  serveStdio(srv, capture);
  serveBroker(
    srv,
    (connection, info) => brokers.receive(connection, info),
    (connection, send) => brokers.attach(connection, send),
  );
  try {
    listening = await listen(srv, options.network ?? 'unix');
  } catch (err) {
    log.error(`cannot listen: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
  const { network, address } = listening;
  process.once('exit', () => listening?.cleanup());
  // Go drivers die on SIGTERM without cleaning up; we remove the socket first.
  process.once('SIGTERM', () => void exit(143));

  if (byHand) {
    capture.handshake(
      formatReattachLine({ protocol: 'grpc', version, network, address, pid: process.pid }),
    );
    log.info('serving for reattach; stop with Ctrl-C', { address });
    return serving(version, network, address, exit, brokers, (up) => setHealth(up, 'backend'));
  }
  capture.handshake(formatHandshake({ app: version, network, address, serverCert }));
  const hostPid = Number(process.env[ENV.hostPid]);
  const hostPipe = Number(process.env[ENV.hostPipe]);
  // They describe this process's host: processes this driver starts must not inherit them.
  delete process.env[ENV.hostPid];
  delete process.env[ENV.hostPipe];
  watchHost(
    () => {
      log.info('host is gone; exiting');
      void exit(0);
    },
    hostPid > 0 ? hostPid : undefined,
  );
  if (Number.isInteger(hostPipe) && hostPipe > 2) {
    watchHostPipe(hostPipe, () => {
      log.info('host closed its pipe; exiting');
      void exit(0);
    });
  }
  return serving(version, network, address, exit, brokers, (up) => setHealth(up, 'backend'));
}
