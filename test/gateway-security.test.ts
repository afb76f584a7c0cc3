// The gateway lets in only whom it should: bearer tokens, TLS and mTLS with certificates
// made here, a per-driver allow-list that keeps Configure out, a limit on calls in flight,
// and no exposed address without protection.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:http2';
import { dirname, join } from 'node:path';
import { Client, credentials } from '@grpc/grpc-js';
import { describe, expect, it, onTestFinished } from 'vitest';
import { userprovider } from '../src/contracts/userprovider.js';
import { DriverkitError } from '../src/errors.js';
import { startGateway } from '../src/gateway/gateway.js';
import type { GatewaySecurity } from '../src/gateway/security.js';
import { grpcInvoke } from './grpc-js/invoke.js';
import { generateIdentity } from '../src/protocol/mtls.js';
import { createClient } from '../src/rpc/client.js';
import { Status } from '../src/status.js';
import { openHost } from '../src/host/host.js';
import { captureLogger, expectRejection, spawnCollect, waitFor } from './helpers.js';
import { BIN, CLI } from './paths.js';

async function gatewayWith(
  security: GatewaySecurity,
  listen = '127.0.0.1:0',
  env: Record<string, string> = {},
) {
  const host = await openHost({
    config: {
      drivers: {
        users: {
          type: 'userprovider',
          driver: BIN.fixture,
          env: { FIXTURE_CONTRACT: 'userprovider', ...env },
        },
      },
    },
    logger: captureLogger(),
  });
  onTestFinished(() => host.close());
  const gateway = await startGateway(host, listen, security);
  onTestFinished(() => gateway.close());
  return gateway;
}

function usersAt(
  address: string,
  creds = credentials.createInsecure(),
  options: Record<string, string> = {},
) {
  const channel = new Client(address, creds, options);
  onTestFinished(() => channel.close());
  return createClient(userprovider.versions[1], grpcInvoke(channel));
}

