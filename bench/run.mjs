#!/usr/bin/env node
// `npm run bench [-- ROW...]`: bundles the benchmark and its helper programs with esbuild
// (no TypeScript runner needed), then runs it. Rows: see bench/main.ts.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, '.cache', 'bench');
mkdirSync(out, { recursive: true });
const banner = [
  '#!/usr/bin/env node',
  "import { createRequire as __benchCreateRequire } from 'node:module';",
  'const require = __benchCreateRequire(import.meta.url);',
].join('\n');
const programs = {
  main: 'bench/main.ts',
  'echo-driver': 'bench/servers/echo-driver.ts',
  'status-driver': 'bench/servers/status-driver.ts',
  'counter-driver': 'bench/servers/counter-driver.ts',
  'raw-server': 'bench/servers/raw-server.ts',
  'raw-tls-server': 'bench/servers/raw-tls-server.ts',
  'h2-server': 'bench/servers/h2-server.ts',
  'raw-counter-server': 'bench/servers/raw-counter-server.ts',
  'demo-driver': 'drivers/userprovider/demo/main.ts',
  'interop-driver': 'test/fixtures/interop-driver.ts',
  'observed-host': 'bench/hosts/observed-host.ts',
  'ldap-driver': 'drivers/userprovider/ldap/main.ts',
};
await Promise.all(
  Object.entries(programs).map(([name, entry]) =>
    build({
      entryPoints: [join(root, entry)],
      outfile: join(out, name),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      banner: { js: banner },
      external: ['esbuild'],
      logLevel: 'warning',
    }).then(() => chmodSync(join(out, name), 0o755)),
  ),
);
execFileSync(process.execPath, ['--expose-gc', join(out, 'main'), ...process.argv.slice(2)], {
  stdio: 'inherit',
  cwd: root,
});
