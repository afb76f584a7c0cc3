import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Where the global setup puts the executables the tests run (not bin/: that is the user's); DRIVERKIT_TEST_BIN gives a run of its own, so that runs side by side do not remove or kill each other's. */
export const TEST_BIN = process.env.DRIVERKIT_TEST_BIN ?? join(ROOT, '.cache', 'test-bin');

export const BIN = {
  demo: join(TEST_BIN, 'userprovider', 'demo'),
  json: join(TEST_BIN, 'userprovider', 'json'),
  ldap: join(TEST_BIN, 'userprovider', 'ldap'),
  authJson: join(TEST_BIN, 'authprovider', 'json'),
  authLdap: join(TEST_BIN, 'authprovider', 'ldap'),
  fixture: join(TEST_BIN, 'fixture', 'driver'),
  host: join(TEST_BIN, 'fixture', 'host'),
  kv: join(TEST_BIN, 'kv', 'ts'),
  greeter: join(TEST_BIN, 'greeter', 'ts'),
  counter: join(TEST_BIN, 'counter', 'ts'),
  interop: join(TEST_BIN, 'interop', 'ts'),
};

/** The CLI as shipped (dist/, built by the global setup). */
export const CLI = join(ROOT, 'dist', 'cli', 'main.js');
