import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DriverkitError } from '../errors.js';
import { consoleLogger, type Logger } from '../launch/logger.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses a command's arguments; --help prints `help` and returns undefined. Mistakes are USAGE errors. */
export function parseCommand(
  argv: string[],
  options: Options,
  help: string,
): { values: Record<string, string | undefined>; positionals: string[] } | undefined {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new DriverkitError('USAGE', `${(err as Error).message}\n\n${help}`);
  }
  if (parsed.values.help) {
    process.stdout.write(help);
    return undefined;
  }
  return {
    values: parsed.values as Record<string, string | undefined>,
    positionals: parsed.positionals,
  };
}

/** The CLI's logger: warnings and errors only, unless DRIVERKIT_LOG_LEVEL says otherwise. */
export function cliLogger(): Logger {
  return consoleLogger(process.env.DRIVERKIT_LOG_LEVEL ? undefined : 'warn');
}

export const CONFIG_OPTION = { config: { type: 'string', short: 'c' } } as const;

/** Says on stderr that a source driver is being built (not from cache): it can take a while. */
export function buildNotice(command: string): (entry: { name: string; driver: string }) => void {
  return (entry) =>
    void process.stderr.write(
      `driverkit ${command}: building ${entry.name} from ${entry.driver} …\n`,
    );
}
