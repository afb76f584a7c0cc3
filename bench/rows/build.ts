import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildDriver } from '../../src/build/build.js';
import type { Result } from '../result.js';
import { median, timeEach } from '../stats.js';

/** A cold build of the demo driver, and the no-change cache check. */
export async function build(): Promise<Result[]> {
  const binDir = mkdtempSync(join(process.cwd(), '.cache', 'bench-build-'));
  const req = {
    folder: join(process.cwd(), 'drivers/userprovider/demo'),
    type: 'userprovider',
    binDir,
  };
  try {
    const cold = await timeEach(3, async () => {
      rmSync(binDir, { recursive: true, force: true });
      await buildDriver(req);
    });
    const cached = await timeEach(20, () => buildDriver(req));
    return [
      {
        row: 'build',
        metric: 'cold build of a TS driver (esbuild bundle)',
        value: median(cold),
        unit: 'ms',
      },
      {
        row: 'build',
        metric: 'no-change cache check',
        value: median(cached),
        unit: 'ms',
        baseline: { name: 'cold build', value: median(cold) },
        target: { max: 50, on: 'value', label: '≤ 50 ms' },
      },
    ];
  } finally {
    rmSync(binDir, { recursive: true, force: true });
  }
}
