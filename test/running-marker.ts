// Each test worker writes the test it is running to a file named by its pid, and removes
// it when the test ends. A worker that dies mid-test (a native crash, a signal) leaves its
// file behind, and the end-of-run check names that test: Vitest itself only says "Worker
// exited unexpectedly", and the worker's own last words scroll away in a long log.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, inject } from 'vitest';
import { ROOT } from './paths.js';

const folder = inject('runningFolder');
const file = folder ? join(folder, String(process.pid)) : undefined;

beforeEach((context) => {
  if (!file) return;
  mkdirSync(folder!, { recursive: true });
  const where = context.task.file ? relative(ROOT, context.task.file.filepath) : '?';
  writeFileSync(file, `${where} > ${context.task.name}\n`);
});

afterEach(() => {
  if (file) rmSync(file, { force: true });
});
