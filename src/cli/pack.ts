import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DriverkitError } from '../errors.js';
import { addToIndex } from '../packages/index-write.js';
import { packDriver } from '../packages/pack.js';
import { parseCommand } from './args.js';

const HELP = `Usage: driverkit pack FILE|FOLDER --name NAME --version VERSION --type TYPE [options]

Turns a built driver (an executable, or a folder with --entry) into NAME-VERSION-OS-ARCH.tar.gz
and prints its manifest, sha256 filled in, ready for an index (NAME/VERSION.json).

Options:
      --name NAME         the package name
      --version VERSION   its exact semver version
      --type TYPE         the driver type it implements
      --entry PATH        the executable inside FOLDER
      --driverkit RANGE   the driverkit versions it works with (default: ^ this version)
      --url URL           where the archive will be served (default: its file name, beside the manifest)
      --description, --license, --homepage TEXT
      --out DIR           where to write the archive (default: .)
      --index DIR         add to a folder index instead: archive, manifest and versions.json
  -h, --help              show this help
`;

const STRING = { type: 'string' } as const;

export async function run(argv: string[]): Promise<number> {
  const options = { name: STRING, version: STRING, type: STRING, entry: STRING, driverkit: STRING, url: STRING, description: STRING, license: STRING, homepage: STRING, out: STRING, index: STRING };
  const args = parseCommand(argv, options, HELP);
  if (!args) return 0;
  const v = args.values;
  if (args.positionals.length !== 1 || !v.name || !v.version || !v.type) throw new DriverkitError('USAGE', `name one driver, with --name, --version and --type\n\n${HELP}`);
  const packed = await packDriver({ ...v, input: args.positionals[0], name: v.name, version: v.version, type: v.type });
  if (v.index) {
    const file = await addToIndex(resolve(v.index), packed);
    process.stderr.write(`added ${file}\n`);
  } else {
    const file = join(v.out ?? '.', packed.fileName);
    await writeFile(file, packed.archive);
    process.stderr.write(`wrote ${file}\n`);
  }
  process.stdout.write(`${JSON.stringify(packed.manifest, null, 2)}\n`);
  return 0;
}
