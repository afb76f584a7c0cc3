import { DEFAULT_CONFIG_FILE } from '../config/load.js';
import { DriverkitError } from '../errors.js';
import { openHost } from '../supervise/host.js';
import { CONFIG_OPTION, cliLogger, parseCommand } from './args.js';

const HELP = `Usage: driverkit call [--config FILE] [--timeout MS] NAME METHOD [JSON]

Starts driver NAME (building it first if it is a source folder), runs Configure with its
config, calls METHOD (GetUser or getUser) with the JSON request (proto3 JSON; default {}),
prints the JSON reply and closes the driver.

Options:
  -c, --config FILE  config file (default: ${DEFAULT_CONFIG_FILE})
  -t, --timeout MS   deadline of the call in milliseconds (default: 30000)
  -h, --help         show this help

Example:
  driverkit call users GetUser '{"user_id": {"opaque_id": "4c510ada-c86b-4815-8820-42cdf82c3d51"}}'
`;

const usage = (message: string) => new DriverkitError('USAGE', `${message}\n\n${HELP}`);

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand(argv, { ...CONFIG_OPTION, timeout: { type: 'string', short: 't' } }, HELP);
  if (!args) return 0;
  const [name, methodName, json = '{}', ...extra] = args.positionals;
  if (!name || !methodName || extra.length) throw usage('expected NAME METHOD [JSON]');
  const timeout = Number(args.values.timeout ?? 30_000);
  if (!Number.isFinite(timeout) || timeout <= 0) throw usage(`--timeout: expected a positive number of milliseconds, got ${JSON.stringify(args.values.timeout)}`);
  let body: unknown;
  try {
    body = JSON.parse(json);
  } catch (err) {
    throw usage(`the request is not valid JSON: ${(err as Error).message}`);
  }
  const host = await openHost({ config: args.values.config, logger: cliLogger() });
  const entry = host.entry(name);
  // Every version of a type has the same method names; the negotiated one is found below.
  const service = Object.values(entry.contract.versions)[0];
  const normalized = methodName.replace(/[_-]/g, '').toLowerCase();
  const key = Object.keys(service.methods).find((k) => k.toLowerCase() === normalized);
  if (!key) throw usage(`${entry.type} has no method ${JSON.stringify(methodName)} (methods: ${Object.values(service.methods).map((m) => m.name).join(', ')})`);
  try {
    const driver = await host.driver(name);
    const method = entry.contract.versions[driver.version!].methods[key];
    const client = driver.client as unknown as Record<string, (req: unknown, opts: unknown) => Promise<unknown>>;
    const reply = await client[key](method.requestType.fromJSON(body), { timeout });
    process.stdout.write(JSON.stringify(method.responseType.toJSON(reply), null, 2) + '\n');
    return 0;
  } finally {
    await host.close();
  }
}
