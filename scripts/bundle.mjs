// Bundles the public entries that tsc built into dist/ into dist/bundle/, sharing code in
// chunks (so `driverkit` and `driverkit/host` use one DriverkitError), with every dependency
// left to node_modules except @bufbuild/protobuf, whose 19 small modules (ts-proto's wire
// runtime) were most of what `import('driverkit')` paid, and @opentelemetry/api, whose ~60
// modules cost 40 ms. Its global registry is keyed by a symbol: an SDK registered through
// the host's own copy of the API reaches ours when that copy is 1.9 or later (the API's
// rule: a registration is shared with copies of the same major and no newer minor).
// Measured by `npm run bench -- import`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const ROOT = join(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const BUNDLED = new Set(['@bufbuild/protobuf', '@opentelemetry/api']);
const external = Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })
  .filter((name) => !BUNDLED.has(name))
  .flatMap((name) => [name, `${name}/*`]);

await build({
  entryPoints: ['launch', 'driver', 'host', 'build', 'gateway', 'testing', 'metrics'].map((e) =>
    join(ROOT, 'dist', e, 'index.js'),
  ),
  outdir: join(ROOT, 'dist', 'bundle'),
  outbase: join(ROOT, 'dist'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  logLevel: 'warning',
});
