// `driverkit serve`'s admin endpoint, plain HTTP: `/metrics` for Prometheus and `/status`
// (JSON) for `driverkit status`. Loopback, or behind a bearer token (config checks that).
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { SupervisorStatus } from '../host/supervisor.js';
import type { HostMetrics } from '../metrics/host-metrics.js';
import { LiveStats } from '../metrics/live.js';
import { DriverkitError } from '../errors.js';
import { groupRss } from '../pid.js';

/** What `/status` says of one driver. Times in seconds. */
export interface DriverStatusRow {
  name: string;
  type: string;
  state: string;
  pid?: number;
  uptimeSeconds?: number;
  restarts: number;
  callsPerSecond: number;
  errorRatio: number;
  p50?: number;
  p99?: number;
  rssBytes?: number;
  replicas?: ReadonlyArray<{ address: string; state: string }>;
  /** Why it does not serve, while `failed` or `exited`. */
  lastError?: string;
  /** While `failed`: when its next start is due (epoch ms). */
  nextStartAt?: number;
  /** While ready: NOT_SERVING when its own health says its backend is down. */
  backend?: 'NOT_SERVING';
}

/** The body of `/status`. */
export interface AdminStatus {
  pid: number;
  config: string;
  address?: string;
  drivers: DriverStatusRow[];
}

/** What the admin endpoint reads: the host's drivers and where it serves. */
export interface AdminSource {
  config: { file: string; drivers: ReadonlyArray<{ name: string; type: string }> };
  status(): Record<string, SupervisorStatus>;
  readonly address?: string;
}

/** A running admin endpoint. */
export interface Admin {
  /** `HOST:PORT` it listens on (the port chosen, for port 0). */
  readonly address: string;
  close(): Promise<void>;
}

/** Starts the admin endpoint on `listen`; with `token`, every request must carry it. */
export async function startAdmin(
  source: AdminSource,
  metrics: HostMetrics,
  listen: string,
  token?: string,
): Promise<Admin> {
  const live = new LiveStats(metrics);
  live.start();
  const server = createServer((req, res) => {
    if (token !== undefined && !bearerMatches(req, token)) {
      res.writeHead(401, { 'www-authenticate': 'Bearer' }).end('unauthorized\n');
      return;
    }
    // Without a token, loopback is the boundary: a page in the user's browser that rebinds
    // its own name to 127.0.0.1 still sends that name, and is refused.
    if (token === undefined && !loopbackHost(req.headers.host)) {
      res.writeHead(403).end('forbidden: the Host header must name loopback\n');
      return;
    }
    const path = new URL(req.url ?? '/', 'http://admin').pathname;
    const answer =
      path === '/metrics'
        ? metrics.registry.metrics().then((body) => ({
            type: metrics.registry.contentType,
            body,
          }))
        : path === '/status'
          ? statusOf(source, live).then((s) => ({
              type: 'application/json',
              body: `${JSON.stringify(s)}\n`,
            }))
          : undefined;
    if (!answer) {
      res.writeHead(404).end('not found: /metrics or /status\n');
      return;
    }
    answer.then(
      ({ type, body }) => res.writeHead(200, { 'content-type': type }).end(body),
      () => res.writeHead(500).end('internal error\n'),
    );
  });
  const at = listen.lastIndexOf(':');
  const host = listen.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(
        new DriverkitError(
          'INVALID_OPTIONS',
          `cannot listen on ${listen} ([gateway] admin_listen): ${err.message}`,
        ),
      ),
    );
    server.listen(Number(listen.slice(at + 1)), host, resolve);
  });
  const port = (server.address() as { port: number }).port;
  return {
    address: `${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () => closeServer(server, live),
  };
}

function closeServer(server: Server, live: LiveStats): Promise<void> {
  live.stop();
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Compared as digests, so that neither the token nor its length shows in the timing. */
function bearerMatches(req: IncomingMessage, token: string): boolean {
  const got = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(got), digest(token));
}

/** Whether a Host header names loopback: 127.x, [::1] or localhost, with any port. */
function loopbackHost(host: string | undefined): boolean {
  const name = (host ?? '').replace(/:\d+$/, '');
  return name === 'localhost' || name === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(name);
}

async function statusOf(source: AdminSource, live: LiveStats): Promise<AdminStatus> {
  const rates = await live.rates();
  const now = Date.now();
  const status = source.status();
  return {
    pid: process.pid,
    config: source.config.file,
    address: source.address,
    drivers: source.config.drivers.map(({ name, type }) => {
      const s = status[name];
      const r = rates.get(name);
      return {
        name,
        type,
        state: s?.state ?? 'stopped',
        pid: s?.pid,
        uptimeSeconds: s?.readySince ? (now - s.readySince) / 1000 : undefined,
        restarts: s?.restarts ?? 0,
        callsPerSecond: r?.callsPerSecond ?? 0,
        errorRatio: r?.errorRatio ?? 0,
        p50: r?.p50,
        p99: r?.p99,
        rssBytes: s?.pid ? groupRss(s.pid) : undefined,
        replicas: s?.replicas,
        lastError: s?.lastError,
        nextStartAt: s?.nextStartAt,
        backend: s?.backend,
      };
    }),
  };
}
