import { join } from 'node:path';
import { DEFAULT_CONFIG_FILE } from '../config/load.js';
import { builtinProtos } from '../config/registry.js';
import { methodPath } from '../contracts/contract.js';
import { jsonCodec } from '../types/json.js';
import { loadProtos, OWN_PROTO } from '../types/proto.js';
import { DriverkitError } from '../errors.js';
import { type DriverHost, openHost } from '../host/host.js';
import { buildNotice, CONFIG_OPTION, cliLogger, parseCommand } from './args.js';

const HELP = `Usage: driverkit call [--config FILE] [--timeout MS] NAME METHOD [JSON]

Starts driver NAME (building it first if it is a source folder), runs Configure with its
config, calls METHOD (GetUser or getUser) with the JSON request (proto3 JSON; default {};
for a method that streams its requests, a JSON array of them), prints the JSON reply (for
a response stream, one JSON line per response) and closes the driver. Unknown fields and
values of the wrong type are refused, naming the field.

Options:
  -c, --config FILE  config file (default: ${DEFAULT_CONFIG_FILE})
  -t, --timeout MS   deadline of the call in milliseconds (default: 30000)
  -h, --help         show this help

Example:
  driverkit call users GetUser '{"user_id": {"opaque_id": "4c510ada-c86b-4815-8820-42cdf82c3d51"}}'
`;

const usage = (message: string) =>
  new DriverkitError('USAGE', `${message} (driverkit call --help shows the usage)`);

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand(
    argv,
    { ...CONFIG_OPTION, timeout: { type: 'string', short: 't' } },
    HELP,
  );
  if (!args) return 0;
  const [name, methodName, json = '{}', ...extra] = args.positionals;
  if (!name || !methodName || extra.length) throw usage('expected NAME METHOD [JSON]');
  const timeout = Number(args.values.timeout ?? 30_000);
  if (!Number.isFinite(timeout) || timeout <= 0)
    throw usage(
      `--timeout: expected a positive number of milliseconds, got ${JSON.stringify(args.values.timeout)}`,
    );
  let body: unknown;
  try {
    body = JSON.parse(json);
  } catch (err) {
    throw usage(`the request is not valid JSON: ${(err as Error).message}`);
  }
  const host = await openHost({
    config: args.values.config,
    logger: cliLogger(),
    onBuild: buildNotice('call'),
  });
  const entry = host.entry(name);
  // Every version of a type has the same method names; the negotiated one is found below.
  const service = Object.values(entry.contract.versions)[0];
  const normalized = methodName.replace(/[_-]/g, '').toLowerCase();
  const key = Object.keys(service.methods).find((k) => k.toLowerCase() === normalized);
  if (!key)
    throw usage(
      `${entry.type} has no method ${JSON.stringify(methodName)} (methods: ${Object.values(
        service.methods,
      )
        .map((m) => m.name)
        .join(', ')})`,
    );
  try {
    const codec = jsonCodec(await protosOf(host, entry.type));
    const version = (await host.driver(name)).version!;
    const service = entry.contract.versions[version];
    const method = service.methods[key];
    const { request: requestType, response: responseType } = codec.method(
      service.fullName,
      method.name,
    );
    const encode = (b: unknown, where: string) => {
      try {
        return codec.fromJson(requestType, b);
      } catch (err) {
        throw new DriverkitError('USAGE', `${where}${(err as Error).message}`);
      }
    };
    if (method.requestStream && !Array.isArray(body))
      throw usage(
        `${method.name} streams its requests: expected a JSON array of them, got ${JSON.stringify(body)}`,
      );
    const request = method.requestStream
      ? (body as unknown[]).map((b, i) => encode(b, `request [${i}]: `))
      : encode(body, 'the request: ');
    // Encoded here, by the book (@bufbuild/protobuf): the call carries bytes both ways.
    const out = host.invoke(name, {
      path: methodPath(service, method),
      request,
      serialize: (b) => b as Buffer,
      deserialize: (b) => b,
      options: { timeout },
      requestStream: method.requestStream,
      responseStream: method.responseStream,
    });
    const print = (bytes: unknown, indent?: number) =>
      `${JSON.stringify(codec.toJson(responseType, bytes as Buffer), null, indent)}\n`;
    if (!method.responseStream) {
      process.stdout.write(print(await out, 2));
      return 0;
    }
    // A stream: one JSON line per response, as it comes.
    for await (const r of (await out) as AsyncIterable<unknown>) process.stdout.write(print(r));
    return 0;
  } finally {
    await host.close();
  }
}

/**
 * The protos of a driver type, parsed with their proto field names kept: a built-in type's
 * ship in the package; a type declared in config names its own.
 */
async function protosOf(host: DriverHost, type: string) {
  const builtin = builtinProtos[type];
  // Imports between the shipped protos (AuthProvider's of UserProvider's) resolve from their root.
  if (builtin !== undefined) return loadProtos([join(OWN_PROTO, builtin)], [OWN_PROTO], true);
  const decl = host.config.types.find((t) => t.name === type);
  if (!decl) throw new DriverkitError('USAGE', `no .proto is known for driver type "${type}"`);
  return loadProtos(decl.protos, decl.include, true);
}
