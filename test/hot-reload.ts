// A TS source driver of the test type "counter" whose every edit the tests can tell apart:
// Add answers its generation. Written into a project folder a host builds from.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { ROOT } from './paths.js';

/** How an edit of the driver's source goes wrong, or not. */
export type Edit = 'ok' | 'syntax-error' | 'exits-at-start' | 'wrong-type';

/** The driver's main.ts at generation `gen`. */
export function counterSource(gen: number, edit: Edit = 'ok'): string {
  const src = (p: string) => JSON.stringify(join(ROOT, p));
  if (edit === 'syntax-error') return `const GEN = ${gen};\nexport const broken = ;\n`;
  if (edit === 'exits-at-start')
    return `console.error('generation ${gen} refuses to start');\nprocess.exit(3);\n`;
  if (edit === 'wrong-type')
    return [
      `import { serve, userprovider } from ${src('src/driver/index.js')};`,
      `// Generation ${gen}: a UserProvider, in a folder the config calls a counter.`,
      'await serve({ contract: userprovider, handlers: { 1: {} } as never });',
      '',
    ].join('\n');
  return [
    `import { serve } from ${src('src/driver/index.js')};`,
    `import { counter } from ${src('test/fixtures/gen/contracts/counter.js')};`,
    `const GEN = ${gen};`,
    'await serve({',
    '  contract: counter,',
    "  network: process.env.COUNTER_NETWORK === 'tcp' ? 'tcp' : 'unix',",
    '  handlers: {',
    '    1: {',
    '      add: ({ value }) => ({ total: String(GEN), count: String(value) }),',
    '      async *count({ n, size }, ctx) {',
    '        for (let i = 0; (n === 0 || i < n) && !ctx.signal.aborted; i++) {',
    '          yield { i, payload: Buffer.alloc(size, GEN) };',
    '          // A steady stream, not a busy one: a tick every 5 ms.',
    '          await new Promise((r) => setTimeout(r, 5));',
    '        }',
    '      },',
    '      sum: async () => ({ total: String(GEN), count: "0" }),',
    '      async *echo(ticks) {',
    '        for await (const t of ticks) yield t;',
    '      },',
    '    },',
    '  },',
    '});',
    '',
  ].join('\n');
}

/** A project folder with the counter driver's source in `counter/`; removed after the test. */
export function counterProject(): {
  dir: string;
  folder: string;
  edit: (gen: number, e?: Edit) => void;
} {
  mkdirSync(join(ROOT, '.cache'), { recursive: true });
  const dir = mkdtempSync(join(ROOT, '.cache', 'hot-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const folder = join(dir, 'counter');
  mkdirSync(folder);
  writeFileSync(
    join(folder, 'driverkit.json'),
    JSON.stringify({ type: 'counter', version: '0.1.0', driverkit: '^0.1.0' }),
  );
  const edit = (gen: number, e: Edit = 'ok') =>
    writeFileSync(join(folder, 'main.ts'), counterSource(gen, e));
  edit(1);
  return { dir, folder, edit };
}

/** Pids of the processes running `binary` (a built TS driver runs as `node <binary>`). */
export function processesOf(binary: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (argv.includes(binary)) pids.push(Number(name));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}
