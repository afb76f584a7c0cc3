#!/usr/bin/env node
// `npm run gen [-- --out DIR]`: regenerates src/gen from proto/ with driverkit's own `gen`
// command, run from source (bundled by esbuild, as the bench is), so that it works even
// when src/gen is missing and the TypeScript build cannot run.
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = process.argv[process.argv.indexOf('--out') + 1] && process.argv.includes('--out') ? process.argv[process.argv.indexOf('--out') + 1] : join(root, 'src/gen');
const cli = join(root, '.cache', 'gen-cli.mjs');
await build({
  stdin: { contents: "import { run } from './src/cli/gen.ts'; process.exitCode = await run(process.argv.slice(2));", resolveDir: root, loader: 'ts' },
  outfile: cli,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
});
// options.proto is imported by the others; generating it on its own would add descriptor.ts.
const protos = readdirSync(join(root, 'proto'), { recursive: true })
  .filter((f) => f.endsWith('.proto') && f !== join('driverkit', 'options.proto'))
  .map((f) => join('proto', f))
  .sort();
rmSync(out, { recursive: true, force: true });
execFileSync(process.execPath, [cli, '--out', relative(root, out) || out, '-I', 'proto', ...protos], { cwd: root, stdio: 'inherit' });
