import { installFile } from '../packages/install-file.js';
import { installGit } from '../packages/install-git.js';
import { installPackage } from '../packages/install.js';
import { listInstalled } from '../packages/installed.js';
import { globalStore, projectStore } from '../packages/store.js';
import { DriverkitError } from '../errors.js';
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

const STRING = { type: 'string' } as const;

const HELP = `Usage: driverkit install [NAME[@RANGE]...] [--index INDEX]... [--global] [--force] [--frozen]
       driverkit install --file ARCHIVE --name NAME --version VERSION --type TYPE [--entry PATH]
       driverkit install --git URL[#REF] [--name NAME]

Installs driver packages from an index into .driverkit/drivers/<name>/<version>/ and records
them in driverkit.lock. Without a RANGE: the locked version, else the highest version that
works with this driverkit on this os/arch. Without NAMEs: everything in driverkit.lock.
With --file: a local .tar.gz (as driverkit pack writes it), no index; the lock records its sha256.
With --git: a source driver's repository (its driverkit.json gives type and version), cloned
at REF, built, and installed like a local archive.

Options:
      --index INDEX  a folder, file: or http(s): URL of an index (repeatable); default:
                     the locked index, else DRIVERKIT_INDEX (comma-separated)
  -g, --global       the per-user store ($DRIVERKIT_HOME, else ~/.local/share/driverkit)
      --force        ignore the packages' driverkit ranges, and allow a downgrade
      --frozen       install exactly what driverkit.lock says; fail rather than change it
      --file ARCHIVE install this archive as --name, --version, --type (--entry: the
                     executable inside it, default its only file)
${TRUSTED_KEY_HELP}
  -h, --help         show this help
`;

export async function run(argv: string[]): Promise<number> {
  const file = { file: STRING, name: STRING, version: STRING, type: STRING, entry: STRING };
  const args = parseCommand(
    argv,
    { ...PACKAGE_OPTIONS, frozen: { type: 'boolean' }, git: STRING, ...file },
    HELP,
  );
  if (!args) return 0;
  const v = args.values as Record<string, unknown>;
  const store = v.global ? globalStore() : projectStore();
  const trustedKeys = await loadTrustedKeys(v['trusted-key'] as string[] | undefined);
  if (v.git !== undefined) {
    if (args.positionals.length > 0 || v.frozen || v.index || v.file !== undefined)
      throw new DriverkitError(
        'USAGE',
        `--git takes no package names, --index, --file or --frozen\n\n${HELP}`,
      );
    const result = await installGit({
      store,
      source: v.git as string,
      name: v.name as string | undefined,
      force: Boolean(v.force),
      trustedKeys,
      onBuild: (n) =>
        process.stderr.write(`driverkit install: building ${n} from ${v.git as string} …\n`),
    });
    process.stdout.write(describeResult(result, store));
    return 0;
  }
  if (v.file !== undefined) {
    if (args.positionals.length > 0 || v.frozen || v.index || !v.name || !v.version || !v.type) {
      throw new DriverkitError(
        'USAGE',
        `--file needs --name, --version and --type, and no package names, --index or --frozen\n\n${HELP}`,
      );
    }
    const s = (k: string) => v[k] as string;
    const result = await installFile({
      store,
      file: s('file'),
      name: s('name'),
      version: s('version'),
      type: s('type'),
      entry: v.entry as string | undefined,
      force: Boolean(v.force),
      trustedKeys,
    });
    process.stdout.write(describeResult(result, store));
    return 0;
  }
  const stray = Object.keys(file).filter((k) => v[k] !== undefined);
  if (stray.length) throw new DriverkitError('USAGE', `--${stray[0]} goes with --file\n\n${HELP}`);
  let specs = args.positionals.map(splitSpec);
  if (specs.length === 0) {
    specs = (await listInstalled(store)).map((d) => ({ name: d.name, range: undefined }));
    if (specs.length === 0)
      throw new DriverkitError(
        'USAGE',
        `nothing to install: name a package, or have a ${store.lockFile}\n\n${HELP}`,
      );
  }
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
      frozen: Boolean(v.frozen),
      onDownload,
      onBuild,
      buildSources: Boolean(v.build),
    });
    process.stdout.write(describeResult(result, store));
  }
  return 0;
}
