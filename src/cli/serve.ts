import { DEFAULT_CONFIG_FILE, loadConfig } from '../config/load.js';
import { startGateway } from '../gateway/gateway.js';
import { consoleLogger, jsonLogger, type Logger } from '../launch/logger.js';
import { DriverHost } from '../host/host.js';
import type { Admin } from '../gateway/admin.js';
import type { HostMetrics } from '../metrics/host-metrics.js';
import { adminToken } from './admin-token.js';
import { readStatus, removeStatus, statusPath, writeStatus } from '../host/status-file.js';
import { CONFIG_OPTION, parseCommand } from './args.js';
import { gatewaySecurity } from './gateway-security.js';
import { checkListen } from '../gateway/security.js';
import { DriverkitError } from '../errors.js';
import { processStartTime } from '../pid.js';
import { createServer } from 'node:net';

const DEFAULT_LISTEN = '127.0.0.1:50051';

const HELP = `Usage: driverkit serve [--config FILE] [--listen HOST:PORT] [--watch]

Starts every driver of the config (building source drivers first), then serves all their
services on one gRPC address, relaying each call to a driver. It listens once the required
drivers serve; a driver that fails to start is retried on its restart backoff, its calls
fail at once meanwhile, and the line under "serving" names it. With several drivers of one
type, the metadata header "driverkit-driver: NAME" picks one; without it, the first of
that type in the config answers. grpc.health.v1 answers for "" (the required drivers, or
all), each service name and each driver name: SERVING when its process is ready and its
own health says so (a backend that is down is NOT_SERVING). SIGINT or SIGTERM drains: health says
NOT_SERVING ([gateway] drain_delay long, cut short by a second signal), calls in flight
finish (drain_grace), then everything closes and serve exits 0. SIGHUP reloads the config:
drivers added start, removed ones drain and stop, changed ones are swapped (a new process
beside the old, which finishes its calls), and an invalid file changes nothing.

Options:
  -c, --config FILE        config file (default: ${DEFAULT_CONFIG_FILE})
      --mode MODE          development (the default: builds source drivers) or production
                           (builds and downloads nothing; JSON logs); default: the config's "mode"
  -l, --listen HOST:PORT   address to serve on (default: the config's "listen", else ${DEFAULT_LISTEN};
                           port 0 picks a free one)
  -w, --watch              development: rebuild a source driver when its files change and swap
                           it in without a failed call; reload the config when it changes
  -h, --help               show this help
`;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand(
    argv,
    {
      ...CONFIG_OPTION,
      listen: { type: 'string', short: 'l' },
      mode: { type: 'string' },
      watch: { type: 'boolean', short: 'w' },
    },
    HELP,
  );
  if (!args) return 0;
  const loaded = await loadConfig(args.values.config);
  const mode = args.values.mode ?? loaded.mode;
  if (mode !== 'development' && mode !== 'production')
    throw new DriverkitError(
      'USAGE',
      `--mode: expected "development" or "production", got ${JSON.stringify(mode)}\n\n${HELP}`,
    );
  if (mode === 'production' && args.values.watch)
    throw new DriverkitError(
      'USAGE',
      `--watch rebuilds drivers at run time, which production mode never does: use --mode development\n\n${HELP}`,
    );
  const config: typeof loaded = { ...loaded, mode };
  // Production: JSON lines for a log collector, and nothing built or downloaded, checked
  // for every entry before any driver starts.
  const logger = mode === 'production' ? jsonLogger() : consoleLogger();
  if (mode === 'production') await (await import('../host/production.js')).checkProduction(config);
  let publish = () => {};
  const adminListen = config.gateway.adminListen;
  // prom-client loads only for a config that serves metrics.
  const metrics = adminListen ? await serveMetrics() : undefined;
  const host = new DriverHost(config, {
    logger,
    metrics,
    onBuild: (e) =>
      logger.log('info', 'building driver from source', { driver: e.name, folder: e.driver }),
    onState: () => publish(),
  });
  let admin: Admin | undefined;
  const statusFile = statusPath(host.config.binDir);
  // driverkit ls reads this to show each driver's state (ready, restarting, failed, ...).
  // Another serve of this config, still running, keeps the file: this one only reports its own.
  publish = () => {
    const other = readStatus(statusFile, host.config.file);
    if (!other || other.pid === process.pid)
      writeStatus(statusFile, {
        pid: process.pid,
        startTime: processStartTime(process.pid),
        config: host.config.file,
        address: gateway?.address,
        admin: admin?.address,
        drivers: host.status(),
      });
  };
  let stopping: Promise<void> | undefined;
  let skipDelay: (() => void) | undefined;
  let closeWatch = () => {};
  const stop = () =>
    (stopping ??= (async () => {
      logger.log('info', 'stopping', {});
      closeWatch();
      // Readiness first: a load balancer stops sending, then calls in flight finish.
      gateway?.drain();
      const { drainDelay = 0, drainGrace = 10_000 } = host.config.gateway;
      if (gateway && drainDelay > 0) {
        logger.log('info', 'draining: health NOT_SERVING', { delay_ms: drainDelay });
        // A second signal ends the delay.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, drainDelay);
          skipDelay = () => (clearTimeout(timer), resolve());
        });
      }
      try {
        await gateway?.close(drainGrace);
        await host.close();
      } finally {
        // The admin endpoint last: it shows the drain; and it must not keep serve alive.
        await admin?.close();
      }
      removeStatus(statusFile);
    })());
  // Signals during start-up must also close what has started.
  let gateway: Awaited<ReturnType<typeof startGateway>> | undefined;
  const stopped = new Promise<void>((resolve) => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const)
      process.on(sig, () => (stopping ? skipDelay?.() : void stop().then(resolve)));
  });
  // One reload at a time, from SIGHUP or --watch: one during another runs after it (the
  // file may have changed again), and one that fails does not stop the next.
  let reloading: Promise<unknown> = Promise.resolve();
  let refreshWatch = async () => {};
  const reload = () => {
    const run = reloading.then(async () => {
      const { reloadConfig } = await import('./serve-reload.js');
      const report = await reloadConfig(host, () => gateway, logger);
      await refreshWatch();
      publish();
      return report;
    });
    reloading = run.catch(() => {});
    return run;
  };
  // Before the gateway serves, there is no running config to change yet.
  process.on('SIGHUP', () => {
    if (stopping) return;
    if (!gateway) logger.log('warn', 'SIGHUP during start-up: no reload', {});
    else void reload().catch(() => {});
  });
  try {
    const listen = args.values.listen ?? host.config.listen ?? DEFAULT_LISTEN;
    const security = await gatewaySecurity(host.config);
    // Refuse an exposed address before any driver starts.
    const refusal = checkListen(listen, security);
    if (refusal)
      throw new DriverkitError(
        'CONFIG_INVALID',
        `${host.config.file}: ${refusal} ([gateway] tls_cert, tls_key, tokens_file or client_ca; or insecure = true)`,
      );
    // A taken address is found before any driver starts (or builds).
    await checkAddressFree(listen);
    if (metrics && adminListen) {
      const token = await adminToken(host.config);
      const { startAdmin } = await import('../gateway/admin.js');
      // Up before the drivers, so a slow start shows in `driverkit status`.
      admin = await startAdmin(
        {
          config: host.config,
          status: () => host.status(),
          get address() {
            return gateway?.address;
          },
        },
        metrics,
        adminListen,
        token,
      );
      publish();
      logger.log('info', 'admin endpoint: /metrics and /status', { address: admin.address });
    }
    // Drivers in socket_dir join those of the config, now and as their sockets come and go.
    await host.discover();
    host.watchSockets();
    const others = startDrivers(host, logger);
    await others.required;
    // A signal during the start closed the drivers (failing their start): nothing to serve.
    if (stopping) {
      await stopping;
      return 0;
    }
    // The gateway listens once the required drivers serve; the others' calls wait for their
    // start (or fail fast once it failed), and health says NOT_SERVING until they serve.
    gateway = await startGateway(host, listen, security, (level, message, fields) =>
      logger.log(level, message, fields),
    );
    await others.rest;
  } catch (err) {
    // A signal during start-up closes the drivers, which fails the start: that is a clean stop.
    if (stopping) {
      await stopping;
      return 0;
    }
    await stop();
    throw err;
  }
  publish();
  if (args.values.watch) {
    const { watchHost } = await import('../host/watch.js');
    const watch = watchHost(host, { logger, reloadConfig: reload, onSwap: () => publish() });
    closeWatch = watch.close;
    refreshWatch = watch.refresh;
    // "serving" below also means: an edit from now on is seen.
    await watch.ready;
    logger.log('info', 'watching source drivers and the config for changes', {});
  }
  process.stdout.write(banner(host, gateway.address));
  await stopped;
  return 0;
}

