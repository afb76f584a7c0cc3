// The benchmark: each row compares driverkit with a baseline measured in the same run.
import { join } from 'node:path';
import { printTable, writeChart, writeMarkdown } from './report.js';
import type { Result } from './result.js';
import { build } from './rows/build.js';
import { changes } from './rows/changes.js';
import { coldStart } from './rows/cold-start.js';
import { importRow } from './rows/import.js';
import { latency } from './rows/latency.js';
import { ldap } from './rows/ldap.js';
import { load } from './rows/load.js';
import { go } from './rows/go.js';
import { memory } from './rows/memory.js';
import { observability } from './rows/observability.js';
import { orphans } from './rows/orphans.js';
import { remote } from './rows/remote.js';
import { gateway, scale } from './rows/scale.js';
import { streaming } from './rows/streaming.js';
import { swap } from './rows/swap.js';
import { unavailable } from './rows/unavailable.js';

const ROWS: Record<string, () => Promise<Result[]>> = {
  cold: coldStart,
  import: importRow,
  latency,
  load,
  streaming,
  unavailable,
  changes,
  memory,
  scale,
  gateway,
  build,
  go,
  orphans,
  remote,
  observability,
  ldap,
  swap,
};

const wanted = process.argv.slice(2);
for (const w of wanted)
  if (!ROWS[w])
    throw new Error(`unknown row ${JSON.stringify(w)}; rows: ${Object.keys(ROWS).join(', ')}`);
const run = wanted.length ? wanted : Object.keys(ROWS);
const results: Result[] = [];
for (const name of run) {
  process.stderr.write(`bench: ${name} …\n`);
  results.push(...(await ROWS[name]()));
}
printTable(results);
if (!wanted.length) {
  writeMarkdown(join(process.cwd(), 'bench', 'RESULTS.md'), results, run);
  writeChart(join(process.cwd(), 'bench', 'chart.svg'), results);
  process.stdout.write('\nwrote bench/RESULTS.md and bench/chart.svg\n');
}
