// Machines for the tests (see machines-core.ts), removed when the test ends.
import { onTestFinished } from 'vitest';
import { type Machines, makeMachines } from './machines-core.js';

export { canMakeMachines, type Machines } from './machines-core.js';

/** Makes the machines named, on one fresh subnet; removed when the test ends, also when it fails. */
export function machines(names: string[]): Machines {
  const m = makeMachines(names);
  onTestFinished(() => m.remove());
  return m;
}