/**
 * Starts every driver. `required` settles when the required ones serve (rejects if one
 * cannot); `rest` when every other one's first start has ended. One that fails its first
 * start does not take the others down: it is logged and retried on its restart backoff
 * (NOT_SERVING meanwhile).
 */
function startDrivers(
  host: DriverHost,
  logger: Logger,
): { required: Promise<unknown>; rest: Promise<unknown> } {
  const { drivers } = host.config;
  const rest = drivers
    .filter((d) => !d.required)
    .map((d) =>
      host.driver(d.name).catch((err: unknown) =>
        logger.log('error', 'driver failed to start; serving the others', {
          driver: d.name,
          error: err instanceof Error ? err.message : String(err),
        }),
      ),
    );
  const required = Promise.all(drivers.filter((d) => d.required).map((d) => host.driver(d.name)));
  return { required, rest: Promise.all(rest) };
}

/** "serving" and the drivers, then a line for those that do not serve, with why. */
function banner(host: DriverHost, address: string): string {
  const status = host.status();
  const down = host.config.drivers
    .filter((d) => !host.isReady(d.name))
    .map((d) => {
      const s = status[d.name];
      return `${d.name} (${s?.state ?? 'stopped'}${s?.lastError ? `: ${s.lastError}` : ''})`;
    });
  const names = host.config.drivers.map((d) => d.name).join(', ');
  const line = `driverkit: serving ${names} on ${address}\n`;
  return down.length ? `${line}driverkit: not serving: ${down.join('; ')}\n` : line;
}

/** The host's metrics and the serving process's own (Node's heap, event loop, CPU). */
async function serveMetrics(): Promise<HostMetrics> {
  const [{ HostMetrics }, { collectDefaultMetrics }] = await Promise.all([
    import('../metrics/host-metrics.js'),
    import('prom-client'),
  ]);
  const metrics = new HostMetrics();
  collectDefaultMetrics({ register: metrics.registry });
  return metrics;
}

/** Fails with the address and the way out when another process listens on `listen` already. */
async function checkAddressFree(listen: string): Promise<void> {
  const at = listen.lastIndexOf(':');
  const host = listen.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  const port = Number(listen.slice(at + 1));
  if (!port) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new DriverkitError(
              'INVALID_OPTIONS',
              `cannot listen on ${listen}: the address is taken by another process; choose another with --listen HOST:PORT (or listen = "..." in the config)`,
            )
          : err,
      ),
    );
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}
