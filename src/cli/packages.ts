import { relative } from 'node:path';
import { checkInstalled, listInstalled, newerVersion } from '../packages/installed.js';
import { globalStore, projectStore } from '../packages/store.js';
import { parseCommand } from './args.js';

const HELP = `Usage: driverkit packages [--global] [--offline]

Lists installed driver packages: name, type, version, state (ok, missing, or changed since
install), the index each came from, and whether it has a newer compatible version.

Options:
  -g, --global   the per-user store
      --offline  do not ask the indexes for newer versions
  -h, --help     show this help
`;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand(
    argv,
    { global: { type: 'boolean', short: 'g' }, offline: { type: 'boolean' } },
    HELP,
  );
  if (!args) return 0;
  const store = args.values.global ? globalStore() : projectStore();
  const drivers = await listInstalled(store);
  if (drivers.length === 0) {
    process.stdout.write(
      `no packages installed (${relative('.', store.lockFile) || store.lockFile})\n`,
    );
    return 0;
  }
  for (const d of drivers) {
    const newer = args.values.offline ? undefined : await newerVersion(d);
    const note =
      newer instanceof Error
        ? `(index unreachable: ${newer.message.split('\n')[0]})`
        : newer
          ? `newer: ${newer}`
          : args.values.offline
            ? ''
            : 'newest';
    process.stdout.write(
      `${d.name.padEnd(12)} ${d.type.padEnd(14)} ${d.version.padEnd(9)} ${(await checkInstalled(d)).padEnd(8)} ${d.index}  ${note}\n`.replace(
        / +\n$/,
        '\n',
      ),
    );
  }
  return 0;
}
