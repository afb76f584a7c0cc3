// How the one transport's client reports a peer that answers without a gRPC status: an
// HTTP status from a proxy or a non-gRPC server, or a stream reset (RST_STREAM) with an
// HTTP/2 error code. It maps them as grpc-js does (gRPC's http-grpc-status-mapping.md),
// instead of calling every one UNAVAILABLE, which a caller would retry.
import { rmSync } from 'node:fs';
import { constants, createServer, type ServerHttp2Stream } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Status } from '../src/status.js';
import type { CallError } from '../src/rpc/call.js';
import { dial } from '../src/transport/client.js';
import { expectRejection } from './helpers.js';

/** A bare HTTP/2 server on a unix socket that answers each path as `answer` says. */
async function peer(answer: (path: string, stream: ServerHttp2Stream) => void): Promise<string> {
  const path = join(tmpdir(), `dk-errors-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const server = createServer();
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    answer(String(headers[':path']), stream);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  onTestFinished(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(path, { force: true });
  });
  return path;
}

const call = (path: string, responseStream = false) => ({
  path,
  request: Buffer.alloc(0),
  serialize: (b: unknown) => b as Buffer,
  deserialize: (b: Buffer) => b,
  options: { timeout: 10_000 },
  requestStream: false,
  responseStream,
});

describe('a peer that answers without a gRPC status', () => {
  it.each([
    { what: 'HTTP 404', code: Status.UNIMPLEMENTED, http: 404 },
    { what: 'HTTP 401', code: Status.UNAUTHENTICATED, http: 401 },
    { what: 'HTTP 503', code: Status.UNAVAILABLE, http: 503 },
    { what: 'HTTP 418', code: Status.UNKNOWN, http: 418 },
    { what: 'RST_STREAM CANCEL', code: Status.CANCELLED, rst: constants.NGHTTP2_CANCEL },
    {
      what: 'RST_STREAM REFUSED_STREAM',
      code: Status.UNAVAILABLE,
      rst: constants.NGHTTP2_REFUSED_STREAM,
    },
    {
      what: 'RST_STREAM ENHANCE_YOUR_CALM',
      code: Status.RESOURCE_EXHAUSTED,
      rst: constants.NGHTTP2_ENHANCE_YOUR_CALM,
    },
    {
      what: 'RST_STREAM INTERNAL_ERROR',
      code: Status.INTERNAL,
      rst: constants.NGHTTP2_INTERNAL_ERROR,
    },
  ])('$what is $code, unary and streaming', async ({ code, http, rst }) => {
    const socket = await peer((_path, stream) => {
      if (http) stream.respond({ ':status': http }, { endStream: true });
      else stream.close(rst);
    });
    const channel = dial({ network: 'unix', address: socket });
    onTestFinished(() => channel.close());
    const unary = await expectRejection<CallError>(channel.invoke(call('/x.Y/Z')));
    expect(unary.code).toBe(code);
    const streamed = (await channel.invoke(call('/x.Y/Z', true))) as AsyncIterable<unknown>;
    const err = await expectRejection<CallError>(
      (async () => {
        for await (const _ of streamed);
      })(),
    );
    expect(err.code).toBe(code);
  });
});

/** One framed gRPC message of `n` bytes. */
const frame = (n: number) => Buffer.concat([Buffer.from([0, 0, 0, 0, n]), Buffer.alloc(n, 1)]);

describe('a response that is not one whole message', () => {
  it.each([
    { what: 'two messages', body: Buffer.concat([frame(2), frame(3)]), unary: /got two/ },
    { what: 'a message cut short', body: frame(4).subarray(0, 6), unary: /middle of a message/ },
    { what: 'a header cut short', body: Buffer.from([0, 0, 0]), unary: /middle of a message/ },
    { what: 'no message', body: Buffer.alloc(0), unary: /carried no message/ },
  ])('$what is INTERNAL on every path', async ({ body, unary }) => {
    // A gRPC peer that ends with OK trailers after the body it was given.
    const address = await peer((_path, stream) => {
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc' },
        { waitForTrailers: true },
      );
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(body);
    });
    const channel = dial({ network: 'unix', address });
    onTestFinished(() => channel.close());
    const err = await expectRejection<CallError>(channel.invoke(call('/x.Y/Z')));
    expect(err.code).toBe(Status.INTERNAL);
    expect(err.details).toMatch(unary);
    // A stream may carry any number of whole messages, but a cut one is INTERNAL there too.
    if (body.length > 0 && !/got two/.test(String(unary))) {
      const streamed = (await channel.invoke(call('/x.Y/Z', true))) as AsyncIterable<unknown>;
      const err = await expectRejection<CallError>(
        (async () => {
          for await (const _ of streamed);
        })(),
      );
      expect(err.code).toBe(Status.INTERNAL);
    }
  });
});

describe('closing a channel', () => {
  it('ends the calls of a connection draining after GOAWAY too, not only the newest one', async () => {
    const path = await peer((p, stream) => {
      // The first call hangs, and its connection gets GOAWAY: it drains while a new one serves.
      if (p === '/hang') stream.session?.goaway(constants.NGHTTP2_NO_ERROR, stream.id);
      else
        stream.respond(
          { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '5' },
          { endStream: true },
        );
    });
    const channel = dial({ network: 'unix', address: path });
    const hanging = expectRejection(channel.invoke(call('/hang')));
    // Until the client has taken the GOAWAY in, a call may still be refused on the old one.
    let answered: CallError | undefined;
    for (let i = 0; i < 100 && answered?.code !== Status.NOT_FOUND; i++)
      answered = (await channel.invoke(call('/found')).catch((e) => e)) as CallError;
    expect(answered?.code).toBe(Status.NOT_FOUND);
    channel.close();
    expect(await hanging).toMatchObject({ code: Status.UNAVAILABLE });
  });
});
