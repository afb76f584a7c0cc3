import { describe, expect, it } from 'vitest';
import { AuditLogDefinition } from '../src/gen/driverkit/audit/v1/audit.js';
import { fixtureContract } from './fixtures/contract.js';
import { DriverkitError } from '../src/errors.js';
import { expectRejection, useDriver } from './helpers.js';
import { BIN } from './paths.js';

describe('GRPCBroker (TS host ↔ TS driver)', () => {
  it('the host offers a service; the driver dials it by the id it got in a request', async () => {
    const driver = useDriver({ name: 'broker', path: BIN.fixture, contract: fixtureContract });
    await driver.ready;
    const events: string[] = [];
    const id = await driver.broker.offer(AuditLogDefinition, {
      record: (req) => {
        events.push(req.event);
        return { count: String(events.length) };
      },
    });
    expect(id).toBe(1);
    await driver.client.configure({ config: { audit: id } });
    const { user } = await driver.client.getUser({ userId: { opaqueId: 'audit' } });
    expect(user?.username).toBe('audited:1');
    expect(events).toEqual(['getUser audit']);
  });

  it('the driver offers a service; the host dials it by the id in the reply', async () => {
    const driver = useDriver({ name: 'broker', path: BIN.fixture, contract: fixtureContract });
    await driver.ready;
    const { user } = await driver.client.getUser({ userId: { opaqueId: 'offer' } });
    const audit = await driver.broker.dial(Number(user!.username), AuditLogDefinition);
    expect((await audit.record({ event: 'a' })).count).toBe('1');
    expect((await audit.record({ event: 'b' })).count).toBe('2');
  });

  it('works under AutoMTLS, both ways', async () => {
    const driver = useDriver({
      name: 'broker',
      path: BIN.fixture,
      contract: fixtureContract,
      autoMTLS: true,
    });
    await driver.ready;
    let count = 0;
    const id = await driver.broker.offer(AuditLogDefinition, {
      record: () => ({ count: String(++count) }),
    });
    await driver.client.configure({ config: { audit: id } });
    expect((await driver.client.getUser({ userId: { opaqueId: 'audit' } })).user?.username).toBe(
      'audited:1',
    );
    const { user } = await driver.client.getUser({ userId: { opaqueId: 'offer' } });
    const audit = await driver.broker.dial(Number(user!.username), AuditLogDefinition);
    expect((await audit.record({ event: 'a' })).count).toBe('1');
  });

  it("dialing an id the peer never offered fails after go-plugin's 5 s, clearly", async () => {
    const driver = useDriver({ name: 'broker', path: BIN.fixture, contract: fixtureContract });
    await driver.ready;
    const err = await expectRejection(driver.broker.dial(99, AuditLogDefinition), DriverkitError);
    expect(err.code).toBe('BROKER_TIMEOUT');
    expect(err.message).toMatch(/no address for service id 99 within 5000 ms/);
  }, 15_000);
});
