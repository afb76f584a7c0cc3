import { execFileSync } from 'node:child_process';
import { defineConfig } from 'vitest/config';

/**
 * How much slower than a quiet machine this one is now, from Node's own start-up (about
 * 50 ms on a quiet 2-core machine; 100 ms counts as quiet): a loaded CI machine or a
 * `npm run test:stress` run stretches every limit by it, instead of failing at a fixed 30 s.
 */
function slowness(): number {
  const runs = [0, 1, 2].map(() => {
    const started = performance.now();
    execFileSync(process.execPath, ['-e', '0']);
    return performance.now() - started;
  });
  const median = runs.sort((a, b) => a - b)[1];
  return Math.min(8, Math.max(1, median / 100));
}

const limit = Math.round(30_000 * slowness());

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/running-marker.ts'],
    testTimeout: limit,
    hookTimeout: limit,
    // Tests spawn real processes; two cores are shared between workers and drivers.
    maxWorkers: 2,
  },
});
