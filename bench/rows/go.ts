import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildDriver } from '../../src/build/build.js';
import { userprovider } from '../../src/contracts/userprovider.js';
import { startDriver } from '../../src/launch/driver.js';
import { BENCH_BIN } from '../peers.js';
import type { Result } from '../result.js';
import { median, percentile, timeEach } from '../stats.js';

interface GoHostRun {
  start_ms: number;
  p50_ms: number;
  p99_ms: number;
}

const quiet = { log: () => {} };

function goHost(host: string, driver: string, calls: number): GoHostRun {
  return JSON.parse(
    execFileSync(
      host,
      ['-calls', String(calls), driver, userprovider.cookieKey, userprovider.cookieValue],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    ),
  );
}

/** driverkit against go-plugin itself: a TS host and a Go host, each with the same Go driver. */
export async function go(): Promise<Result[]> {
  try {
    execFileSync('sh', ['-c', 'command -v go && command -v protoc && command -v protoc-gen-go'], {
      stdio: 'ignore',
    });
  } catch {
    return [
      {
        row: 'go',
        metric: 'Go rows',
        value: 0,
        unit: '',
        note: 'skipped: needs Go, protoc and Debian go-plugin packages (.ci/run installs them)',
      },
    ];
  }
  const binDir = join(process.cwd(), '.cache', 'bench-go');
  mkdirSync(binDir, { recursive: true });
  const goDriver = (
    await buildDriver({
      folder: join(process.cwd(), 'drivers/userprovider/go'),
      type: 'userprovider',
      binDir,
    })
  ).binary;
  const host = (
    await buildDriver({ folder: join(process.cwd(), 'test/go/host'), type: 'gohost', binDir })
  ).binary;

  const goStarts = Array.from({ length: 7 }, () => goHost(host, goDriver, 0).start_ms);
  const tsStarts = await timeEach(7, async () => {
    const d = await startDriver({
      name: 'go',
      path: goDriver,
      contract: userprovider,
      logger: quiet,
    });
    await d.client.getUser({ userId: { opaqueId: '4c510ada-c86b-4815-8820-42cdf82c3d51' } });
    void d.close();
  });

  const goGo = goHost(host, goDriver, 3000);
  const goTs = goHost(host, join(BENCH_BIN, 'echo-driver'), 3000);
  const d = await startDriver({
    name: 'go',
    path: goDriver,
    contract: userprovider,
    logger: quiet,
  });
  try {
    const req = { userId: { opaqueId: '4c510ada-c86b-4815-8820-42cdf82c3d51' } };
    await timeEach(300, () => d.client.getUser(req));
    const tsGo = await timeEach(3000, () => d.client.getUser(req));
    return [
      {
        row: 'go',
        metric: 'cold start: TS host → Go driver, spawn → first reply',
        value: median(tsStarts),
        unit: 'ms',
        baseline: { name: 'go-plugin host → same Go driver', value: median(goStarts) },
      },
      {
        row: 'go',
        metric: 'unary p50: TS host → Go driver',
        value: percentile(tsGo, 50),
        unit: 'ms',
        baseline: { name: 'go-plugin host ↔ Go plugin', value: goGo.p50_ms },
      },
      {
        row: 'go',
        metric: 'unary p50: go-plugin host → TS driver',
        value: goTs.p50_ms,
        unit: 'ms',
        baseline: { name: 'go-plugin host ↔ Go plugin', value: goGo.p50_ms },
      },
    ];
  } finally {
    await d.close();
  }
}
