// gRPC's interop test cases (grpc/grpc's doc/interop-test-descriptions.md) against the
// driver SDK's own gRPC server, from a grpc-js client and from a grpc-go one (test/go/interop),
// with grpc-js's server serving the same handlers (the host broker's adapter) as the
// reference: a case that passes there and fails on the SDK is the SDK's bug. See docs/interop.md.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect, type IncomingHttpHeaders } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import {
  Client,
  credentials,
  Metadata,
  Server,
  ServerCredentials,
  type ServiceError,
  type StatusObject,
} from '@grpc/grpc-js';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { codec } from '../src/contracts/contract.js';
import { RpcError } from '../src/errors.js';
import { toGrpcService } from './grpc-js/service.js';
import { grpcInvoke } from './grpc-js/invoke.js';
import { frameMessage } from '../src/protocol/grpc-wire.js';
import { MESSAGE_LIMIT_OPTIONS } from '../src/protocol/limits.js';
import type { Broker } from '../src/rpc/broker.js';
import { createClient, errorStep } from '../src/rpc/client.js';
import type { DriverLogger } from '../src/rpc/handlers.js';
import { Status } from '../src/status.js';
import { interop } from './fixtures/gen/contracts/interop.js';
import { SimpleRequest } from './fixtures/gen/grpc/testing/messages.js';
import { UnimplementedServiceDefinition } from './fixtures/gen/grpc/testing/test.js';
import { interopHandlers } from './fixtures/interop-driver.js';
import {
  collect,
  expectRejection,
  hasGoToolchain,
  interopGateway,
  requestQueue,
  spawnCollect,
  useDriver,
} from './helpers.js';
import { BIN, ROOT, TEST_BIN } from './paths.js';

const TestService = interop.versions[1];
const ECHO_INITIAL = 'x-grpc-test-echo-initial';
const ECHO_TRAILING = 'x-grpc-test-echo-trailing-bin';
const TRAILING_VALUE = Buffer.from([0xab, 0xab, 0xab]);
const SPECIAL_MESSAGE = '\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n';

/** A server under test: where it listens (a unix socket path, or a loopback `HOST:PORT`). */
type Served = { socket: string } | { tcp: string };

const grpcTarget = (s: Served) => ('socket' in s ? `unix:${s.socket}` : s.tcp);

/** The interop driver, started by a host as any driver is; reached directly at its handshake address. */
async function sdkServer(): Promise<{ socket: string }> {
  const driver = useDriver({ name: 'interop', path: BIN.interop, contract: interop });
  await driver.ready;
  expect(driver.handshake?.network).toBe('unix');
  return { socket: driver.handshake!.address };
}

const silent: DriverLogger = {
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
  with: () => silent,
};

/** The same handlers on grpc-js's server, through the adapter the host's broker serves offered services with. */
async function grpcJsServer(): Promise<{ socket: string }> {
  const server = new Server(MESSAGE_LIMIT_OPTIONS);
  // The interop handlers never use the broker.
  const { definition, implementation } = toGrpcService(
    TestService,
    interopHandlers,
    silent,
    {} as Broker,
  );
  server.addService(definition, implementation);
  const socket = join(tmpdir(), `dk-interop-${randomBytes(4).toString('hex')}`);
  await new Promise<number>((resolve, reject) =>
    server.bindAsync(`unix:${socket}`, ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve(port),
    ),
  );
  onTestFinished(() => {
    server.forceShutdown();
    rmSync(socket, { force: true });
  });
  return { socket };
}

/** `driverkit serve`'s gateway over the interop driver: every case relayed, still encoded. */
async function gatewayServer(): Promise<Served> {
  return { tcp: (await interopGateway()).address };
}

const SERVERS = [
  ['the driver SDK', sdkServer],
  ['grpc-js (reference)', grpcJsServer],
  ['the gateway (driverkit serve)', gatewayServer],
] as const;

