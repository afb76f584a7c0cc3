// Every name a public entry exports carries TSDoc: the entries are what users read first.
import ts from 'typescript';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from './paths.js';

const ENTRIES = [
  'src/launch/index.ts',
  'src/driver/index.ts',
  'src/host/index.ts',
  'src/build/index.ts',
  'src/gateway/index.ts',
  'src/testing/index.ts',
  'src/metrics/index.ts',
];

it('every export of every public entry is documented', () => {
  const files = ENTRIES.map((f) => join(ROOT, f));
  const program = ts.createProgram(files, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    skipLibCheck: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const undocumented: string[] = [];
  let count = 0;
  for (const file of files) {
    const module = checker.getSymbolAtLocation(program.getSourceFile(file)!)!;
    for (const exported of checker.getExportsOfModule(module)) {
      count++;
      const symbol =
        exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      if (symbol.getDocumentationComment(checker).length === 0)
        undocumented.push(`${file.slice(ROOT.length)}: ${exported.name}`);
    }
  }
  expect(count).toBeGreaterThan(40);
  expect(undocumented).toEqual([]);
}, 60_000);
