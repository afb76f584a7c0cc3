import { basename } from 'node:path';
import { contracts } from '../config/registry.js';
import { DEFAULT_CONFIG_FILE } from '../config/load.js';
import { DriverkitError } from '../errors.js';
import { startDriver } from '../launch/driver.js';
import type { Driver } from '../launch/driver.js';
import { openHost } from '../host/host.js';
import { runSuite } from '../testing/suite.js';
import { suites } from '../testing/suites.js';
import { buildNotice, CONFIG_OPTION, cliLogger, parseCommand } from './args.js';

const HELP = `Usage: driverkit conformance [--config FILE] NAME
       driverkit conformance --type TYPE --driver PATH [--configure JSON]

Runs the conformance suite of a driver's type against it and prints one line per case,
then "N passed, M failed"; exit code 1 when a case failed. NAME is a driver of the config
(built and configured as usual); or give an executable, its type and the JSON its
Configure gets. Suites ship for: ${Object.keys(suites).join(', ')}.

Options:
  -c, --config FILE     config file (default: ${DEFAULT_CONFIG_FILE})
      --type TYPE       with --driver: the driver's type
      --driver PATH     an executable to check, instead of a config entry
      --configure JSON  with --driver: the config table its Configure gets (default: none)
  -h, --help            show this help
`;

export async function run(argv: string[]): Promise<number> {
  const text = { type: 'string' } as const;
  const args = parseCommand(
    argv,
    { ...CONFIG_OPTION, type: text, driver: text, configure: text },
    HELP,
  );
  if (!args) return 0;
  const usage = (message: string) => new DriverkitError('USAGE', `${message}\n\n${HELP}`);
  let driver: Driver;
  let close: () => Promise<void>;
  if (args.values.driver !== undefined) {
    const type = args.values.type;
    if (!type || !contracts[type])
      throw usage(
        `--type: expected one of ${Object.keys(contracts).join(', ')}, got ${JSON.stringify(type)}`,
      );
    let config: unknown;
    try {
      config = args.values.configure === undefined ? undefined : JSON.parse(args.values.configure);
    } catch (err) {
      throw usage(`--configure: not valid JSON: ${(err as Error).message}`);
    }
    driver = await startDriver({
      name: basename(args.values.driver),
      path: args.values.driver,
      contract: contracts[type],
      logger: cliLogger(),
    });
    close = () => driver.close();
    const configure = (driver.client as Record<string, unknown>).configure as
      | ((req: unknown) => Promise<unknown>)
      | undefined;
    if (config !== undefined && configure)
      await configure({ config }).catch(async (err) => (await close(), Promise.reject(err)));
  } else {
    const [name, ...extra] = args.positionals;
    if (!name || extra.length)
      throw usage('expected the NAME of one driver in the config, or --driver');
    const host = await openHost({
      config: args.values.config,
      logger: cliLogger(),
      onBuild: buildNotice('conformance'),
    });
    close = () => host.close();
    driver = await host.driver(name).catch(async (err) => (await close(), Promise.reject(err)));
  }
  try {
    const suite = suites[driver.contract.type];
    if (!suite)
      throw usage(
        `no conformance suite ships for type "${driver.contract.type}" (suites: ${Object.keys(suites).join(', ')}); write one with driverkit/testing`,
      );
    const results = await runSuite(suite, driver.client);
    results.forEach((r, i) =>
      process.stdout.write(
        `${r.ok ? 'ok' : 'not ok'} ${i + 1} - ${r.name}${r.ok ? '' : `\n  # ${r.error}`}\n`,
      ),
    );
    const failed = results.filter((r) => !r.ok).length;
    process.stdout.write(`${results.length - failed} passed, ${failed} failed\n`);
    return failed ? 1 : 0;
  } finally {
    await close();
  }
}
