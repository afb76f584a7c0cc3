import { rmSync } from 'node:fs';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DriverkitError } from '../errors.js';
import { addToIndex } from '../packages/index-write.js';
import { buildDriver } from '../build/build.js';
import { packDriver } from '../packages/pack.js';
import { writeKeyPair } from '../packages/signature.js';
import { parseCommand } from './args.js';

const HELP = `Usage: driverkit pack FILE|FOLDER --name NAME --version VERSION --type TYPE [options]
       driverkit pack --new-key BASE

Turns a driver (an executable, a folder with --entry, or a source folder, which it builds
first as driverkit build does) into NAME-VERSION-OS-ARCH.tar.gz and prints its manifest,
sha256 filled in, ready for an index (NAME/VERSION.json).

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
      --sign KEY.pem      sign the manifest with this ed25519 private key
      --new-key BASE      write a new ed25519 key pair, BASE.pem (private) and BASE.pub.pem
                          (give operators this one, for --trusted-key), and pack nothing
  -h, --help              show this help
`;

const STRING = { type: 'string' } as const;

/** A source folder (a folder without --entry) is built first, into a temp folder; anything else is packed as it is. */
async function builtInput(input: string, entry: string | undefined, type: string): Promise<string> {
  if (
    entry !== undefined ||
    !(await stat(input).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  )
    return input;
  process.stderr.write(`driverkit pack: building ${input} …\n`);
  const out = await mkdtemp(join(tmpdir(), 'driverkit-pack-'));
  process.once('exit', () => rmSync(out, { recursive: true, force: true }));
  return (await buildDriver({ folder: resolve(input), type, binDir: out })).binary;
}

export async function run(argv: string[]): Promise<number> {
  const options = {
    name: STRING,
    version: STRING,
    type: STRING,
    entry: STRING,
    driverkit: STRING,
    url: STRING,
    description: STRING,
    license: STRING,
    homepage: STRING,
    out: STRING,
    index: STRING,
    sign: STRING,
    'new-key': STRING,
  };
  const args = parseCommand(argv, options, HELP);
  if (!args) return 0;
  const v = args.values;
  if (v['new-key']) {
    const { privateFile, publicFile } = await writeKeyPair(v['new-key']);
    process.stdout.write(
      `wrote ${privateFile} (keep it secret: pack --sign ${privateFile}) and ${publicFile} (for install --trusted-key)\n`,
    );
    return 0;
  }
  if (args.positionals.length !== 1 || !v.name || !v.version || !v.type)
    throw new DriverkitError(
      'USAGE',
      `name one driver, with --name, --version and --type\n\n${HELP}`,
    );
  const signingKey = v.sign
    ? await readFile(v.sign).catch((err: Error) => {
        throw new DriverkitError('USAGE', `--sign ${v.sign}: ${err.message}`);
      })
    : undefined;
  const packed = await packDriver({
    ...v,
    input: await builtInput(args.positionals[0], v.entry, v.type),
    name: v.name,
    version: v.version,
    type: v.type,
    signingKey,
  });
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
