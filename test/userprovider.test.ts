import { join } from 'node:path';
import { userprovider } from '../src/contracts/userprovider.js';
import { describeUserProvider } from './conformance/userprovider.js';
import { useDriver } from './helpers.js';
import { BIN, ROOT } from './paths.js';

describeUserProvider('demo driver', async () => {
  const driver = useDriver({ name: 'demo', path: BIN.demo, contract: userprovider });
  await driver.ready;
  return driver;
});

describeUserProvider('json driver', async () => {
  const driver = useDriver({ name: 'json', path: BIN.json, contract: userprovider, cwd: ROOT });
  await driver.ready;
  await driver.client.configure({ config: { users: join('examples', 'users.json') } });
  return driver;
});