describe('gateway security', () => {
  it('bearer tokens: none or a wrong one is UNAUTHENTICATED; the token never reaches the driver', async () => {
    const gateway = await gatewayWith({ tokens: ['s3cret-1', 's3cret-2'] });
    const users = usersAt(gateway.address);
    for (const metadata of [
      undefined,
      { authorization: 'Bearer nope' },
      { authorization: 's3cret-1' },
    ]) {
      const err = await expectRejection(users.getUser({ userId: { opaqueId: 'x' } }, { metadata }));
      expect(err).toMatchObject({ code: Status.UNAUTHENTICATED });
    }
    const { user } = await users.getUser(
      { userId: { opaqueId: 'metadata' } },
      {
        metadata: {
          authorization: 'Bearer s3cret-2',
          'x-mine': 'kept',
          // Identity and log fields are the host's to set, not a gateway client's.
          'driverkit-user': 'admin',
          'driverkit-log-fields': '{"forged":"yes"}',
          // A trace is the gateway's span's to continue (none here: no SDK registered).
          traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
          tracestate: 'forged=1',
        },
      },
    );
    const seen = JSON.parse(user!.username) as Record<string, string>;
    expect(seen['x-mine']).toBe('kept');
    expect(seen.authorization).toBeUndefined();
    // Not the client's `admin`: the gateway says who the call is for, from the token.
    expect(seen['driverkit-user']).toBe('token-2');
    expect(seen['driverkit-log-fields']).toBeUndefined();
    expect(seen.traceparent).toBeUndefined();
    expect(seen.tracestate).toBeUndefined();
  });

  it("a driver's ctx.context.user is the token's name, whatever the client says", async () => {
    const gateway = await gatewayWith({
      tokens: [{ name: 'alice', token: 's3cret-a' }, 's3cret-b'],
    });
    const users = usersAt(gateway.address);
    const userFor = async (token: string) => {
      const { user } = await users.getUser(
        { userId: { opaqueId: 'context' } },
        { metadata: { authorization: `Bearer ${token}`, 'driverkit-user': 'admin' } },
      );
      return (JSON.parse(user!.username) as { user?: string }).user;
    };
    expect(await userFor('s3cret-a')).toBe('alice');
    expect(await userFor('s3cret-b')).toBe('token-2');
  });

  it('Configure is not reachable through the gateway unless a driver allows it; the allow-list is per method', async () => {
    const closed = usersAt((await gatewayWith({})).address);
    const err = await expectRejection(closed.configure({ config: { users: '/etc/passwd' } }));
    expect(err).toMatchObject({
      code: Status.PERMISSION_DENIED,
      details: 'Configure of driver "users" is not allowed through this gateway',
    });
    const only = usersAt((await gatewayWith({ allow: { users: ['FindUsers'] } })).address);
    expect((await only.findUsers({ query: 'x' })).users).toEqual([]);
    expect(await expectRejection(only.getUser({ userId: { opaqueId: 'x' } }))).toMatchObject({
      code: Status.PERMISSION_DENIED,
    });
    const open = usersAt((await gatewayWith({ allow: { users: ['*'] } })).address);
    await open.configure({ config: {} });
  });

  it('TLS with mTLS: a client with the CA-signed certificate gets through; one without, or in plaintext, does not', async () => {
    const [server, client, stranger] = await Promise.all([
      generateIdentity(),
      generateIdentity(),
      generateIdentity(),
    ]);
    const gateway = await gatewayWith(
      {
        tls: { certPem: server.certPem, keyPem: server.keyPem, clientCaPem: client.certPem },
        insecure: false,
      },
      '127.0.0.1:0',
    );
    const name = {
      'grpc.ssl_target_name_override': 'localhost',
      'grpc.default_authority': 'localhost',
    };
    const trusted = usersAt(
      gateway.address,
      credentials.createSsl(
        Buffer.from(server.certPem),
        Buffer.from(client.keyPem),
        Buffer.from(client.certPem),
      ),
      name,
    );
    expect((await trusted.findUsers({ query: 'x' })).users).toEqual([]);
    const untrusted = usersAt(
      gateway.address,
      credentials.createSsl(
        Buffer.from(server.certPem),
        Buffer.from(stranger.keyPem),
        Buffer.from(stranger.certPem),
      ),
      name,
    );
    expect(
      await expectRejection(untrusted.findUsers({ query: 'x' }, { timeout: 5000 })),
    ).toMatchObject({ code: Status.UNAVAILABLE });
    const plaintext = usersAt(gateway.address);
    expect(
      await expectRejection(plaintext.findUsers({ query: 'x' }, { timeout: 5000 })),
    ).toMatchObject({ code: Status.UNAVAILABLE });
  });

  it('calls in flight are limited: past the limit, RESOURCE_EXHAUSTED', async () => {
    const users = usersAt(
      (await gatewayWith({ maxConcurrentCalls: 1, maxClientCalls: 5, maxDriverCalls: 5 })).address,
    );
    const abort = new AbortController();
    const hanging = users
      .getUser({ userId: { opaqueId: 'hang' } }, { signal: abort.signal })
      .catch((e: unknown) => e);
    // The first call holds the only slot until it is aborted: retry the second until the first is counted.
    let err: { code?: number } | undefined;
    for (let i = 0; i < 50 && err?.code !== Status.RESOURCE_EXHAUSTED; i++)
      err = (await users.findUsers({ query: 'x' }).then(
        () => undefined,
        (e: unknown) => e,
      )) as { code?: number };
    expect(err).toMatchObject({
      code: Status.RESOURCE_EXHAUSTED,
      details: 'this gateway relays at most 1 calls at once',
    });
    abort.abort();
    await hanging;
  });

  it('request bytes in flight are limited per client connection and in all: past either, RESOURCE_EXHAUSTED', async () => {
    const MiB = 1 << 20;
    // The driver writes the marker when a 'hang' call reaches it: its request is in whole.
    const marker = join(mkdtempSync(join(tmpdir(), 'dk-gw-')), 'marker');
    onTestFinished(() => rmSync(dirname(marker), { recursive: true, force: true }));
    const gateway = await gatewayWith(
      { maxClientMemory: 35 * MiB, maxMemory: 40 * MiB },
      undefined,
      {
        FIXTURE_MARKER: marker,
      },
    );
    const a = usersAt(gateway.address);
    // Another connection: grpc-js would otherwise share one between clients of one address.
    const b = usersAt(gateway.address, credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
    } as never);
    const big = (id: string, mib = 15) => ({
      userId: { opaqueId: id, idp: 'x'.repeat(mib * MiB) },
    });
    const abort = new AbortController();
    // Bytes count as they arrive: one at a time, so that the holds are the first two.
    const hanging: Array<Promise<unknown>> = [];
    for (let i = 0; i < 2; i++) {
      rmSync(marker, { force: true });
      hanging.push(a.getUser(big('hang'), { signal: abort.signal }).catch((e: unknown) => e));
      await waitFor(() => existsSync(marker), 20_000, `hanging call ${i + 1} at the driver`);
    }
    // A third would make 45 of 35.
    const err = (await expectRejection(a.getUser(big('echo:a')))) as {
      code?: number;
      details?: string;
    };
    expect(err?.code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(err?.details).toMatch(
      `requests held for one connection would pass ${35 * MiB} bytes (max_client_memory)`,
    );
    // Another client is within its own share but not the overall one (30 + 15 of 40)...
    const overall = await expectRejection(b.getUser(big('echo:b')));
    expect(overall).toMatchObject({ code: Status.RESOURCE_EXHAUSTED });
    expect((overall as unknown as { details: string }).details).toMatch(
      `requests held for all clients would pass ${40 * MiB} bytes (max_memory)`,
    );
    // ...and gets what is left (30 + 5 of 40).
    expect((await b.getUser(big('echo:b', 5))).user?.username).toBe('echo:b');
    abort.abort();
    await Promise.all(hanging);
    // Given back when the calls end.
    expect((await a.getUser(big('echo:again'))).user?.username).toBe('echo:again');
  });

  it('a client connection is told how many calls it may have open at once', async () => {
    const gateway = await gatewayWith({ maxCallsPerClient: 7 });
    const session = connect(`http://${gateway.address}`);
    onTestFinished(() => void session.destroy());
    await new Promise<void>((resolve) => session.once('remoteSettings', () => resolve()));
    expect(session.remoteSettings.maxConcurrentStreams).toBe(7);
  });

  it('an address off loopback without TLS and authentication is refused; insecure allows it', async () => {
    const err = await expectRejection(gatewayWith({}, '0.0.0.0:0'), DriverkitError);
    expect(err.message).toMatch(
      /refusing to serve 0\.0\.0\.0:0 \(reachable from other machines\) without TLS and authentication/,
    );
    await gatewayWith({ insecure: true }, '0.0.0.0:0');
  });

  it('driverkit serve refuses such an address before any driver starts, and reads its tokens from the config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dk-gw-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(
      join(dir, 'driverkit.toml'),
      `listen = "0.0.0.0:0"\n[gateway]\ntokens_env = "GW_TOKENS"\n\n[drivers.users]\ntype = "userprovider"\ndriver = "${BIN.demo}"\n`,
    );
    const out = await spawnCollect(process.execPath, [CLI, 'serve'], {
      cwd: dir,
      env: { ...process.env, GW_TOKENS: 'a,b' },
    });
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/refusing to serve 0\.0\.0\.0:0 .*without TLS and authentication/);
    expect(out.stderr).not.toMatch(/building|starting/);
  });
});
