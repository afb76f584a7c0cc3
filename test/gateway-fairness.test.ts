// One client, or one slow driver, cannot take every relay slot of the gateway: calls are
// limited per client (its token, across its connections), per driver and in all.
import { Client, credentials } from '@grpc/grpc-js';
import { describe, expect, it, onTestFinished } from 'vitest';
import { userprovider } from '../src/contracts/userprovider.js';
import { startGateway } from '../src/gateway/gateway.js';
import { createClient } from '../src/rpc/client.js';
import { Status } from '../src/status.js';
import { openHost } from '../src/host/host.js';
import { grpcInvoke } from './grpc-js/invoke.js';
import { captureLogger } from './helpers.js';
import { BIN } from './paths.js';

const fixture = {
  type: 'userprovider',
  driver: BIN.fixture,
  env: { FIXTURE_CONTRACT: 'userprovider' },
};

/** A client of the gateway on a connection of its own, sending `token` on every call. */
function clientWith(address: string, token: string, driver: string) {
  const channel = new Client(address, credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
  } as never);
  onTestFinished(() => channel.close());
  const users = createClient(userprovider.versions[1], grpcInvoke(channel));
  const metadata = { authorization: `Bearer ${token}`, 'driverkit-driver': driver };
  const abort = new AbortController();
  onTestFinished(() => abort.abort());
  return {
    hang: () =>
      users.getUser({ userId: { opaqueId: 'hang' } }, { metadata, signal: abort.signal }).then(
        () => undefined,
        (e: { code?: number; details?: string }) => e,
      ),
    echo: (id: string) => users.getUser({ userId: { opaqueId: `echo:${id}` } }, { metadata }),
  };
}

/** Starts `n` hanging calls; resolves once `refused` of them have failed, with their errors. */
async function saturate(
  calls: Promise<{ code?: number; details?: string } | undefined>[],
  refused: number,
) {
  const errors: { code?: number; details?: string }[] = [];
  await new Promise<void>((resolve) => {
    for (const c of calls)
      void c.then((e) => {
        if (e) errors.push(e);
        if (errors.length === refused) resolve();
      });
  });
  return errors;
}

describe('gateway fairness', () => {
  it("one client's calls over three connections, and one slow driver, leave room for the others", async () => {
    const host = await openHost({
      config: { drivers: { slow: fixture, other: fixture } },
      logger: captureLogger(),
    });
    onTestFinished(() => host.close());
    const gateway = await startGateway(host, '127.0.0.1:0', {
      tokens: ['token-a', 'token-b'],
      maxConcurrentCalls: 100,
      maxClientCalls: 20,
      maxDriverCalls: 30,
      maxClientDriverCalls: 30,
    });
    onTestFinished(() => gateway.close());
    // Client A: 3 connections × 9 hanging calls to `slow`; 20 are taken, 7 refused.
    const a = [0, 1, 2].map(() => clientWith(gateway.address, 'token-a', 'slow'));
    const aErrors = await saturate(
      a.flatMap((c) => Array.from({ length: 9 }, c.hang)),
      7,
    );
    for (const e of aErrors)
      expect(e).toMatchObject({
        code: Status.RESOURCE_EXHAUSTED,
        details: 'one client may have at most 20 calls relayed at once',
      });
    // Client B: 12 more to `slow` fill the driver's 30; 2 refused for the driver.
    const bSlow = clientWith(gateway.address, 'token-b', 'slow');
    const bErrors = await saturate(Array.from({ length: 12 }, bSlow.hang), 2);
    for (const e of bErrors)
      expect(e).toMatchObject({
        code: Status.RESOURCE_EXHAUSTED,
        details: 'driver "slow" is relayed at most 30 calls at once',
      });
    // Another driver still answers B, 5 calls at once.
    const bOther = clientWith(gateway.address, 'token-b', 'other');
    const answers = await Promise.all([1, 2, 3, 4, 5].map((i) => bOther.echo(String(i))));
    expect(answers.map((r) => r.user?.username)).toEqual([1, 2, 3, 4, 5].map((i) => `echo:${i}`));
  });

  it("by default one client gets half of a driver's slots: another client is served beside it", async () => {
    const host = await openHost({
      config: { drivers: { slow: fixture, other: fixture } },
      logger: captureLogger(),
    });
    onTestFinished(() => host.close());
    const gateway = await startGateway(host, '127.0.0.1:0', { tokens: ['token-a', 'token-b'] });
    onTestFinished(() => gateway.close());
    // Client A: 2 connections × 64 hanging calls to `slow` (of its 128 slots): 64 are taken.
    const a = [0, 1].map(() => clientWith(gateway.address, 'token-a', 'slow'));
    const aErrors = await saturate(
      a.flatMap((c) => Array.from({ length: 64 }, c.hang)),
      64,
    );
    for (const e of aErrors)
      expect(e).toMatchObject({
        code: Status.RESOURCE_EXHAUSTED,
        details:
          'one client may have at most 64 calls relayed to driver "slow" at once (max_client_driver_calls)',
      });
    // Client B still reaches the same driver, 10 calls at once.
    const b = clientWith(gateway.address, 'token-b', 'slow');
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => b.echo(String(i))));
    expect(answers.map((r) => r.user?.username)).toEqual(
      Array.from({ length: 10 }, (_, i) => `echo:${i}`),
    );
  });
});
