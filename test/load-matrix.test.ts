// The load matrix, bounded for npm test (bench/ runs the full one): many concurrent unary
// calls with ~270 KB requests and ~300 KB responses AND bidi streams of 64 KiB messages AND
// small calls, all at once on one connection, against TS drivers over a unix socket and
// loopback TCP and a grpc-go driver (go-plugin listens on unix only). Before the transport
// read its sockets always (src/transport/socket.ts) about 20 such calls locked the
// connection for good: both peers' receive queues full, neither reading.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Driver } from '../src/launch/driver.js';
import { interop } from './fixtures/gen/contracts/interop.js';
import { RpcError } from '../src/errors.js';
import { Status } from '../src/status.js';
import { expectRejection, hasGoToolchain, useDriver } from './helpers.js';
import { BIN, ROOT, TEST_BIN } from './paths.js';

const GO_DRIVER = join(TEST_BIN, 'interop', 'go-driver');
const REQUEST = 271_828;
const RESPONSE = 300_000;
const CHUNK = 64 * 1024;

type InteropDriver = Driver<typeof interop>;

/** Every kind of traffic at once; resolves with what went wrong (empty when nothing did). */
async function loadOnce(driver: InteropDriver, large: number, streams: number): Promise<string[]> {
  const client = driver.client;
  // A deadline on every call: a lost or hung call shows as DEADLINE_EXCEEDED, not a hung test.
  const options = { timeout: 20_000 };
  const unary = Array.from({ length: large }, async (_, i) => {
    const res = await client.unaryCall(
      { responseSize: RESPONSE, payload: { body: Buffer.alloc(REQUEST, i) } },
      options,
    );
    if (res.payload?.body.length !== RESPONSE) throw new Error(`call ${i}: short response`);
  });
  const bidi = Array.from({ length: streams }, async (_, i) => {
    const requests = Array.from({ length: 16 }, () => ({
      responseParameters: [{ size: CHUNK }],
      payload: { body: Buffer.alloc(CHUNK) },
    }));
    let got = 0;
    for await (const r of client.fullDuplexCall(requests, options))
      got += r.payload?.body.length ?? 0;
    if (got !== 16 * CHUNK) throw new Error(`stream ${i}: ${got} of ${16 * CHUNK} bytes`);
  });
  const small = Array.from({ length: 200 }, () => client.emptyCall({}, options));
  const results = await Promise.allSettled([...unary, ...bidi, ...small]);
  return results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
}

async function expectLoadPasses(driver: InteropDriver): Promise<void> {
  await driver.ready;
  expect(await loadOnce(driver, 64, 8)).toEqual([]);
  // The connection is still good afterwards, for one more round.
  expect(await loadOnce(driver, 24, 4)).toEqual([]);
}

describe('load matrix: concurrent large calls, streams and small calls on one connection', () => {
  it('TS driver over a unix socket', async () => {
    await expectLoadPasses(useDriver({ name: 'load-unix', path: BIN.interop, contract: interop }));
  }, 90_000);

  it('TS driver over loopback TCP', async () => {
    const driver = useDriver({
      name: 'load-tcp',
      path: BIN.interop,
      contract: interop,
      env: { INTEROP_NETWORK: 'tcp' },
    });
    await driver.ready;
    expect(driver.handshake?.network).toBe('tcp');
    await expectLoadPasses(driver);
  }, 90_000);

  describe.skipIf(!hasGoToolchain)('grpc-go driver (go-plugin)', () => {
    beforeAll(async () => {
      await promisify(execFile)('sh', [join(ROOT, 'test/go/interop/build.sh'), 'server'], {
        env: { ...process.env, OUT: GO_DRIVER },
      });
    }, 180_000);

    it('over a unix socket', async () => {
      await expectLoadPasses(useDriver({ name: 'load-go', path: GO_DRIVER, contract: interop }));
    }, 90_000);

    it("a request over grpc-go's 4 MiB limit fails with its RESOURCE_EXHAUSTED at once, not at the deadline", async () => {
      const driver = useDriver({ name: 'limit-go', path: GO_DRIVER, contract: interop });
      await driver.ready;
      const started = Date.now();
      const err = await expectRejection(
        driver.client.unaryCall({ payload: { body: Buffer.alloc(4 << 20) } }, { timeout: 60_000 }),
        RpcError,
      );
      expect(err.status).toBe(Status.RESOURCE_EXHAUSTED);
      expect(err.details).toMatch(/larger than max/);
      // The answer came while our request was still going out: it ends the call.
      expect(Date.now() - started).toBeLessThan(30_000);
      expect((await driver.client.emptyCall({})) ?? {}).toEqual({});
    }, 90_000);
  });
});
