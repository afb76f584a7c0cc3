// Which folder of src/ may import which, read from the source itself: the library never
// reaches into the application, host and driver never import each other, the folders form
// no cycle, and each public entry loads only the packages its audience needs.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './paths.js';

const SRC = join(ROOT, 'src');

/** The folders each folder may import from (besides itself). `.` is src/'s own files: errors, status, version, pid. */
const ALLOWED: Record<string, readonly string[]> = {
  // Shared by host and driver: pure, or generated.
  '.': [],
  gen: [],
  protocol: ['.', 'gen'],
  contracts: ['.', 'gen', 'protocol'],
  rpc: ['.', 'gen', 'protocol', 'contracts'],
  // The one gRPC transport (client and server over node:http2) both sides run.
  transport: ['.', 'gen', 'protocol', 'contracts', 'rpc'],
  // The library: the host side (`driverkit`, launch/) and the SDK (`driverkit/driver`).
  launch: ['.', 'gen', 'protocol', 'contracts', 'rpc', 'transport'],
  driver: ['.', 'gen', 'protocol', 'contracts', 'rpc', 'transport'],
  // Metrics of calls and drivers (prom-client), for hosts that ask for them.
  metrics: ['.', 'rpc'],
  // The application, on top of the library.
  types: ['.', 'contracts'],
  config: ['.', 'gen', 'protocol', 'contracts', 'types'],
  build: ['.'],
  packages: ['.', 'build'],
  host: [
    '.',
    'gen',
    'protocol',
    'contracts',
    'rpc',
    'launch',
    'config',
    'build',
    'types',
    'packages',
    'metrics',
  ],
  gateway: ['.', 'gen', 'protocol', 'contracts', 'rpc', 'transport', 'launch', 'host', 'metrics'],
  testing: ['.', 'gen', 'protocol', 'contracts', 'rpc', 'launch'],
  cli: [
    '.',
    'gen',
    'protocol',
    'contracts',
    'rpc',
    'launch',
    'config',
    'build',
    'host',
    'gateway',
    'types',
    'testing',
    'packages',
    'metrics',
  ],
};

/** What the library's two entries never load: the application's packages, and metrics'. */
const LEAN = [
  '@grpc/grpc-js',
  'esbuild',
  'semver',
  'smol-toml',
  'execa',
  'protobufjs',
  'prom-client',
];

/** Packages an entry must never load, directly or through any file it imports. */
const ENTRIES: Record<string, { file: string; never: readonly string[] }> = {
  driverkit: {
    file: 'launch/index.ts',
    // Host, drivers and the gateway speak the one transport (src/transport/).
    never: LEAN,
  },
  'driverkit/driver': { file: 'driver/index.ts', never: LEAN },
  // Builds and packages load when a config names a source folder or a package, protobufjs
  // when it declares a type from its .proto.
  // prom-client when it asks for metrics.
  'driverkit/host': {
    file: 'host/index.ts',
    never: ['esbuild', 'semver', 'protobufjs', 'prom-client'],
  },
  'driverkit/metrics': { file: 'metrics/index.ts', never: ['@grpc/grpc-js', 'esbuild'] },
  'driverkit/build': { file: 'build/index.ts', never: ['@grpc/grpc-js'] },
  'driverkit/gateway': { file: 'gateway/index.ts', never: [] },
  'driverkit/testing': {
    file: 'testing/index.ts',
    never: ['esbuild', 'semver', 'smol-toml', 'protobufjs', 'prom-client'],
  },
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Every module specifier a file imports or re-exports, static or dynamic. */
/** What a file imports; `loadedAtImport`: only what loads with it (no `import()`, no types). */
function specifiers(file: string, loadedAtImport = false): string[] {
  const text = readFileSync(file, 'utf8');
  const pattern =
    /(?:^|\n)\s*(?:import|export)\s(type\s)?[^;]*?from\s+'([^']+)'|(?:^|\n)\s*import\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g;
  return [...text.matchAll(pattern)]
    .filter((m) => !loadedAtImport || (m[1] === undefined && m[4] === undefined))
    .map((m) => m[2] ?? m[3] ?? m[4]);
}

const folderOf = (file: string) => {
  const rel = relative(SRC, file);
  return rel.includes('/') ? rel.slice(0, rel.indexOf('/')) : '.';
};
const resolveLocal = (from: string, spec: string) =>
  resolve(dirname(from), spec.replace(/\.js$/, '.ts'));
const packageOf = (spec: string) =>
  spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];

const files = sourceFiles(SRC);
const edges = files.flatMap((file) =>
  specifiers(file)
    .filter((s) => s.startsWith('.'))
    .map((s) => ({ file, target: resolveLocal(file, s) })),
);