function channelTo(served: Served): Client {
  const channel = new Client(
    grpcTarget(served),
    credentials.createInsecure(),
    MESSAGE_LIMIT_OPTIONS,
  );
  onTestFinished(() => channel.close());
  return channel;
}

const mapError = (err: { code: number; details: string }, method: string) =>
  new RpcError(err.code as never, err.details, { method });

function clientOf(served: Served) {
  return createClient(TestService, grpcInvoke(channelTo(served)), errorStep(mapError));
}

const zeros = (n: number) => ({ body: Buffer.alloc(n) });
const sizeOf = (payload: { body: Uint8Array } | undefined) => payload?.body.length ?? 0;

/** What a raw grpc-js call saw: its response headers, its status (with trailers) and its responses. */
interface Seen {
  headers?: Metadata;
  status: StatusObject;
  responses: unknown[];
}

function echoMetadata(): Metadata {
  const md = new Metadata();
  md.set(ECHO_INITIAL, 'test_initial_metadata_value');
  md.set(ECHO_TRAILING, TRAILING_VALUE);
  return md;
}

/** A UnaryCall with the echo metadata, on grpc-js's own API: createClient's calls do not show headers and trailers. */
function rawUnary(channel: Client, request: unknown): Promise<Seen> {
  const { unaryCall } = TestService.methods;
  return new Promise((resolve) => {
    const seen: Seen = { status: undefined as never, responses: [] };
    const call = channel.makeUnaryRequest(
      '/grpc.testing.TestService/UnaryCall',
      codec(unaryCall.requestType).serialize,
      codec(unaryCall.responseType).deserialize,
      request,
      echoMetadata(),
      (_err: ServiceError | null, value?: unknown) => {
        if (value) seen.responses.push(value);
      },
    );
    call.on('metadata', (md) => (seen.headers = md));
    call.on('status', (status) => resolve({ ...seen, status }));
  });
}

/** A FullDuplexCall with the echo metadata: sends `requests`, half-closes, reads to the end. */
function rawDuplex(channel: Client, requests: unknown[]): Promise<Seen> {
  const { fullDuplexCall } = TestService.methods;
  return new Promise((resolve) => {
    const seen: Seen = { status: undefined as never, responses: [] };
    const call = channel.makeBidiStreamRequest(
      '/grpc.testing.TestService/FullDuplexCall',
      codec(fullDuplexCall.requestType).serialize,
      codec(fullDuplexCall.responseType).deserialize,
      echoMetadata(),
    );
    call.on('metadata', (md) => (seen.headers = md));
    call.on('data', (d) => seen.responses.push(d));
    call.on('error', () => {});
    call.on('status', (status) => resolve({ ...seen, status }));
    for (const r of requests) call.write(r);
    call.end();
  });
}

