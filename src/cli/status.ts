import { DEFAULT_CONFIG_FILE, loadConfig } from '../config/load.js';
import { DriverkitError } from '../errors.js';
import type { AdminStatus, DriverStatusRow } from '../gateway/admin.js';
import { readStatus, statusPath } from '../host/status-file.js';
import { adminToken } from './admin-token.js';
import { CONFIG_OPTION, parseCommand } from './args.js';
import { formatTable } from './table.js';

const HELP = `Usage: driverkit status [--config FILE] [--admin HOST:PORT] [--watch] [--json]

Shows what a running "driverkit serve" is doing, driver by driver: state, pid, uptime,
restarts, calls per second, the ratio of calls that failed on the driver's side (UNKNOWN,
INTERNAL, UNAVAILABLE, DEADLINE_EXCEEDED, UNIMPLEMENTED, DATA_LOSS), latency p50 and p99,
and the resident memory of its process group. Rates cover the last 10 seconds. It asks the
admin endpoint of serve ([gateway] admin_listen), sending admin_token_file's token.

Options:
  -c, --config FILE     config file (default: ${DEFAULT_CONFIG_FILE}); finds the serve of it
  -a, --admin HOST:PORT the admin endpoint to ask (default: the one serve of the config published,
                        else the config's admin_listen)
  -w, --watch           redraw every second until interrupted (Ctrl-C)
      --json            print /status as JSON
  -h, --help            show this help
`;

const WATCH_MS = 1_000;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand(
    argv,
    {
      ...CONFIG_OPTION,
      admin: { type: 'string', short: 'a' },
      watch: { type: 'boolean', short: 'w' },
      json: { type: 'boolean' },
    },
    HELP,
  );
  if (!args) return 0;
  const config = await loadConfig(args.values.config);
  const address =
    args.values.admin ??
    readStatus(statusPath(config.binDir), config.file)?.admin ??
    config.gateway.adminListen;
  if (!address)
    throw new DriverkitError(
      'USAGE',
      `${config.file}: no admin endpoint: set [gateway] admin_listen and run "driverkit serve", or pass --admin HOST:PORT`,
    );
  const token = await adminToken(config);
  // Ctrl-C ends a watch at once, also while a request hangs.
  const interrupted = new AbortController();
  const show = async () => {
    const status = await fetchStatus(address, token, interrupted.signal);
    return args.values.json ? `${JSON.stringify(status, null, 2)}\n` : render(status);
  };
  if (!args.values.watch) {
    process.stdout.write(await show());
    return 0;
  }
  // Redraws in place: home, clear to the end, the table. Ctrl-C ends it.
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  process.once('SIGINT', () => {
    interrupted.abort();
    stop();
  });
  while (true) {
    const out = await show().catch((err: Error) => `driverkit status: ${err.message}\n`);
    if (interrupted.signal.aborted) return 0;
    process.stdout.write(`\x1b[H\x1b[J${new Date().toISOString()}  ${address}\n\n${out}`);
    let timer: NodeJS.Timeout | undefined;
    const tick = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), WATCH_MS);
    });
    const more = await Promise.race([tick, stopped.then(() => false)]);
    clearTimeout(timer);
    if (!more) return 0;
  }
}

/** How long /status may take to answer: serve answers it from memory. */
const REQUEST_TIMEOUT_MS = 5_000;

async function fetchStatus(
  address: string,
  token: string | undefined,
  interrupted: AbortSignal,
): Promise<AdminStatus> {
  const url = `http://${address}/status`;
  let res: Response;
  try {
    res = await fetch(url, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.any([interrupted, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
    });
  } catch (err) {
    const why = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new DriverkitError(
      'CONNECT_FAILED',
      `cannot reach the admin endpoint at ${url} (${why}): is "driverkit serve" running with [gateway] admin_listen?`,
    );
  }
  if (res.status === 401)
    throw new DriverkitError(
      'CONNECT_FAILED',
      `${url}: 401 unauthorized: expected the token of [gateway] admin_token_file`,
    );
  if (!res.ok) throw new DriverkitError('CONNECT_FAILED', `${url}: HTTP ${res.status}`);
  return (await res.json()) as AdminStatus;
}

/** The table `driverkit status` prints, one driver a row. */
export function render(status: AdminStatus): string {
  const head = `serve pid ${status.pid}, ${status.config}${status.address ? `, gRPC on ${status.address}` : ''}\n`;
  const rows = status.drivers.map((d: DriverStatusRow) => [
    d.name,
    d.type,
    d.state + (d.backend ? ` (backend ${d.backend})` : '') + replicas(d),
    d.pid ? String(d.pid) : '-',
    d.uptimeSeconds === undefined ? '-' : duration(d.uptimeSeconds),
    String(d.restarts),
    d.callsPerSecond.toFixed(1),
    `${(d.errorRatio * 100).toFixed(1)}%`,
    latency(d.p50),
    latency(d.p99),
    d.rssBytes === undefined ? '-' : `${(d.rssBytes / 2 ** 20).toFixed(1)}MiB`,
  ]);
  return (
    head +
    formatTable([
      [
        'DRIVER',
        'TYPE',
        'STATE',
        'PID',
        'UPTIME',
        'RESTARTS',
        'CALLS/S',
        'ERRORS',
        'P50',
        'P99',
        'RSS',
      ],
      ...rows,
    ]) +
    status.drivers
      .filter((d) => d.lastError)
      .map((d) => `${d.name} does not serve: ${d.lastError}\n`)
      .join('')
  );
}

const replicas = (d: DriverStatusRow) =>
  d.replicas
    ? ` (${d.replicas.filter((r) => r.state === 'ready').length}/${d.replicas.length} replicas)`
    : '';

function duration(seconds: number): string {
  const s = Math.floor(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400)
    return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

function latency(seconds: number | undefined): string {
  if (seconds === undefined) return '-';
  return seconds < 1
    ? `${(seconds * 1000).toFixed(seconds < 0.01 ? 2 : 1)}ms`
    : `${seconds.toFixed(2)}s`;
}
