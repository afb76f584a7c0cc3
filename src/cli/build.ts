import { access, stat } from 'node:fs/promises';
import { basename, dirname, relative, resolve } from 'node:path';
import { buildDriver } from '../build/build.js';
import { readManifest } from '../build/manifest.js';
import { DEFAULT_CONFIG_FILE, loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { CONFIG_OPTION, parseCommand } from './args.js';

const HELP = `Usage: driverkit build [--config FILE] [FOLDER...]

Builds source drivers into <bin_dir>/<type>/<name>; up-to-date binaries are kept.
Without FOLDERs: every driver of the config whose "driver" is a folder. A FOLDER's type is
its manifest's "type", else the name of its parent folder (drivers/<type>/<name>).

Options:
  -c, --config FILE  config file (default: ${DEFAULT_CONFIG_FILE}); gives bin_dir (default: ./bin)
  -h, --help         show this help
`;

interface Target {
  folder: string;
  type: string;
  name: string;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand(argv, CONFIG_OPTION, HELP);
  if (!args) return 0;
  const folders = args.positionals;
  const config =
    folders.length === 0 || args.values.config || (await exists(DEFAULT_CONFIG_FILE))
      ? await loadConfig(args.values.config)
      : undefined;
  const binDir = config?.binDir ?? resolve('bin');
  const targets = folders.length
    ? await Promise.all(folders.map(folderTarget))
    : await configTargets(config!);
  if (targets.length === 0) {
    process.stdout.write(`nothing to build: no driver in ${config!.file} is a source folder\n`);
    return 0;
  }
  const tty = process.stderr.isTTY;
  for (const t of targets) {
    const t0 = performance.now();
    const result = await buildDriver({
      ...t,
      binDir,
      driver: t.name,
      onBuild: tty
        ? (f) => process.stderr.write(`building ${relative('.', f) || '.'} …\n`)
        : undefined,
    });
    const ms = Math.round(performance.now() - t0);
    process.stdout.write(
      `${result.cached ? 'cached' : 'built '}  ${t.name.padEnd(12)} ${relative('.', result.binary)}  (${result.toolchain}, ${ms} ms)\n`,
    );
  }
  return 0;
}

async function folderTarget(folder: string): Promise<Target> {
  const abs = resolve(folder);
  const manifest = await readManifest(abs);
  return { folder: abs, type: manifest.type ?? basename(dirname(abs)), name: basename(abs) };
}

async function configTargets(config: Config): Promise<Target[]> {
  const out: Target[] = [];
  for (const d of config.drivers)
    if (!d.package && (await isFolder(d.driver)))
      out.push({ folder: d.driver, type: d.type, name: d.name });
  return out;
}

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );
const isFolder = (p: string) =>
  stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
