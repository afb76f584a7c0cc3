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
      --type NAME            for a proto without the (driverkit.driver) option: a contract
      --service FULLNAME       for this service, with this handshake (all four together;
      --cookie-key KEY         --version defaults to 1)
      --cookie-value VALUE
      --version N
  -h, --help                 show this help

Example:
  driverkit gen -I proto proto/kv/v1/kv.proto
`;

export async function run(argv: string[]): Promise<number> {
  const text = { type: 'string' } as const;
  const args = parseCommand(
    argv,
    {
      out: { type: 'string', short: 'o' },
      include: { type: 'string', short: 'I', multiple: true },
      type: text,
      service: text,
      'cookie-key': text,
      'cookie-value': text,
      version: text,
    },
    HELP,
  );
  if (!args) return 0;
  const usage = (message: string) => new DriverkitError('USAGE', `${message}\n\n${HELP}`);
  if (args.positionals.length === 0) throw usage('expected at least one .proto file');
  const include = args.values.include as unknown as string[] | undefined;
  const { type, service, 'cookie-key': cookieKey, 'cookie-value': cookieValue } = args.values;
  const given = [type, service, cookieKey, cookieValue].filter((x) => x !== undefined).length;
  if (given !== 0 && given !== 4)
    throw usage('--type, --service, --cookie-key and --cookie-value go together');
  const version = Number(args.values.version ?? 1);
  if (!Number.isInteger(version) || version < 1)
    throw usage(
      `--version: expected an app protocol version of 1 or more, got ${JSON.stringify(args.values.version)}`,
    );
  const extra =
    given === 4
      ? {
          type: type!,
          service: service!,
          cookieKey: cookieKey!,
          cookieValue: cookieValue!,
          version,
        }
      : undefined;
  try {
    const { types, files } = await generate({
      protos: args.positionals,
      include,
      out: args.values.out ?? 'src/gen',
      type: extra,
    });
    process.stdout.write(
      `driverkit gen: ${files.length} files; driver types: ${types.join(', ') || '(none: no service has the (driverkit.driver) option)'}\n` +
        'The code uses Node\'s Buffer for bytes fields: compile it with @types/node and "types": ["node"] in tsconfig.json.\n',
    );
    return 0;
  } catch (err) {
    if (err instanceof GenError)
      throw new DriverkitError('GEN_FAILED', err.message, { cause: err });
    // protobufjs's parse errors name the file and line; TypeSpecError names the service.
    throw new DriverkitError(
      'PROTO_INVALID',
      err instanceof TypeSpecError
        ? err.message
        : `cannot read the protos: ${(err as Error).message}`,
      { cause: err },
    );
  }
}
