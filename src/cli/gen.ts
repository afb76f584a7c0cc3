import { DriverkitError } from '../errors.js';
import { TypeSpecError } from '../types/driver-types.js';
import { GenError, generate } from '../types/gen.js';
import { parseCommand } from './args.js';

const HELP = `Usage: driverkit gen [--out DIR] [-I DIR]... PROTO...

Turns .proto files into TypeScript for hosts and drivers: ts-proto's code for every
message and service, and for each driver type (a service with the (driverkit.driver)
option) a contract module DIR/contracts/<type>.ts to pass to startDriver, openHost
({ contracts }) and serve. Needs @bufbuild/buf and ts-proto in the project
(npm install --save-dev @bufbuild/buf ts-proto); no global tools.

Options:
  -o, --out DIR              output folder (default: src/gen)
  -I, --include DIR          import root, as protoc's -I (repeatable; default: .)
  -h, --help                 show this help

Example:
  driverkit gen -I proto proto/kv/v1/kv.proto
`;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand(argv, { out: { type: 'string', short: 'o' }, include: { type: 'string', short: 'I', multiple: true } }, HELP);
  if (!args) return 0;
  if (args.positionals.length === 0) throw new DriverkitError('USAGE', `expected at least one .proto file\n\n${HELP}`);
  const include = args.values.include as unknown as string[] | undefined;
  try {
    const { types, files } = await generate({ protos: args.positionals, include, out: args.values.out ?? 'src/gen' });
    process.stdout.write(`driverkit gen: ${files.length} files; driver types: ${types.join(', ') || '(none: no service has the (driverkit.driver) option)'}\n`);
    return 0;
  } catch (err) {
    if (err instanceof GenError) throw new DriverkitError('GEN_FAILED', err.message, { cause: err });
    // protobufjs's parse errors name the file and line; TypeSpecError names the service.
    throw new DriverkitError('PROTO_INVALID', err instanceof TypeSpecError ? err.message : `cannot read the protos: ${(err as Error).message}`, { cause: err });
  }
}
