// go-plugin's broker with every method kind, both ways: the host's services called by the
// driver's lean client, and the driver's called by the host.
import { describe, expect, it } from 'vitest';
import { fixtureContract } from './fixtures/contract.js';
import { counter } from './fixtures/gen/contracts/counter.js';
import { collect, useDriver } from './helpers.js';
import { BIN } from './paths.js';

describe('the broker with streaming methods', () => {
  it('the driver calls every kind of a service the host offered', async () => {
    const driver = useDriver({
      name: 'broker-streams',
      path: BIN.fixture,
      contract: fixtureContract,
    });
    await driver.ready;
    const id = await driver.broker.offer(counter.versions[1], {
      add: ({ value }) => ({ total: value }),
      async *count({ n }) {
        for (let i = 0; i < n; i++) yield { i };
      },
      sum: async (requests) => {
        let total = 0;
        for await (const r of requests) total += Number(r.value);
        return { total: String(total) };
      },
      async *echo(requests) {
        for await (const t of requests) yield t;
      },
    });
    await driver.client.configure({ config: { counter: id } });
    const { user } = await driver.client.getUser({ userId: { opaqueId: 'counter-broker' } });
    expect(JSON.parse(user!.username)).toEqual({ ticks: [0, 1, 2], sum: '6', echoed: [5, 6] });
  });

  it('the host calls every kind of a service the driver offered', async () => {
    const driver = useDriver({
      name: 'broker-offers',
      path: BIN.fixture,
      contract: fixtureContract,
    });
    await driver.ready;
    const { user } = await driver.client.getUser({ userId: { opaqueId: 'offer-counter' } });
    const c = await driver.broker.dial(Number(user!.username), counter.versions[1]);
    expect(await c.add({ value: '1152921504606846977' })).toMatchObject({
      total: '1152921504606846977',
    });
    expect((await collect(c.count({ n: 4 }))).map((t) => t.i)).toEqual([0, 1, 2, 3]);
    expect((await c.sum([{ value: '20' }, { value: '22' }])).total).toBe('42');
    expect((await collect(c.echo([{ i: 1 }, { i: 2 }, { i: 3 }]))).map((t) => t.i)).toEqual([
      1, 2, 3,
    ]);
  });
});
