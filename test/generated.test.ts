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

it('src/gen is what `npm run gen` produces from proto/ (regenerate and commit if this fails)', () => {
  const out = mkdtempSync(join(tmpdir(), 'dk-gen-'));
  onTestFinished(() => rmSync(out, { recursive: true, force: true }));
  const fresh = join(out, 'gen');
  execFileSync(process.execPath, [join(ROOT, 'scripts/gen.mjs'), '--out', fresh], { cwd: ROOT, stdio: 'pipe' });
  const committed = join(ROOT, 'src/gen');
  expect(files(committed)).toEqual(files(fresh));
  for (const f of files(fresh)) expect(readFileSync(join(committed, f), 'utf8'), f).toBe(readFileSync(join(fresh, f), 'utf8'));
});
