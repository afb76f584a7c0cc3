import { installPackage } from '../packages/install.js';
import { listInstalled } from '../packages/installed.js';
import { globalStore, projectStore } from '../packages/store.js';
import { DriverkitError } from '../errors.js';
import { parseCommand } from './args.js';
import { describeResult, onDownload, PACKAGE_OPTIONS, splitSpec } from './package-args.js';

const HELP = `Usage: driverkit install [NAME[@RANGE]...] [--index INDEX]... [--global] [--force] [--frozen]

Installs driver packages from an index into .driverkit/drivers/<name>/<version>/ and records
them in driverkit.lock. Without a RANGE: the locked version, else the highest version that
works with this driverkit on this os/arch. Without NAMEs: everything in driverkit.lock.

Options:
      --index INDEX  a folder, file: or http(s): URL of an index (repeatable); default:
                     the locked index, else DRIVERKIT_INDEX (comma-separated)
  -g, --global       the per-user store ($DRIVERKIT_HOME, else ~/.local/share/driverkit)
      --force        ignore the packages' driverkit ranges, and allow a downgrade
      --frozen       install exactly what driverkit.lock says; fail rather than change it
  -h, --help         show this help
`;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand(argv, { ...PACKAGE_OPTIONS, frozen: { type: 'boolean' } }, HELP);
  if (!args) return 0;
  const v = args.values as Record<string, unknown>;
  const store = v.global ? globalStore() : projectStore();
  let specs = args.positionals.map(splitSpec);
  if (specs.length === 0) {
    specs = (await listInstalled(store)).map((d) => ({ name: d.name, range: undefined }));
    if (specs.length === 0) throw new DriverkitError('USAGE', `nothing to install: name a package, or have a ${store.lockFile}\n\n${HELP}`);
  }
  for (const { name, range } of specs) {
    const result = await installPackage({ store, name, range, indexes: v.index as string[] | undefined, force: Boolean(v.force), frozen: Boolean(v.frozen), onDownload });
    process.stdout.write(describeResult(result, store));
  }
  return 0;
}
