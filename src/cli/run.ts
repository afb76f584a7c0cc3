// The driverkit CLI: a table of commands, each in its own module, loaded only when run.
// `run` is the whole CLI in process (the tests call it); main.ts is its executable.
import { DriverkitError } from '../errors.js';
import { VERSION } from '../version.js';

interface Command {
  summary: string;
  load: () => Promise<{ run(argv: string[]): Promise<number | void> }>;
}

const COMMANDS: Record<string, Command> = {
  build: {
    summary: 'build source drivers into bin/<type>/<name>',
    load: () => import('./build.js'),
  },
  ls: { summary: 'list the drivers of a config and their state', load: () => import('./ls.js') },
  call: {
    summary: 'start a driver, call one method with JSON, print the reply',
    load: () => import('./call.js'),
  },
  serve: {
    summary: 'start every driver and serve them on one gRPC address',
    load: () => import('./serve.js'),
  },
  status: {
    summary:
      "show what a running serve does: each driver's state, calls/s, errors, latency, memory",
    load: () => import('./status.js'),
  },
  conformance: {
    summary: "check a driver against its type's conformance suite",
    load: () => import('./conformance.js'),
  },
  gen: {
    summary: 'turn .proto files into TypeScript: ts-proto code and driver type contracts',
    load: () => import('./gen.js'),
  },
  install: {
    summary: 'install driver packages from an index, pinned in driverkit.lock',
    load: () => import('./install.js'),
  },
  upgrade: {
    summary: 'move installed packages to their highest compatible version',
    load: () => import('./upgrade.js'),
  },
  uninstall: { summary: 'remove installed packages', load: () => import('./uninstall.js') },
  packages: {
    summary: 'list installed packages and whether newer ones exist',
    load: () => import('./packages.js'),
  },
  pack: {
    summary: 'turn a built driver into an archive and its index manifest',
    load: () => import('./pack.js'),
  },
  search: {
    summary: 'list the packages an index has, filtered by a term',
    load: () => import('./search.js'),
  },
};

const HELP = `driverkit ${VERSION}: out-of-process gRPC drivers, go-plugin compatible

Usage: driverkit <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(
    ([name, c]) =>
      `  ${name.padEnd(Math.max(...Object.keys(COMMANDS).map((n) => n.length)))}  ${c.summary}`,
  )
  .join('\n')}

Run "driverkit <command> --help" for a command's options.
`;

/**
 * Runs one command line. Exit codes: 0 success, 1 a driver, build, config or call failed,
 * 2 the command line is wrong.
 */
export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(HELP);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`driverkit: unknown command ${JSON.stringify(name)}\n\n${HELP}`);
    return 2;
  }
  try {
    return (await (await command.load()).run(rest)) ?? 0;
  } catch (err) {
    if (err instanceof DriverkitError) {
      process.stderr.write(`driverkit ${name}: ${err.message}\n`);
      return err.code === 'USAGE' ? 2 : 1;
    }
    // The system refused (a full disk, no permission): its own message says it, a stack does not help.
    const sys = err as NodeJS.ErrnoException;
    if (typeof sys?.code === 'string' && typeof sys.syscall === 'string') {
      process.stderr.write(`driverkit ${name}: ${sys.message}\n`);
      return 1;
    }
    process.stderr.write(
      `driverkit ${name}: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    return 1;
  }
}
