import { DriverkitError } from '../errors.js';
import { uninstallPackage } from '../packages/install.js';
import { NAME_PATTERN } from '../packages/manifest.js';
import { globalStore, projectStore } from '../packages/store.js';
import { parseCommand } from './args.js';

const HELP = `Usage: driverkit uninstall NAME... [--global]

Removes installed driver packages and their driverkit.lock entries.

Options:
  -g, --global  the per-user store
  -h, --help    show this help
`;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand(argv, { global: { type: 'boolean', short: 'g' } }, HELP);
  if (!args) return 0;
  if (args.positionals.length === 0)
    throw new DriverkitError('USAGE', `name a package to uninstall\n\n${HELP}`);
  const store = args.values.global ? globalStore() : projectStore();
  for (const name of args.positionals) {
    if (!NAME_PATTERN.test(name))
      throw new DriverkitError('USAGE', `not a package name: ${JSON.stringify(name)}`);
    process.stdout.write(`removed    ${name} ${await uninstallPackage(store, name)}\n`);
  }
  return 0;
}
