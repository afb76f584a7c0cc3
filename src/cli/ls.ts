import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { relative } from 'node:path';
import { buildStatus } from '../build/build.js';
import { DEFAULT_CONFIG_FILE, loadConfig } from '../config/load.js';
import { CONFIG_OPTION, parseCommand } from './args.js';

const HELP = `Usage: driverkit ls [--config FILE]

Lists the drivers of a config: name, type, source folder or binary, and state
(source: built, stale or not built; binary: ok or not executable).

Options:
  -c, --config FILE  config file (default: ${DEFAULT_CONFIG_FILE})
  -h, --help         show this help
`;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand(argv, CONFIG_OPTION, HELP);
  if (!args) return 0;
  const config = await loadConfig(args.values.config);
  const rows = await Promise.all(
    config.drivers.map(async (d) => {
      const isSource = (await stat(d.driver)).isDirectory();
      const state = isSource
        ? await buildStatus({ folder: d.driver, type: d.type, binDir: config.binDir })
        : await access(d.driver, constants.X_OK).then(() => 'ok', () => 'not executable');
      return [d.name, d.type, isSource ? 'source' : 'binary', relative('.', d.driver) || '.', state];
    }),
  );
  const table = [['NAME', 'TYPE', 'KIND', 'DRIVER', 'STATE'], ...rows];
  const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
  for (const r of table) process.stdout.write(r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ') + '\n');
  return 0;
}
