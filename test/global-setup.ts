// Builds every executable the tests run, once, through the same bundler `driverkit build`
// uses; after the run, fails it if any of them is still running.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { bundleTypeScript } from '../src/build/typescript.js';
import { BIN, ROOT, TEST_BIN } from './paths.js';

export async function setup(): Promise<void> {
  await rm(TEST_BIN, { recursive: true, force: true });
  await Promise.all([
    // The CLI is tested as shipped: dist/, built by tsc like `npm run build`.
    promisify(execFile)(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.json')]),
    bundleTypeScript(join(ROOT, 'drivers/userprovider/demo/main.ts'), BIN.demo),
    bundleTypeScript(join(ROOT, 'drivers/userprovider/json/main.ts'), BIN.json),
    bundleTypeScript(join(ROOT, 'test/fixtures/driver.ts'), BIN.fixture),
    bundleTypeScript(join(ROOT, 'test/fixtures/host.ts'), BIN.host),
  ]);
}

export function teardown(): void {
  const left = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(TEST_BIN));
  if (left.length === 0) return;
  for (const line of left) {
    try {
      process.kill(Number(line.trim().split(/\s+/)[0]), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  throw new Error(`test processes were left running after the tests (now killed):\n${left.join('\n')}`);
}
