// Clients speak the version the driver negotiated. A host that knows versions 1 and 2 of
// "greeter" and a driver that serves only 1: the config host's client used to build the
// newest version's client whatever was negotiated (UNIMPLEMENTED /greeter.v2.Greeter/Hello).
import { describe, expect, expectTypeOf, it, onTestFinished } from 'vitest';
import { RpcError } from '../src/errors.js';
import { versioned } from '../src/launch/driver.js';
import { Status } from '../src/status.js';
import { openHost } from '../src/host/host.js';
import { greeter } from './fixtures/gen/contracts/greeter.js';
import { captureLogger, expectRejection, useDriver } from './helpers.js';
import { BIN } from './paths.js';

async function greeterHost(serves: string) {
  const host = await openHost({
    config: {
      drivers: {
        g: { type: 'greeter', driver: BIN.greeter, env: { GREETER_VERSIONS: serves } },
      },
    },
    contracts: [greeter],
    logger: captureLogger(),
  });
  onTestFinished(() => host.close());
  return host;
}

describe('clients speak the negotiated version', () => {
  it("a config host's client of a v1-only driver calls v1; a v2-only method fails clearly, unsent", async () => {
    const host = await greeterHost('1');
    const client = await host.client('g', greeter);
    expect((await client.hello({ name: 'ada' })).message).toBe('hello ada (v1)');
    const count = (client as unknown as { count(r: object): Promise<unknown> }).count;
    const err = await expectRejection(count({}), RpcError);
    expect(err.status).toBe(Status.UNIMPLEMENTED);
    expect(err.message).toMatch(/count is not in version 1 of "greeter"/);
  });

  it('the same client speaks v2 to a driver that serves it', async () => {
    const host = await greeterHost('1,2');
    const client = await host.client('g', greeter);
    expect((await client.hello({ name: 'ada' })).message).toBe('hello ada (v2)');
  });

  it('versioned clients make a method of another version a compile error until narrowed', async () => {
    const host = await greeterHost('1');
    const v = await host.versioned('g', greeter);
    expect(v.version).toBe(1);
    if (v.version === 1) {
      expect((await v.client.hello({ name: 'bo' })).message).toBe('hello bo (v1)');
      // @ts-expect-error count is a version 2 method
      expect(v.client.count).toBeUndefined();
    }
    const driver = useDriver({
      name: 'greeter',
      path: BIN.greeter,
      contract: greeter,
      env: { GREETER_VERSIONS: '2' },
    });
    await driver.ready;
    const d = versioned(driver);
    expectTypeOf(d.version).toEqualTypeOf<1 | 2>();
    expect(d.version).toBe(2);
    if (d.version === 2) expect((await d.client.count({})).greeted).toBe('0');
  });
});
