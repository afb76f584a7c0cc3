import { DriverkitError } from '../errors.js';
import { searchPackages } from '../packages/search.js';
import { defaultIndexes } from '../packages/store.js';
import { parseCommand } from './args.js';

const HELP = `Usage: driverkit search [TERM] [--index INDEX]...

Lists the packages of the indexes whose name or description contains TERM (any case): name,
the newest version that works with this driverkit on this os/arch, type and description.

Options:
      --index INDEX  a folder, file: or http(s): URL of an index (repeatable; an http(s)
                     index must serve index.json); default: DRIVERKIT_INDEX (comma-separated)
  -h, --help         show this help
`;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand(argv, { index: { type: 'string', multiple: true } }, HELP);
  if (!args) return 0;
  const [term, ...extra] = args.positionals;
  if (extra.length)
    throw new DriverkitError(
      'USAGE',
      `one TERM at most (quote a phrase), got ${JSON.stringify(args.positionals)}\n\n${HELP}`,
    );
  const named = args.values.index as string[] | undefined;
  const indexes = named?.length ? named : defaultIndexes();
  const hits = await searchPackages({ term, indexes });
  if (hits.length === 0) {
    process.stdout.write(
      `no packages${term ? ` matching ${JSON.stringify(term)}` : ''} in ${indexes.join(', ')}\n`,
    );
    return 0;
  }
  for (const hit of hits) {
    const h = {
      name: printable(hit.name),
      type: printable(hit.type),
      description: printable(hit.description ?? ''),
    };
    const version = printable(hit.version ?? `none fits (newest ${hit.newest})`);
    process.stdout.write(
      `${h.name.padEnd(12)} ${version.padEnd(9)} ${h.type.padEnd(14)} ${h.description}\n`.replace(
        / +\n$/,
        '\n',
      ),
    );
  }
  return 0;
}

/**
 * What an index says, made safe for a terminal: control characters (escape sequences that
 * retitle the window, erase lines or move the cursor to draw a fake row) become U+FFFD.
 */
export function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are what is removed
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '\ufffd');
}
