import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BENCH_BIN } from '../peers.js';
import type { Result } from '../result.js';
import { interleaved, median } from '../stats.js';

const RUNS = 15;
/** A probe that has not exited by then is hung (a handle left open), not slow. */
const HUNG_MS = 10_000;

/** What `import ... from 'driverkit'` loads: the bundled entry (package.json exports). */
const ENTRY = join(process.cwd(), 'dist', 'bundle', 'launch', 'index.js');

interface Probe {
  name: string;
  args: string[];
}

/** What a user's program pays: the built entry, as `import ... from 'driverkit'` loads it, to a typed reply. */
function firstReplyScript(entry: string, driver: string): string {
  return `
import { startDriver, userprovider } from ${JSON.stringify(pathToFileURL(entry).href)};
const driver = await startDriver({ name: 'import', path: ${JSON.stringify(driver)}, contract: userprovider, logger: { log: () => {} } });
const reply = await driver.client.getUser({ userId: { opaqueId: 'x' } });
if (reply.user?.username !== 'x') throw new Error('unexpected reply: ' + JSON.stringify(reply));
await driver.close();
`;
}

/** Spawn to exit of a whole node process, in ms; a failing or hung probe fails the row with its stderr. */
function wallTime(probe: Probe): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, probe.args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const hung = setTimeout(() => child.kill('SIGKILL'), HUNG_MS);
    let ms = 0;
    child.once('exit', () => (ms = performance.now() - t0));
    child.once('error', reject);
    // 'close' waits for stderr too, so a failure reports all of it; the time is taken at 'exit'.
    child.once('close', (code, signal) => {
      clearTimeout(hung);
      if (code === 0) resolve(ms);
      else
        reject(
          new Error(
            `import row: probe "${probe.name}" ${signal ? `killed by ${signal} (hung over ${HUNG_MS} ms?)` : `exited ${code}`}\n${stderr.trim()}`,
          ),
        );
    });
  });
}

/**
 * A whole fresh node process that imports the library entry, starts the echo driver, gets
 * one typed reply, closes the driver and exits, against `node -e 0`; also the import alone.
 * All three are `-e` scripts so they pay the same way in, and alternate run by run.
 */
export async function importRow(): Promise<Result[]> {
  if (!existsSync(ENTRY))
    throw new Error(
      `import row: ${ENTRY} not found; it measures the built library, run \`npm run build\` first`,
    );
  const driver = join(BENCH_BIN, 'echo-driver');
  if (!existsSync(driver))
    throw new Error(
      `import row: ${driver} not found; run the bench through \`npm run bench\`, which bundles it`,
    );
  const probes: Probe[] = [
    { name: 'node -e 0', args: ['-e', '0'] },
    {
      name: 'import only',
      args: ['--input-type=module', '-e', `import ${JSON.stringify(pathToFileURL(ENTRY).href)};`],
    },
    {
      name: 'import → first reply',
      args: ['--input-type=module', '-e', firstReplyScript(ENTRY, driver)],
    },
  ];
  for (const p of probes) await wallTime(p); // warm-up, and a clear failure before any timing
  const [node, importOnly, firstReply] = (await interleaved(probes, RUNS, wallTime)).map(median);
  const baseline = { name: 'node -e 0', value: node };
  const note = `median of ${RUNS} processes each, spawn → exit`;
  return [
    {
      row: 'import',
      metric: 'import library → first typed reply → exit (median)',
      value: firstReply,
      unit: 'ms',
      baseline,
      target: { max: 2, on: 'ratio', label: '≤ 2× node -e 0' },
      note,
    },
    {
      row: 'import',
      metric: 'import of the shipped driverkit entry alone (median)',
      value: importOnly,
      unit: 'ms',
      baseline,
      note,
    },
  ];
}
