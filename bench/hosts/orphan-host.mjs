// A host for the orphans row: starts the driver at argv[2] with the built driverkit
// (dist/, so the watchdog is the one users get), prints the driver's pid, then waits to be
// killed. Not bundled: the row times what `npm run build` produced.
import { startDriver, userprovider } from '../../dist/launch/index.js';

const driver = await startDriver({
  name: 'orphans',
  path: process.argv[2],
  contract: userprovider,
  logger: { log: () => {} },
});
process.stdout.write(`${driver.pid}\n`);
setInterval(() => {}, 1 << 30);
