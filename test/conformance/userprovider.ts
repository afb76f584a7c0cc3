// The shipped UserProvider conformance suite (driverkit/testing) as vitest tests: one test
// per case, each against a driver that `start` starts.
import { describe, it } from 'vitest';
import type { Driver } from '../../src/launch/driver.js';
import type { UserProviderContract } from '../../src/contracts/userprovider.js';
import { userproviderSuite } from '../../src/testing/userprovider.js';

export function describeUserProvider(
  name: string,
  start: () => Promise<Driver<UserProviderContract>>,
): void {
  describe(`UserProvider conformance: ${name}`, () => {
    for (const c of userproviderSuite.cases) it(c.name, async () => c.run((await start()).client));
  });
}
