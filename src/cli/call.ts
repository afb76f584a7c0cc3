import { join } from 'node:path';
import { DEFAULT_CONFIG_FILE } from '../config/load.js';
import { builtinProtos } from '../config/registry.js';
import type { Contract, MethodDef } from '../contracts/contract.js';
import { driverTypes } from '../types/driver-types.js';
import { dynamicContract } from '../types/dynamic.js';
import { loadProtos, OWN_PROTO } from '../types/proto.js';
import { DriverkitError } from '../errors.js';
import { openHost } from '../supervise/host.js';
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
    const json = await strictJson(entry.contract);
    const method = json.versions[(await host.driver(name)).version!].methods[key];
    const request = readRequest(method, body);
    const reply = (await host.client(name, json))[key as never] as (
      req: unknown,
      opts: unknown,
    ) => unknown;
    const out = reply(request, { timeout });
    if (!method.responseStream) {
      process.stdout.write(`${JSON.stringify(method.responseType.toJSON(await out), null, 2)}\n`);
      return 0;
    }
    // A stream: one JSON line per response, as it comes.
    for await (const r of out as AsyncIterable<unknown>)
      process.stdout.write(`${JSON.stringify(method.responseType.toJSON(r))}\n`);
    return 0;
  } finally {
    await host.close();
  }
}

/**
 * The contract whose JSON reading follows the proto3 JSON mapping strictly (unknown fields
 * and wrong types refused, naming the field): one read from the proto. A type declared in
 * config is one already; a built-in type's proto ships in the package.
 */
async function strictJson(contract: Contract): Promise<Contract> {
  const proto = builtinProtos[contract.type];
  if (proto === undefined) return contract;
  const spec = driverTypes(await loadProtos([join(OWN_PROTO, proto)])).find(
    (s) => s.type === contract.type,
  )!;
  return dynamicContract(spec);
}

/** The request (or, for a client-streaming or bidi method, the JSON array of requests). */
function readRequest(method: MethodDef, body: unknown): unknown {
  const read = (b: unknown, where: string) => {
    try {
      return method.requestType.fromJSON(b);
    } catch (err) {
      throw new DriverkitError('USAGE', `${where}${(err as Error).message}`);
    }
  };
  if (!method.requestStream) return read(body, 'the request: ');
  if (!Array.isArray(body))
    throw new DriverkitError(
      'USAGE',
      `${method.name} streams its requests: expected a JSON array of them, got ${JSON.stringify(body)}`,
    );
  return body.map((b, i) => read(b, `request [${i}]: `));
}