describe.each(SERVERS)('interop cases from a grpc-js client, against %s', (_name, start) => {
  it('empty_unary', async () => {
    expect(await clientOf(await start()).emptyCall({})).toEqual({});
  });

  it('large_unary', async () => {
    const res = await clientOf(await start()).unaryCall({
      responseSize: 314159,
      payload: zeros(271828),
    });
    expect(sizeOf(res.payload)).toBe(314159);
    expect(Buffer.from(res.payload!.body).equals(Buffer.alloc(314159))).toBe(true);
  });

  it('client_streaming', async () => {
    const res = await clientOf(await start()).streamingInputCall(
      [27182, 8, 1828, 45904].map((n) => ({ payload: zeros(n) })),
    );
    expect(res.aggregatedPayloadSize).toBe(74922);
  });

  it('server_streaming', async () => {
    const sizes = [31415, 9, 2653, 58979];
    const responses = await collect(
      clientOf(await start()).streamingOutputCall({
        responseParameters: sizes.map((size) => ({ size })),
      }),
    );
    expect(responses.map((r) => sizeOf(r.payload))).toEqual(sizes);
  });

  it('server_streaming observes interval_us between responses', async () => {
    const began = Date.now();
    const responses = await collect(
      clientOf(await start()).streamingOutputCall({
        responseParameters: [1, 2, 3].map((size) => ({ size, intervalUs: 20_000 })),
      }),
    );
    expect(responses.map((r) => sizeOf(r.payload))).toEqual([1, 2, 3]);
    expect(Date.now() - began).toBeGreaterThanOrEqual(55);
  });

  it('ping_pong', async () => {
    const { requests, send, end } = requestQueue<object>();
    const replies = clientOf(await start())
      .fullDuplexCall(requests)
      [Symbol.asyncIterator]();
    const pairs = [
      [31415, 27182],
      [9, 8],
      [2653, 1828],
      [58979, 45904],
    ];
    for (const [size, body] of pairs) {
      send({ responseParameters: [{ size }], payload: zeros(body) });
      const reply = await replies.next();
      expect(sizeOf(reply.value?.payload)).toBe(size);
    }
    end();
    expect((await replies.next()).done).toBe(true);
  });

  it('empty_stream', async () => {
    expect(await collect(clientOf(await start()).fullDuplexCall([]))).toEqual([]);
  });

  it('cancel_after_begin', async () => {
    const client = clientOf(await start());
    const abort = new AbortController();
    const { requests } = requestQueue<object>();
    const pending = client.streamingInputCall(requests, { signal: abort.signal });
    abort.abort();
    expect((await expectRejection(pending, RpcError)).status).toBe(Status.CANCELLED);
    // The server is none the worse for it.
    expect(await client.emptyCall({})).toEqual({});
  });

  it('cancel_after_first_response', async () => {
    const client = clientOf(await start());
    const abort = new AbortController();
    const { requests, send } = requestQueue<object>();
    send({ responseParameters: [{ size: 31415 }], payload: zeros(27182) });
    const got: number[] = [];
    const err = await expectRejection(
      (async () => {
        for await (const r of client.fullDuplexCall(requests, { signal: abort.signal })) {
          got.push(sizeOf(r.payload));
          abort.abort();
        }
      })(),
      RpcError,
    );
    expect(got).toEqual([31415]);
    expect(err.status).toBe(Status.CANCELLED);
    expect(await client.emptyCall({})).toEqual({});
  });

  it('timeout_on_sleeping_server', async () => {
    const client = clientOf(await start());
    const { requests, send } = requestQueue<object>();
    send({ payload: zeros(27182) });
    const err = await expectRejection(
      collect(client.fullDuplexCall(requests, { timeout: 1 })),
      RpcError,
    );
    expect(err.status).toBe(Status.DEADLINE_EXCEEDED);
    expect(await client.emptyCall({})).toEqual({});
  });

  it('timeout_on_sleeping_server, ended by the server: the deadline passes while it waits', async () => {
    // The client's own timer usually wins with 1 ms; with a longer one the server's
    // grpc-timeout timer has its turn, and either way the call ends DEADLINE_EXCEEDED.
    const client = clientOf(await start());
    const { requests, send } = requestQueue<object>();
    send({ payload: zeros(27182) });
    const err = await expectRejection(
      collect(client.fullDuplexCall(requests, { timeout: 300 })),
      RpcError,
    );
    expect(err.status).toBe(Status.DEADLINE_EXCEEDED);
  });

  it('custom_metadata', async () => {
    const channel = channelTo(await start());
    const unary = await rawUnary(channel, { responseSize: 314159, payload: zeros(271828) });
    expect(unary.status.code).toBe(Status.OK);
    expect(sizeOf((unary.responses[0] as { payload?: { body: Uint8Array } }).payload)).toBe(314159);
    expect(unary.headers?.get(ECHO_INITIAL)).toEqual(['test_initial_metadata_value']);
    expect(unary.status.metadata.get(ECHO_TRAILING)).toEqual([TRAILING_VALUE]);
    const duplex = await rawDuplex(channel, [
      { responseParameters: [{ size: 314159 }], payload: zeros(271828) },
    ]);
    expect(duplex.status.code).toBe(Status.OK);
    expect(duplex.responses).toHaveLength(1);
    expect(duplex.headers?.get(ECHO_INITIAL)).toEqual(['test_initial_metadata_value']);
    expect(duplex.status.metadata.get(ECHO_TRAILING)).toEqual([TRAILING_VALUE]);
  });

  it('custom_metadata on a call that fails: headers and trailers still arrive (trailers-only answer)', async () => {
    const channel = channelTo(await start());
    const unary = await rawUnary(channel, {
      responseStatus: { code: Status.NOT_FOUND, message: 'no such thing' },
    });
    expect(unary.status).toMatchObject({ code: Status.NOT_FOUND, details: 'no such thing' });
    // A trailers-only answer carries both in one block; grpc-js's client shows it as the trailers.
    const all = { ...unary.headers?.getMap(), ...unary.status.metadata.getMap() };
    expect(all[ECHO_INITIAL]).toBe('test_initial_metadata_value');
    expect(all[ECHO_TRAILING]).toEqual(TRAILING_VALUE);
  });

  it('status_code_and_message', async () => {
    const client = clientOf(await start());
    const responseStatus = { code: 2, message: 'test status message' };
    const unary = await expectRejection(client.unaryCall({ responseStatus }), RpcError);
    expect([unary.status, unary.details]).toEqual([2, 'test status message']);
    const duplex = await expectRejection(
      collect(client.fullDuplexCall([{ responseStatus }])),
      RpcError,
    );
    expect([duplex.status, duplex.details]).toEqual([2, 'test status message']);
  });

  it('special_status_message', async () => {
    const err = await expectRejection(
      clientOf(await start()).unaryCall({ responseStatus: { code: 2, message: SPECIAL_MESSAGE } }),
      RpcError,
    );
    expect([err.status, err.details]).toEqual([2, SPECIAL_MESSAGE]);
  });

  it('unimplemented_method', async () => {
    const err = await expectRejection(clientOf(await start()).unimplementedCall({}), RpcError);
    expect(err.status).toBe(Status.UNIMPLEMENTED);
  });

  it('unimplemented_service', async () => {
    const other = createClient(
      UnimplementedServiceDefinition,
      grpcInvoke(channelTo(await start())),
      errorStep(mapError),
    );
    const err = await expectRejection(other.unimplementedCall({}), RpcError);
    expect(err.status).toBe(Status.UNIMPLEMENTED);
  });
});

