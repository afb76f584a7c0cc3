import { describe, expect, it } from 'vitest';
import { RpcError } from '../src/errors.js';
import { Status } from '../src/status.js';
import { fixtureContract } from './fixtures/contract.js';
import { expectRejection, useDriver } from './helpers.js';
import { BIN } from './paths.js';

describe('limits and load', () => {
  it('messages up to 16 MiB pass both ways; larger ones fail with RESOURCE_EXHAUSTED', async () => {
    const driver = useDriver({ name: 'big', path: BIN.fixture, contract: fixtureContract });
    await driver.ready;
    const five = `echo:${'x'.repeat(5 * 1024 * 1024)}`;
    expect(
      (await driver.client.getUser({ userId: { opaqueId: five } })).user?.username.length,
    ).toBe(five.length);
    const err = await expectRejection(
      driver.client.getUser({ userId: { opaqueId: `echo:${'x'.repeat(17 * 1024 * 1024)}` } }),
      RpcError,
    );
    expect(err.status).toBe(Status.RESOURCE_EXHAUSTED);
    // The driver is unharmed.
    expect((await driver.client.getUser({ userId: { opaqueId: 'ok' } })).user?.username).toBe('ok');
  });

  it('10 drivers started at once answer 2,000 concurrent calls, none lost, then all close', async () => {
    const drivers = Array.from({ length: 10 }, (_, i) =>
      useDriver({ name: `load-${i}`, path: BIN.fixture, contract: fixtureContract }),
    );
    await Promise.all(drivers.map((d) => d.ready));
    const results = await Promise.allSettled(
      Array.from({ length: 2000 }, (_, i) =>
        drivers[i % drivers.length].client.getUser(
          { userId: { opaqueId: `u${i}` } },
          { timeout: 20_000 },
        ),
      ),
    );
    const wrong = results.filter(
      (r, i) => r.status !== 'fulfilled' || r.value.user?.username !== `u${i}`,
    );
    expect(wrong).toEqual([]);
    await Promise.all(drivers.map((d) => d.close()));
    for (const d of drivers) expect(d.state).toBe('closed');
  });
});
