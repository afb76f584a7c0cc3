import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { expect, it, onTestFinished } from 'vitest';
import { ROOT } from './paths.js';

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

it('src/gen and test/fixtures/gen are what `npm run gen` produces (regenerate and commit if this fails)', () => {
  const out = mkdtempSync(join(tmpdir(), 'dk-gen-'));
  onTestFinished(() => rmSync(out, { recursive: true, force: true }));
  execFileSync(process.execPath, [join(ROOT, 'scripts/gen.mjs'), '--out', out], {
    cwd: ROOT,
    stdio: 'pipe',
  });
  for (const [fresh, committed] of [
    [join(out, 'src'), join(ROOT, 'src/gen')],
    [join(out, 'test'), join(ROOT, 'test/fixtures/gen')],
  ]) {
    expect(files(committed)).toEqual(files(fresh));
    for (const f of files(fresh))
      expect(readFileSync(join(committed, f), 'utf8'), f).toBe(
        readFileSync(join(fresh, f), 'utf8'),
      );
  }
});