/** What came back for a raw HTTP/2 request: the HTTP status, the gRPC status, all headers and trailers. */
interface RawAnswer {
  http: number | undefined;
  code: number | undefined;
  headers: IncomingHttpHeaders;
}

/** One hand-made request, as a grpc-go or hand-written host might send it, to the server at `socket`. */
function rawRequest(
  socket: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer,
): Promise<RawAnswer> {
  const session = connect('http://localhost', { createConnection: () => netConnect(socket) });
  onTestFinished(() => void session.destroy());
  return new Promise((resolve) => {
    const stream = session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...headers,
    });
    let head: IncomingHttpHeaders = {};
    let tail: IncomingHttpHeaders = {};
    stream.on('response', (h) => (head = h));
    stream.on('trailers', (t) => (tail = t));
    stream.on('data', () => {});
    stream.on('error', () => {});
    stream.on('close', () => {
      const status = tail['grpc-status'] ?? head['grpc-status'];
      resolve({
        http: head[':status'] === undefined ? undefined : Number(head[':status']),
        code: status === undefined ? undefined : Number(status),
        headers: { ...head, ...tail },
      });
    });
    stream.end(body);
  });
}

const UNARY = '/grpc.testing.TestService/UnaryCall';
const INPUT = '/grpc.testing.TestService/StreamingInputCall';
const simple = (r: object) =>
  frameMessage(SimpleRequest.encode(SimpleRequest.fromPartial(r)).finish());
/** One gzip-compressed message: the compressed flag, then the length of the compressed bytes. */
function gzipped(message: Uint8Array): Buffer {
  const packed = gzipSync(message);
  const head = Buffer.alloc(5);
  head[0] = 1;
  head.writeUInt32BE(packed.length, 1);
  return Buffer.concat([head, packed]);
}

