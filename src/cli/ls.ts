import { socketsIn, typeAt } from '../host/socket-folder.js';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { relative } from 'node:path';
import { buildStatus } from '../build/build.js';
import { DEFAULT_CONFIG_FILE, loadConfig } from '../config/load.js';
import { readStatus, statusPath } from '../host/status-file.js';
import type { SupervisorStatus } from '../host/supervisor.js';
import { resolveInstalled } from '../packages/installed.js';
import { CONFIG_OPTION, parseCommand } from './args.js';
import { formatTable } from './table.js';

const HELP = `Usage: driverkit ls [--config FILE]

Lists the drivers of a config: name, type, source folder or binary, and state
(source: built, stale or not built; binary: ok or not executable). While "driverkit serve"
runs on the same config, a last column shows each driver's state there (ready,
restarting, failed (given up), ...) with its restart count, last exit and, for a driver
that does not serve, why.

Options:
  -c, --config FILE  config file (default: ${DEFAULT_CONFIG_FILE})
  -h, --help         show this help
`;

function describeRunning(s: SupervisorStatus | undefined): string {
  if (!s) return '-';
  const exit = s.lastExit
    ? s.lastExit.signal
      ? `, last killed by ${s.lastExit.signal}`
      : `, last exit ${s.lastExit.code}`
    : '';
  const label =
    s.state !== 'failed'
      ? `${s.state}${s.backend ? ` (backend ${s.backend})` : ''}`
      : s.nextStartAt
        ? `failed (next start in ${Math.max(0, (s.nextStartAt - Date.now()) / 1000).toFixed(1)} s)`
        : 'failed (given up)';
  const why = s.lastError ? `; ${s.lastError}` : '';
  const replicas = s.replicas
    ? `; replicas ${s.replicas.filter((r) => r.state === 'ready').length}/${s.replicas.length}: ${s.replicas.map((r) => `${r.address} ${r.state}`).join(', ')}`
    : '';
  return `${label}${s.restarts ? `, ${s.restarts} restarts` : ''}${exit}${replicas}${why}`;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand(argv, CONFIG_OPTION, HELP);
  if (!args) return 0;
  const config = await loadConfig(args.values.config);
  const serving = readStatus(statusPath(config.binDir), config.file);
  const rows = await Promise.all(
    config.drivers.map(async (d) => {
      if (d.package) {
        const ref = `${d.package.name}${d.package.range ? `@${d.package.range}` : ''}`;
        const state = await resolveInstalled(d.package.name, d.package.range, config.dir).then(
          (p) => `installed ${p.version}`,
          () => 'not installed',
        );
        const row = [d.name, d.type, 'package', ref, state];
        if (serving) row.push(describeRunning(serving.drivers[d.name]));
        return row;
      }
      if (d.address) {
        const row = [d.name, d.type, 'service', [d.address].flat().join(', '), 'dialed at start'];
        if (serving) row.push(describeRunning(serving.drivers[d.name]));
        return row;
      }
      const isSource = (await stat(d.driver)).isDirectory();
      const state = isSource
        ? await buildStatus({ folder: d.driver, type: d.type, binDir: config.binDir })
        : await access(d.driver, constants.X_OK).then(
            () => 'ok',
            () => 'not executable',
          );
      const row = [
        d.name,
        d.type,
        isSource ? 'source' : 'binary',
        relative('.', d.driver) || '.',
        state,
      ];
      if (serving) row.push(describeRunning(serving.drivers[d.name]));
      return row;
    }),
  );
  // Drivers a socket folder holds besides the configured ones (serve finds them the same way).
  // Only sockets serve would take: another user's are not listed as drivers.
  const found = config.socketDir
    ? (await socketsIn(config.socketDir, config.socketOwner)).sockets
    : [];
  for (const s of found.filter((s) => !config.drivers.some((d) => d.name === s.name))) {
    const type = (await typeAt(s.path, 2000)) ?? '?';
    const row = [
      s.name,
      type,
      'socket',
      relative('.', s.path),
      type === '?' ? 'no DriverInfo' : 'found',
    ];
    if (serving) row.push(describeRunning(serving.drivers[s.name]));
    rows.push(row);
  }
  const table = [
    ['NAME', 'TYPE', 'KIND', 'DRIVER', 'STATE', ...(serving ? [`SERVE (pid ${serving.pid})`] : [])],
    ...rows,
  ];
  process.stdout.write(formatTable(table));
  return 0;
}
