#!/usr/bin/env node
// `npm run gen [-- --out DIR]`: regenerates src/gen from proto/, and the test types' code in
// test/fixtures/gen, with driverkit's own `gen` command run from source (bundled by
// esbuild, as the bench is), so that it works even when src/gen is missing and the
// TypeScript build cannot run. With --out DIR, both go below DIR (src, test).
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const at = process.argv.indexOf('--out');
const base = at > 0 ? process.argv[at + 1] : undefined;
const out = base ? join(base, 'src') : join(root, 'src/gen');
const testOut = base ? join(base, 'test') : join(root, 'test/fixtures/gen');
const cli = join(root, '.cache', 'gen-cli.mjs');
await build({
  stdin: {
    contents:
      "import { run } from './src/cli/gen.ts'; process.exitCode = await run(process.argv.slice(2));",
    resolveDir: root,
    loader: 'ts',
  },
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
const gen = (...args) =>
  execFileSync(process.execPath, [cli, ...args], { cwd: root, stdio: 'inherit' });
rmSync(out, { recursive: true, force: true });
gen('--out', out, '-I', 'proto', ...protos);
// The test types: go-plugin's KV example's proto (no driverkit option: the handshake is
// given here, as its Go code has it), a type with two versions, and one with every method kind.
rmSync(testOut, { recursive: true, force: true });
gen(
  '--out',
  testOut,
  '-I',
  'test/go/kv/proto',
  'test/go/kv/proto/kv.proto',
  '--type',
  'kv',
  '--service',
  'proto.KV',
  '--cookie-key',
  'BASIC_PLUGIN',
  '--cookie-value',
  'hello',
);
gen(
  '--out',
  testOut,
  '-I',
  'test/fixtures/protos',
  'test/fixtures/protos/greeter/v1/greeter.proto',
  'test/fixtures/protos/greeter/v2/greeter.proto',
  'test/fixtures/protos/counter/v1/counter.proto',
);
// gRPC's interop test service (grpc.testing), for holding the driver's own server to gRPC's interop cases.
gen('--out', testOut, '-I', 'test/fixtures/protos', 'test/fixtures/protos/grpc/testing/test.proto');