/**
 * The same bad input to both servers, and each one's gRPC status (undefined: none, an
 * HTTP-level refusal). Rows where they differ name the section of docs/interop.md that says
 * why the SDK answers as it does; a new difference fails here until it is fixed or documented.
 */
const BAD_INPUTS: Array<{
  what: string;
  path?: string;
  headers?: Record<string, string>;
  body: Buffer;
  sdk: number | undefined;
  grpcJs: number | undefined;
  why?: string;
}> = [
  {
    what: 'an unknown method',
    path: '/grpc.testing.TestService/Nope',
    body: simple({}),
    sdk: Status.UNIMPLEMENTED,
    grpcJs: Status.UNIMPLEMENTED,
  },
  {
    what: 'an unknown service',
    path: '/grpc.testing.Nope/UnaryCall',
    body: simple({}),
    sdk: Status.UNIMPLEMENTED,
    grpcJs: Status.UNIMPLEMENTED,
  },
  {
    what: 'bytes that are no SimpleRequest',
    body: frameMessage(Buffer.from([0xff, 0xff, 0xff])),
    sdk: Status.INTERNAL,
    grpcJs: Status.INTERNAL,
  },
  {
    what: 'an undecodable message in a client stream',
    path: INPUT,
    body: Buffer.concat([frameMessage(Buffer.alloc(0)), frameMessage(Buffer.from([0xff, 0xff]))]),
    sdk: Status.INTERNAL,
    grpcJs: Status.INTERNAL,
  },
  {
    what: 'a message over 16 MiB',
    body: Buffer.from([0, 1, 0x10, 0, 0]),
    sdk: Status.RESOURCE_EXHAUSTED,
    grpcJs: Status.RESOURCE_EXHAUSTED,
  },
  {
    what: 'a malformed grpc-timeout',
    headers: { 'grpc-timeout': 'soon' },
    body: simple({ responseSize: 1 }),
    sdk: Status.INTERNAL,
    grpcJs: Status.INTERNAL,
  },
  {
    what: 'a content-type that is not gRPC',
    headers: { 'content-type': 'application/json' },
    body: simple({}),
    sdk: undefined,
    grpcJs: undefined,
  },
  {
    what: 'an echoed status code gRPC does not define',
    body: simple({ responseStatus: { code: 99, message: 'x' } }),
    sdk: 99,
    grpcJs: 99,
  },
  {
    what: 'no message on a unary method',
    body: Buffer.alloc(0),
    sdk: Status.UNIMPLEMENTED,
    grpcJs: Status.UNIMPLEMENTED,
    why: 'request cardinality',
  },
  {
    what: 'two messages on a unary method',
    body: Buffer.concat([simple({}), simple({})]),
    sdk: Status.UNIMPLEMENTED,
    grpcJs: Status.UNIMPLEMENTED,
    why: 'request cardinality',
  },
  {
    what: 'a unary request cut in the middle of a message',
    body: simple({ responseSize: 1 }).subarray(0, 6),
    sdk: Status.INTERNAL,
    grpcJs: Status.UNIMPLEMENTED,
    why: 'truncated messages',
  },
  {
    what: 'a client stream cut in the middle of a message',
    path: INPUT,
    body: frameMessage(Buffer.alloc(4, 1)).subarray(0, 7),
    sdk: Status.INTERNAL,
    grpcJs: Status.OK,
    why: 'truncated messages',
  },
  {
    what: 'the compressed flag without grpc-encoding',
    body: Buffer.from([1, 0, 0, 0, 0]),
    sdk: Status.INTERNAL,
    grpcJs: Status.OK,
    why: 'compression',
  },
  {
    what: 'grpc-encoding gzip, with a gzipped message',
    headers: { 'grpc-encoding': 'gzip' },
    body: gzipped(SimpleRequest.encode(SimpleRequest.fromPartial({ responseSize: 1 })).finish()),
    sdk: Status.UNIMPLEMENTED,
    grpcJs: Status.OK,
    why: 'compression',
  },
  {
    what: 'grpc-encoding br, with uncompressed messages',
    headers: { 'grpc-encoding': 'br' },
    body: simple({ responseSize: 1 }),
    sdk: Status.UNIMPLEMENTED,
    grpcJs: Status.OK,
    why: 'compression',
  },
  {
    what: 'a GET',
    headers: { ':method': 'GET' },
    body: Buffer.alloc(0),
    sdk: undefined,
    grpcJs: Status.UNIMPLEMENTED,
    why: 'methods other than POST',
  },
];

