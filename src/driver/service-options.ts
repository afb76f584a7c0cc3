import { isLoopback } from '../protocol/loopback.js';
import { hostPort, parseAddress } from '../protocol/address.js';

/** A driver that runs as a long-lived service, found by address instead of started by a host. */
export interface ServiceOptions {
  /** Where to listen: `unix:///run/driverkit/users.sock` or `tcp://0.0.0.0:7443`. */
  listen: string;
  /**
   * PEM files: the server's certificate and key, and the CA client certificates must chain
   * to (mTLS; without it clients show none). Read again when they change on disk.
   */
  tls?: { cert: string; key: string; clientCa?: string };
  /**
   * Off loopback without mTLS (plaintext, or TLS with no client CA, which lets any client
   * call every method): refused unless this says so.
   */
  insecure?: boolean;
  /** On SIGTERM: how long calls in flight have to finish after GOAWAY (default 10 s). */
  drainGraceMs?: number;
  /** On SIGTERM: how long to answer NOT_SERVING but still take calls, before GOAWAY (default 0). */
  drainDelayMs?: number;
  /**
   * A second, plaintext address that serves only grpc.health.v1 (`tcp://0.0.0.0:7444`), for
   * probes that cannot speak TLS (Kubernetes' gRPC probes).
   */
  healthListen?: string;
  /** The Configure request (proto3 JSON), run once at start: a shared driver's config is its deployment's. */
  configure?: unknown;
}

/** The environment that turns any SDK driver into a service, without a line of code. */
export const SERVICE_ENV = {
  listen: 'DRIVERKIT_LISTEN',
  cert: 'DRIVERKIT_TLS_CERT',
  key: 'DRIVERKIT_TLS_KEY',
  clientCa: 'DRIVERKIT_TLS_CLIENT_CA',
  insecure: 'DRIVERKIT_INSECURE',
  drainGrace: 'DRIVERKIT_DRAIN_GRACE_MS',
  drainDelay: 'DRIVERKIT_DRAIN_DELAY_MS',
  healthListen: 'DRIVERKIT_HEALTH_LISTEN',
  configure: 'DRIVERKIT_CONFIGURE',
} as const;

export const DEFAULT_DRAIN_GRACE_MS = 10_000;

/** Service options from SERVICE_ENV; undefined when DRIVERKIT_LISTEN is not set. Throws on bad values. */
export function serviceFromEnv(env: NodeJS.ProcessEnv): ServiceOptions | undefined {
  const listen = env[SERVICE_ENV.listen];
  if (!listen) return undefined;
  const [cert, key, clientCa] = [
    env[SERVICE_ENV.cert],
    env[SERVICE_ENV.key],
    env[SERVICE_ENV.clientCa],
  ];
  if (Boolean(cert) !== Boolean(key))
    throw new Error(`${SERVICE_ENV.cert} and ${SERVICE_ENV.key} go together: set both or neither`);
  if (clientCa && !cert)
    throw new Error(`${SERVICE_ENV.clientCa} needs ${SERVICE_ENV.cert} and ${SERVICE_ENV.key}`);
  const ms = (name: string) => {
    const v = env[name];
    if (v !== undefined && !/^\d+$/.test(v))
      throw new Error(`${name}: expected milliseconds, got ${JSON.stringify(v)}`);
    return v === undefined ? undefined : Number(v);
  };
  let configure: unknown;
  const json = env[SERVICE_ENV.configure];
  if (json) {
    try {
      configure = JSON.parse(json);
    } catch (err) {
      throw new Error(`${SERVICE_ENV.configure}: not JSON (${(err as Error).message})`);
    }
  }
  return {
    listen,
    tls: cert && key ? { cert, key, clientCa: clientCa || undefined } : undefined,
    insecure: env[SERVICE_ENV.insecure] === '1' || env[SERVICE_ENV.insecure] === 'true',
    drainGraceMs: ms(SERVICE_ENV.drainGrace),
    drainDelayMs: ms(SERVICE_ENV.drainDelay),
    healthListen: env[SERVICE_ENV.healthListen] || undefined,
    configure,
  };
}

/** Where to bind: a socket path, or a TCP host and port. Throws when the options are unsafe or malformed. */
export function listenTarget(o: ServiceOptions): { path: string } | { host: string; port: number } {
  const a = parseAddress(o.listen);
  if ('error' in a) throw new Error(`listen: ${a.error}`);
  if (a.scheme === 'unix') return { path: a.path };
  if (a.scheme !== 'tcp')
    throw new Error(
      `listen: expected unix:// or tcp:// (TLS comes from the certificate files), got ${JSON.stringify(o.listen)}`,
    );
  // The gateway's rule (checkListen): reachable from other machines means TLS and a way to
  // tell clients apart; a service has no tokens, so that is a client CA.
  if (!o.insecure && !isLoopback(hostPort(a), true)) {
    if (!o.tls)
      throw new Error(
        `listen: ${hostPort(a)} is off loopback, and no TLS certificate is set: set ${SERVICE_ENV.cert} and ${SERVICE_ENV.key} (and ${SERVICE_ENV.clientCa} for mTLS), or ${SERVICE_ENV.insecure}=1 to serve plaintext on purpose`,
      );
    if (!o.tls.clientCa)
      throw new Error(
        `listen: ${hostPort(a)} is off loopback, and no client CA is set: without one any client that reaches it can call every method. Set ${SERVICE_ENV.clientCa} (mTLS), or ${SERVICE_ENV.insecure}=1 to serve it without client certificates on purpose`,
      );
  }
  return { host: a.host, port: a.port };
}
