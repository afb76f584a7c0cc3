import { DriverkitError } from '../errors.js';
import { installPackage } from '../packages/install.js';
import { listInstalled } from '../packages/installed.js';
import { globalStore, projectStore } from '../packages/store.js';
import { parseCommand } from './args.js';
import { loadTrustedKeys } from '../packages/signature.js';
import {
  cancelledBySignals,
  describeResult,
  onBuild,
  onDownload,
  PACKAGE_OPTIONS,
  splitSpec,
  TRUSTED_KEY_HELP,
} from './package-args.js';

const HELP = `Usage: driverkit upgrade NAME[@RANGE]... | --all [--index INDEX]... [--global] [--force]

Moves installed packages to the highest version that works with this driverkit on this
os/arch, and updates driverkit.lock. A lower version than the installed one is refused
unless --force.

Options:
      --all          every installed package
      --index INDEX  index to look in (repeatable); default: each package's locked index
  -g, --global       the per-user store
      --force        ignore the packages' driverkit ranges, and allow a downgrade
${TRUSTED_KEY_HELP}
  -h, --help         show this help
`;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand(argv, { ...PACKAGE_OPTIONS, all: { type: 'boolean' } }, HELP);
  if (!args) return 0;
  const v = args.values as Record<string, unknown>;
  const store = v.global ? globalStore() : projectStore();
  if (Boolean(v.all) === args.positionals.length > 0)
    throw new DriverkitError(
      'USAGE',
      `name the packages to upgrade, or pass --all (not both)\n\n${HELP}`,
    );
  const specs = v.all
    ? (await listInstalled(store)).map((d) => ({ name: d.name, range: undefined }))
    : args.positionals.map(splitSpec);
  const trustedKeys = await loadTrustedKeys(v['trusted-key'] as string[] | undefined);
  const signal = cancelledBySignals();
  for (const { name, range } of specs) {
    const result = await installPackage({
      store,
      name,
      range,
      indexes: v.index as string[] | undefined,
      force: Boolean(v.force),
      trustedKeys,
      newSigner: Boolean(v['new-signer']),
      signal,
      upgrade: true,
      onDownload,
      onBuild,
      buildSources: Boolean(v.build),
    });
    process.stdout.write(describeResult(result, store));
  }
  return 0;
}