describe('import rules', () => {
  it('every folder of src/ is in the table', () => {
    expect([...new Set(files.map(folderOf))].sort()).toEqual(Object.keys(ALLOWED).sort());
  });

  it('each folder imports only from the folders below it', () => {
    const bad = edges
      .filter(
        ({ file, target }) =>
          folderOf(file) !== folderOf(target) &&
          !ALLOWED[folderOf(file)]?.includes(folderOf(target)),
      )
      .map(({ file, target }) => `${relative(SRC, file)} imports ${relative(SRC, target)}`);
    expect(bad).toEqual([]);
  });

  it('the folders form no cycle', () => {
    const graph = new Map<string, Set<string>>();
    for (const { file, target } of edges) {
      if (folderOf(file) === folderOf(target)) continue;
      graph.set(folderOf(file), (graph.get(folderOf(file)) ?? new Set()).add(folderOf(target)));
    }
    const reaches = (from: string, to: string, seen = new Set<string>()): boolean =>
      [...(graph.get(from) ?? [])].some(
        (n) => n === to || (!seen.has(n) && (seen.add(n), reaches(n, to, seen))),
      );
    expect([...graph.keys()].filter((f) => reaches(f, f))).toEqual([]);
  });

  it('grpc-js is a test reference only: no source file imports it, and no run-time dependency', () => {
    const importers = files.filter((f) =>
      specifiers(f).some((s) => packageOf(s) === '@grpc/grpc-js'),
    );
    expect(importers.map((f) => relative(SRC, f))).toEqual([]);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(Object.keys(pkg.dependencies)).not.toContain('@grpc/grpc-js');
  });

  // dist/ is built by the global setup, as `npm run build` builds it.
  it('the public types of driverkit and driverkit/driver name no grpc-js type', () => {
    const seen = new Set<string>();
    const leaks: string[] = [];
    const visit = (f: string) => {
      if (seen.has(f)) return;
      seen.add(f);
      const text = readFileSync(f, 'utf8');
      if (/from '@grpc\/grpc-js'|import\("@grpc\/grpc-js"\)/.test(text))
        leaks.push(relative(ROOT, f));
      for (const m of text.matchAll(/from '(\.[^']+)'|import\("(\.[^"]+)"\)/g))
        visit(resolve(dirname(f), (m[1] ?? m[2]).replace(/\.js$/, '.d.ts')));
    };
    for (const entry of ['launch/index.d.ts', 'driver/index.d.ts'])
      visit(join(ROOT, 'dist', entry));
    expect(seen.size).toBeGreaterThan(5);
    expect(leaks).toEqual([]);
  });

  // What package.json exports: dist/bundle/, made by scripts/bundle.mjs in the global setup.
  it('driverkit and driverkit/driver as shipped load a few bundled files, and none of their limits', () => {
    const EXPORTED = { driverkit: 'launch', 'driverkit/driver': 'driver' } as const;
    for (const [entry, folder] of Object.entries(EXPORTED)) {
      const seen = new Set<string>();
      const packages = new Set<string>();
      const visit = (f: string) => {
        if (seen.has(f)) return;
        seen.add(f);
        const text = readFileSync(f, 'utf8');
        // esbuild writes double quotes; only static imports load at import time.
        for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*"([^"]+)"/g)) {
          if (m[1].startsWith('.')) visit(resolve(dirname(f), m[1]));
          else if (!m[1].startsWith('node:')) packages.add(packageOf(m[1]));
        }
      };
      visit(join(ROOT, 'dist', 'bundle', folder, 'index.js'));
      expect(seen.size, entry).toBeLessThanOrEqual(12);
      expect(
        [...packages].filter((p) => ENTRIES[entry].never.includes(p)),
        entry,
      ).toEqual([]);
      expect([...packages], entry).not.toContain('@bufbuild/protobuf');
    }
  });

  for (const [entry, { file, never }] of Object.entries(ENTRIES)) {
    it(`${entry} loads none of: ${never.join(', ') || '(no limits)'}`, () => {
      const seen = new Set<string>();
      const packages = new Set<string>();
      const visit = (f: string) => {
        if (seen.has(f)) return;
        seen.add(f);
        for (const s of specifiers(f, true)) {
          if (s.startsWith('.')) visit(resolveLocal(f, s));
          else if (!s.startsWith('node:')) packages.add(packageOf(s));
        }
      };
      visit(join(SRC, file));
      expect([...packages].filter((p) => never.includes(p))).toEqual([]);
    });
  }
});
