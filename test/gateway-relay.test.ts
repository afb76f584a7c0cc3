// The gateway relays what a driver says, under load: response headers and trailers on OK
// calls as on failed ones, in every method kind; 100 concurrent 271,828-byte calls; a long
// stream of small messages without a listener per message. The client is grpc-js, an
// outside peer, on its own connection to the gateway.
import { Client, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { describe, expect, it, onTestFinished } from 'vitest';
import { codec, methodPath } from '../src/contracts/contract.js';
import type { Driver } from '../src/launch/driver.js';
import { Status } from '../src/status.js';
import { interop } from './fixtures/gen/contracts/interop.js';
import { interopGateway } from './helpers.js';

const TestService = interop.versions[1];
const INITIAL = 'x-grpc-test-echo-initial';
const TRAILING = 'x-grpc-test-echo-trailing-bin';

/** A gateway over one interop driver, and a grpc-js client of it; both closed at test end. */
async function gatewayClient(): Promise<{ client: Client; driver: Driver<typeof interop> }> {
  const { address, driver } = await interopGateway();
  const client = new Client(address, credentials.createInsecure(), {
    'grpc.max_receive_message_length': 16 << 20,
  });
  onTestFinished(() => client.close());
  return { client, driver };
}

const m = TestService.methods;
const path = (method: (typeof m)[keyof typeof m]) => methodPath(TestService, method);

/** Metadata with the two echo keys, as the interop cases send them. */
function echoRequest(): Metadata {
  const md = new Metadata();
  md.set(INITIAL, 'initial-value');
  md.set(TRAILING, Buffer.from([0xab, 0xcd]));
  return md;
}

interface Seen {
  headers?: Metadata;
  trailers?: Metadata;
  code?: number;
}

/** Records what a grpc-js call hears besides its messages. */
function watch(call: { on(e: string, f: (...args: any[]) => void): unknown }): Promise<Seen> {
  const seen: Seen = {};
  call.on('metadata', (md: Metadata) => (seen.headers = md));
  return new Promise((resolve) =>
    call.on('status', (s: { code: number; metadata: Metadata }) => {
      seen.trailers = s.metadata;
      seen.code = s.code;
      resolve(seen);
    }),
  );
}

function expectEchoed(seen: Seen, kind: string): void {
  expect(seen.code, kind).toBe(Status.OK);
  expect(seen.headers?.get(INITIAL), kind).toEqual(['initial-value']);
  expect(seen.trailers?.get(TRAILING), kind).toEqual([Buffer.from([0xab, 0xcd])]);
}

describe('the gateway relays what the driver says', () => {
  it('headers and trailers of OK calls, in every method kind', async () => {
    const { client } = await gatewayClient();
    const unaryReq = codec(m.unaryCall.requestType);
    const unaryRes = codec(m.unaryCall.responseType);
    const unary = client.makeUnaryRequest(
      path(m.unaryCall),
      unaryReq.serialize,
      unaryRes.deserialize,
      { responseSize: 10 },
      echoRequest(),
      () => {},
    );
    expectEchoed(await watch(unary), 'unary');

    const outReq = codec(m.streamingOutputCall.requestType);
    const outRes = codec(m.streamingOutputCall.responseType);
    const serverStream = client.makeServerStreamRequest(
      path(m.streamingOutputCall),
      outReq.serialize,
      outRes.deserialize,
      { responseParameters: [{ size: 1 }, { size: 2 }] },
      echoRequest(),
    );
    serverStream.on('data', () => {});
    expectEchoed(await watch(serverStream), 'server-streaming');

    const inReq = codec(m.streamingInputCall.requestType);
    const inRes = codec(m.streamingInputCall.responseType);
    const clientStream = client.makeClientStreamRequest(
      path(m.streamingInputCall),
      inReq.serialize,
      inRes.deserialize,
      echoRequest(),
      () => {},
    );
    const clientSeen = watch(clientStream);
    clientStream.write({ payload: { body: Buffer.alloc(3) } });
    clientStream.end();
    expectEchoed(await clientSeen, 'client-streaming');

    const bidi = client.makeBidiStreamRequest(
      path(m.fullDuplexCall),
      outReq.serialize,
      outRes.deserialize,
      echoRequest(),
    );
    bidi.on('data', () => {});
    const bidiSeen = watch(bidi);
    bidi.write({ responseParameters: [{ size: 4 }] });
    bidi.end();
    expectEchoed(await bidiSeen, 'bidi');
  });

  it('100 concurrent calls of 271,828 bytes each way all succeed', async () => {
    const { client } = await gatewayClient();
    const req = codec(m.unaryCall.requestType);
    const res = codec(m.unaryCall.responseType);
    const one = (i: number) =>
      new Promise<number>((resolve, reject) =>
        client.makeUnaryRequest(
          path(m.unaryCall),
          req.serialize,
          res.deserialize,
          { responseSize: 271_828, payload: { body: Buffer.alloc(271_828, i) } },
          new Metadata(),
          { deadline: Date.now() + 60_000 },
          (err: ServiceError | null, reply?: { payload?: { body: Buffer } }) =>
            err ? reject(err) : resolve(reply?.payload?.body.length ?? -1),
        ),
      );
    const results = await Promise.allSettled(Array.from({ length: 100 }, (_, i) => one(i)));
    const wrong = results.filter((r) => r.status !== 'fulfilled' || r.value !== 271_828);
    expect(wrong).toEqual([]);
  }, 90_000);

  it('a long stream of 4 KiB messages adds no listener per message', async () => {
    const { client } = await gatewayClient();
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    onTestFinished(() => void process.off('warning', onWarning));
    const req = codec(m.streamingOutputCall.requestType);
    const res = codec(m.streamingOutputCall.responseType);
    const stream = client.makeServerStreamRequest(
      path(m.streamingOutputCall),
      req.serialize,
      res.deserialize,
      { responseParameters: Array.from({ length: 3000 }, () => ({ size: 4096 })) },
      new Metadata(),
    );
    let got = 0;
    stream.on('data', () => got++);
    const seen = await watch(stream);
    expect(seen.code).toBe(Status.OK);
    expect(got).toBe(3000);
    // A warning is emitted on the next tick at the latest.
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings.filter((w) => w.includes('MaxListeners'))).toEqual([]);
  }, 60_000);
});
