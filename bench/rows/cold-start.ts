import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { userprovider } from '../../src/contracts/userprovider.js';
import { startDriver } from '../../src/host/driver.js';
import { BENCH_BIN } from '../peers.js';
import type { Result } from '../result.js';
import { median, timeEach } from '../stats.js';

const RUNS = 10;

/** Spawn to first typed reply of a TS driver, against spawn to exit of `node -e 0`. */
export async function coldStart(): Promise<Result[]> {
  const node = await timeEach(RUNS, () => new Promise((r) => spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' }).once('exit', r)));
  const driver = await timeEach(RUNS, async () => {
    const d = await startDriver({ name: 'cold', path: join(BENCH_BIN, 'echo-driver'), contract: userprovider, logger: { log: () => {} } });
    await d.client.getUser({ userId: { opaqueId: 'x' } });
    // Closing is not part of the start; it runs outside the measured span below.
    void d.close();
  });
  return [
    {
      row: 'cold start',
      metric: 'TS driver: spawn → first typed reply (median)',
      value: median(driver),
      unit: 'ms',
      baseline: { name: 'node -e 0', value: median(node) },
      target: { max: 1.5, on: 'ratio', label: '≤ 1.5× node -e 0' },
    },
  ];
}
