import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { userprovider } from '../../src/contracts/userprovider.js';
import { startDriver } from '../../src/launch/driver.js';
import { BENCH_BIN } from '../peers.js';
import type { Result } from '../result.js';
import { interleaved, median, timeEach } from '../stats.js';

const RUNS = 30;

const nodeE0 = () =>
  new Promise((r) => spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' }).once('exit', r));

async function driverStart(): Promise<void> {
  const d = await startDriver({
    name: 'cold',
    path: join(BENCH_BIN, 'echo-driver'),
    contract: userprovider,
    logger: { log: () => {} },
  });
  await d.client.getUser({ userId: { opaqueId: 'x' } });
  // Closing is not part of the start; it runs outside the measured span.
  void d.close();
}

/**
 * Spawn to first typed reply of a TS driver, against spawn to exit of `node -e 0`. The two
 * alternate run by run, so a burst of load on the machine hits both alike.
 */
export async function coldStart(): Promise<Result[]> {
  const [node, driver] = (
    await interleaved([nodeE0, driverStart], RUNS, (start) => timeEach(1, start))
  ).map((runs) => runs.flat());
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
