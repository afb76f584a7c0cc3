import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { userprovider } from '../../src/contracts/userprovider.js';
import { startDriver } from '../../src/launch/driver.js';
import { BENCH_BIN } from '../peers.js';
import type { Result } from '../result.js';
import { rssMb } from '../stats.js';

/** RSS of an idle TS driver against an idle bare node process. */
export async function memory(): Promise<Result[]> {
  const idle = spawn(
    process.execPath,
    ['-e', 'process.stdout.write("up\\n"); setInterval(() => {}, 1e9)'],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  await once(idle.stdout!, 'data');
  const driver = await startDriver({
    name: 'idle',
    path: join(BENCH_BIN, 'echo-driver'),
    contract: userprovider,
    logger: { log: () => {} },
  });
  await driver.client.getUser({ userId: { opaqueId: 'x' } });
  try {
    return [
      {
        row: 'memory',
        metric: 'RSS of an idle TS driver',
        value: rssMb(driver.pid!),
        unit: 'MB',
        baseline: { name: 'idle node', value: rssMb(idle.pid!) },
        target: { max: 60, on: 'value', label: '≤ 60 MB' },
      },
    ];
  } finally {
    idle.kill('SIGKILL');
    await driver.close();
  }
}