describe('the same bad input to both servers', () => {
  it.each(BAD_INPUTS)('$what', async ({ path = UNARY, headers = {}, body, sdk, grpcJs }) => {
    const [fromSdk, fromGrpcJs] = [
      await rawRequest((await sdkServer()).socket, path, headers, body),
      await rawRequest((await grpcJsServer()).socket, path, headers, body),
    ];
    expect({ sdk: fromSdk.code, grpcJs: fromGrpcJs.code }).toEqual({ sdk, grpcJs });
    // Refused at the HTTP level, a call gets 415 from both.
    if (sdk === undefined) expect(fromSdk.http).toBe(415);
    if (grpcJs === undefined) expect(fromGrpcJs.http).toBe(415);
  });

  it('a refused grpc-encoding says what the SDK accepts (grpc-accept-encoding), as compression.md asks', async () => {
    const answer = await rawRequest(
      (await sdkServer()).socket,
      UNARY,
      { 'grpc-encoding': 'gzip' },
      simple({}),
    );
    expect(answer.code).toBe(Status.UNIMPLEMENTED);
    expect(answer.headers['grpc-accept-encoding']).toBe('identity');
  });

  it.each(SERVERS)(
    'a handler that sets a header after its first response, or a bad key, fails the call with UNKNOWN on %s',
    async (_name, start) => {
      const channel = channelTo(await start());
      const client = createClient(TestService, grpcInvoke(channel), errorStep(mapError));
      for (const misuse of ['late-header', 'bad-key']) {
        const got: number[] = [];
        const err = await expectRejection(
          (async () => {
            for await (const r of client.streamingOutputCall(
              { responseParameters: [{ size: 1 }, { size: 2 }] },
              { metadata: { 'x-misuse': misuse } },
            ))
              got.push(sizeOf(r.payload));
          })(),
          RpcError,
        );
        expect([misuse, err.status, got]).toEqual([
          misuse,
          Status.UNKNOWN,
          misuse === 'late-header' ? [1] : [],
        ]);
      }
    },
  );
});

/** The cases test/go/interop runs, in its order. */
const GO_CASES = [
  'empty_unary',
  'large_unary',
  'client_streaming',
  'server_streaming',
  'ping_pong',
  'empty_stream',
  'cancel_after_begin',
  'cancel_after_first_response',
  'timeout_on_sleeping_server',
  'custom_metadata',
  'status_code_and_message',
  'special_status_message',
  'unimplemented_method',
  'unimplemented_service',
];

describe.skipIf(!hasGoToolchain)('interop cases from a grpc-go client (test/go/interop)', () => {
  const goClient = join(TEST_BIN, 'interop', 'go-client');
  beforeAll(async () => {
    await promisify(execFile)('sh', [join(ROOT, 'test/go/interop/build.sh')], {
      env: { ...process.env, OUT: goClient },
    });
  }, 180_000);

  describe.each(SERVERS)('against %s', (_name, start) => {
    it.each(GO_CASES)('%s', async (name) => {
      const served = await start();
      const out = await spawnCollect(goClient, [
        '-network',
        'socket' in served ? 'unix' : 'tcp',
        '-address',
        'socket' in served ? served.socket : served.tcp,
        '-cases',
        name,
      ]);
      expect(out.stdout.trim(), out.stderr).toBe(`PASS ${name}`);
      expect(out.code).toBe(0);
    });
  });
});
