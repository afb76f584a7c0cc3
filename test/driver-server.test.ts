// The driver SDK's own gRPC server, seen from a raw HTTP/2 client: what a well-behaved
// grpc-js host never sends, and what a grpc-go or hand-written host might.
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  GetUserRequest,
  GetUserResponse,
} from '../src/gen/driverkit/userprovider/v1/userprovider.js';
import { frameMessage } from '../src/protocol/grpc-wire.js';
import { Status } from '../src/status.js';
import { fixtureContract } from './fixtures/contract.js';
import type { Driver } from '../src/launch/driver.js';
import { spawnUntil, useDriver, waitFor } from './helpers.js';
import { BIN } from './paths.js';

const GET_USER = '/driverkit.userprovider.v1.UserProvider/GetUser';

interface Answer {
  headers: IncomingHttpHeaders;
  trailers: IncomingHttpHeaders;
  body: Buffer;
}

async function rawDriver(
  env: Record<string, string> = {},
): Promise<{ driver: Driver; session: ClientHttp2Session }> {
  const driver = useDriver({ name: 'raw', path: BIN.fixture, contract: fixtureContract, env });
  await driver.ready;
  const session = connect('http://localhost', {
    createConnection: () => netConnect(driver.handshake!.address),
  });
  onTestFinished(() => void session.destroy());
  return { driver, session };
}

const rawSession = async (env: Record<string, string> = {}) => (await rawDriver(env)).session;

/** One request with `headers` and `body`; resolves with everything that came back. */
function request(
  session: ClientHttp2Session,
  headers: Record<string, string>,
  body: Buffer,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ':method': 'POST',
      ':path': GET_USER,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...headers,
    });
    const answer: Answer = { headers: {}, trailers: {}, body: Buffer.alloc(0) };
    stream.on('response', (h) => (answer.headers = h));
    stream.on('trailers', (t) => (answer.trailers = t));
    stream.on('data', (c: Buffer) => (answer.body = Buffer.concat([answer.body, c])));
    stream.on('close', () => resolve(answer));
    stream.on('error', reject);
    stream.end(body);
  });
}

const getUser = (id: string) =>
  frameMessage(
    GetUserRequest.encode(GetUserRequest.fromPartial({ userId: { opaqueId: id } })).finish(),
  );
/** The status of a response, whether trailers-only (in the headers) or in the trailers. */
const status = (a: Answer) => ({
  code: Number(a.trailers['grpc-status'] ?? a.headers['grpc-status']),
  message: String(a.trailers['grpc-message'] ?? a.headers['grpc-message'] ?? ''),
});

describe("the driver's gRPC server", () => {
  it('survives a client that closes its connection with calls unfinished (it crashed on ERR_HTTP2_INVALID_STREAM)', async () => {
    const { driver, session } = await rawDriver();
    for (let i = 0; i < 3; i++)
      session
        .request({
          ':method': 'POST',
          ':path': GET_USER,
          'content-type': 'application/grpc',
          te: 'trailers',
        })
        .on('error', () => {})
        .end(getUser('hang'));
    // Let the calls reach their handlers, then close with all three open.
    await new Promise<void>((resolve) => session.ping(() => resolve()));
    session.close();
    session.destroy();
    const again = connect('http://localhost', {
      createConnection: () => netConnect(driver.handshake!.address),
    });
    onTestFinished(() => void again.destroy());
    expect(status(await request(again, {}, getUser('echo:alive')))).toEqual({
      code: Status.OK,
      message: '',
    });
    expect(driver.state).toBe('ready');
  });

  it('survives a peer that resets a call before its request ends, with or without a message', async () => {
    const { driver } = await rawDriver();
    // Node's own client always ends the request before it resets a stream, so these frames
    // are written by hand: HEADERS without END_STREAM, then RST_STREAM, then a PING.
    const socket = netConnect(driver.handshake!.address);
    onTestFinished(() => void socket.destroy());
    const frame = (type: number, flags: number, stream: number, payload: Buffer) => {
      const head = Buffer.alloc(9);
      head.writeUIntBE(payload.length, 0, 3);
      head.writeUInt8(type, 3);
      head.writeUInt8(flags, 4);
      head.writeUInt32BE(stream, 5);
      return Buffer.concat([head, payload]);
    };
    // HPACK literal header fields without indexing, plain (not Huffman) strings.
    const str = (v: string) => Buffer.concat([Buffer.from([v.length]), Buffer.from(v)]);
    const fields = Object.entries({
      ':method': 'POST',
      ':scheme': 'http',
      ':path': GET_USER,
      ':authority': 'localhost',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    const block = Buffer.concat(
      fields.map(([k, v]) => Buffer.concat([Buffer.from([0]), str(k), str(v)])),
    );
    const cancel = Buffer.alloc(4);
    cancel.writeUInt32BE(8);
    const pong = new Promise<void>((resolve) => {
      let seen = Buffer.alloc(0);
      socket.on('data', (d: Buffer) => {
        seen = Buffer.concat([seen, d]);
        // Frames after the server's preface: look for PING (6) with ACK (1).
        for (let at = 0; at + 9 <= seen.length; at += 9 + seen.readUIntBE(at, 3))
          if (seen[at + 3] === 6 && seen[at + 4] === 1) resolve();
      });
    });
    socket.on('error', () => {});
    socket.write(
      Buffer.concat([
        Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
        frame(4, 0, 0, Buffer.alloc(0)),
        frame(1, 0x4, 1, block),
        frame(3, 0, 1, cancel),
        frame(1, 0x4, 3, block),
        frame(0, 0, 3, getUser('echo:reset')),
        frame(3, 0, 3, cancel),
        frame(6, 0, 0, Buffer.alloc(8)),
      ]),
    );
    await pong;
    expect(
      (await driver.client.getUser({ userId: { opaqueId: 'echo:alive' } })).user?.username,
    ).toBe('echo:alive');
    expect(driver.state).toBe('ready');
  });

  it("serves 64 connections at once: past that the oldest not the host's gives way, idle ones first", async () => {
    const { driver, session } = await rawDriver();
    const dialRaw = () => {
      const s = connect('http://localhost', {
        createConnection: () => netConnect(driver.handshake!.address),
      });
      s.on('error', () => {});
      onTestFinished(() => void s.destroy());
      return s;
    };
    // A call that never ends its request holds a slot for as long as its connection lives.
    const holdCall = (s: ClientHttp2Session) =>
      s.request({ ':method': 'POST', ':path': GET_USER, 'content-type': 'application/grpc' });
    const busy = Array.from({ length: 63 }, () => dialRaw());
    for (const s of busy) holdCall(s).on('error', () => {});
    const sessionClosed = once(session, 'close');
    // One of them (the oldest the server has seen a call on, or one whose call is still
    // on its way, which counts as idle) gives way for the newcomer below.
    const oneBusyClosed = Promise.race(busy.map((s) => once(s, 'close')));
    await Promise.all(busy.map((s) => once(s, 'remoteSettings')));
    // Now 65: the host's, `session` (no call yet) and 63 busy ones. `session` went first.
    await sessionClosed;
    // Every slot is busy; a newcomer still gets in, in place of the oldest busy stranger.
    const late = dialRaw();
    expect(status(await request(late, {}, getUser('echo:late')))).toEqual({
      code: Status.OK,
      message: '',
    });
    await oneBusyClosed;
    // The host's connection is the oldest of all, and carries its stdio stream: never closed.
    expect(
      (await driver.client.getUser({ userId: { opaqueId: 'echo:host' } })).user?.username,
    ).toBe('echo:host');
  });

  it("refuses a call that carries another host's secret; a call without one (a go-plugin host) is served", async () => {
    const { session } = await rawDriver();
    expect(
      status(
        await request(session, { 'driverkit-host-secret': 'f'.repeat(32) }, getUser('echo:x')),
      ),
    ).toEqual({
      code: Status.PERMISSION_DENIED,
      message: 'this driver was started by another host: the call carries another host secret',
    });
    expect(status(await request(session, {}, getUser('echo:y')))).toEqual({
      code: Status.OK,
      message: '',
    });
  });

  it('closes a connection that makes no call within 10 s, and ends a call whose request never comes within 10 s', async () => {
    const { driver, session } = await rawDriver();
    const started = Date.now();
    session.on('error', () => {});
    // Beside it, on a connection of its own: a call that sends 5 of its 14 bytes, then nothing.
    const other = connect('http://localhost', {
      createConnection: () => netConnect(driver.handshake!.address),
    });
    onTestFinished(() => void other.destroy());
    const halfOpen = other.request({
      ':method': 'POST',
      ':path': GET_USER,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    halfOpen.write(Buffer.from([0, 0, 0, 0, 9]));
    const answer: Answer = { headers: {}, trailers: {}, body: Buffer.alloc(0) };
    halfOpen.on('response', (h) => (answer.headers = h));
    halfOpen.on('trailers', (t) => (answer.trailers = t));
    halfOpen.on('error', () => {});
    await Promise.all([once(session, 'close'), once(halfOpen, 'close')]);
    // Far below the default 5 min idle timeout that closed it before.
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(status(answer)).toEqual({
      code: Status.DEADLINE_EXCEEDED,
      message: 'the request did not arrive: its connection brought no request bytes for 10000 ms',
    });
  }, 70_000);

  it('closes connections that never speak HTTP/2 or sit with no call open; the host calls on', async () => {
    const driver = useDriver({
      name: 'idle',
      path: BIN.fixture,
      contract: fixtureContract,
      env: { FIXTURE_MODE: 'tcp', FIXTURE_IDLE_MS: '300' },
    });
    await driver.ready;
    const [host, port] = [
      driver.handshake!.address.slice(0, driver.handshake!.address.lastIndexOf(':')),
      Number(driver.handshake!.address.split(':').pop()),
    ];
    // Any local user can reach a TCP driver: a connection that says nothing is dropped.
    const silent = netConnect({ host, port }).resume();
    onTestFinished(() => void silent.destroy());
    await once(silent, 'close');
    // An HTTP/2 connection gets GOAWAY once it has had no call open for the idle time.
    const session = connect(`http://${host}:${port}`);
    onTestFinished(() => void session.destroy());
    session.on('error', () => {});
    const [goaway, closed] = [once(session, 'goaway'), once(session, 'close')];
    expect(status(await request(session, {}, getUser('echo:before')))).toEqual({
      code: Status.OK,
      message: '',
    });
    await goaway;
    await closed;
    // The host's own connection carries its stdio stream; its calls work throughout.
    expect(
      (await driver.client.getUser({ userId: { opaqueId: 'echo:after' } })).user?.username,
    ).toBe('echo:after');
    expect(driver.state).toBe('ready');
  });

  it('advertises a limit on concurrent streams per connection', async () => {
    const session = await rawSession();
    await new Promise<void>((resolve) =>
      session.remoteSettings.maxConcurrentStreams !== undefined &&
      session.remoteSettings.maxConcurrentStreams < 2 ** 31
        ? resolve()
        : session.once('remoteSettings', () => resolve()),
    );
    expect(session.remoteSettings.maxConcurrentStreams).toBe(1024);
  });

  it('lets one StreamStdio caller receive stdout: a second is refused', async () => {
    const chunks: string[] = [];
    const driver = useDriver({
      name: 'raw',
      path: BIN.fixture,
      contract: fixtureContract,
      stdout: (c) => chunks.push(c.toString()),
    });
    await driver.ready;
    // The host's own StreamStdio is the first: it has received stdout. (Its call starts at
    // ready, on another connection than this test's, which a busy driver read first once.)
    await driver.client.getUser({ userId: { opaqueId: 'stdout' } });
    await waitFor(() => chunks.join('').includes('after the handshake'), 10_000, 'the host stdout');
    const session = connect('http://localhost', {
      createConnection: () => netConnect(driver.handshake!.address),
    });
    onTestFinished(() => void session.destroy());
    const second = await request(
      session,
      { ':path': '/plugin.GRPCStdio/StreamStdio' },
      frameMessage(Buffer.alloc(0)),
    );
    expect(status(second)).toMatchObject({ code: Status.ALREADY_EXISTS });
  });

  it('stdout for a StreamStdio caller that never reads is bounded: 256 MiB written, the driver stays small', async () => {
    // Started without a host, so that the one StreamStdio caller is this test, which never reads.
    const env = {
      PATH: process.env.PATH!,
      [fixtureContract.cookieKey]: fixtureContract.cookieValue,
      PLUGIN_PROTOCOL_VERSIONS: '1',
    };
    const { match, child } = await spawnUntil(BIN.fixture, [], /^1\|1\|unix\|([^|]+)\|grpc/, {
      env,
      endSignal: 'SIGTERM',
    });
    const session = connect('http://localhost', { createConnection: () => netConnect(match[1]) });
    onTestFinished(() => void session.destroy());
    const stdio = session.request({
      ':method': 'POST',
      ':path': '/plugin.GRPCStdio/StreamStdio',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    stdio.on('error', () => {}).pause();
    stdio.end(frameMessage(Buffer.alloc(0)));
    expect(status(await request(session, {}, getUser('stdout-flood')))).toEqual({
      code: Status.OK,
      message: '',
    });
    // The peak resident size: an unbounded buffer holds all 256 MiB (324 MiB peak here; the
    // issue saw a driver reach 722 MiB).
    const peakKiB = Number(
      /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1],
    );
    expect(peakKiB).toBeLessThan(160 * 1024);
  });

  it('answers a unary call with headers, one message and status 0 in trailers', async () => {
    const a = await request(await rawSession(), {}, getUser('echo:hi'));
    expect(a.headers[':status']).toBe(200);
    expect(a.headers['content-type']).toBe('application/grpc');
    expect(status(a)).toEqual({ code: Status.OK, message: '' });
    expect(a.body.readUInt32BE(1)).toBe(a.body.length - 5);
    expect(GetUserResponse.decode(a.body.subarray(5)).user?.username).toBe('echo:hi');
  });

  it.each<{
    what: string;
    headers: Record<string, string>;
    body: Buffer;
    code: number;
    message: RegExp;
  }>([
    {
      what: 'an unknown method',
      headers: { ':path': '/nope.Service/Missing' },
      body: getUser('x'),
      code: Status.UNIMPLEMENTED,
      message: /method \/nope\.Service\/Missing is not served/,
    },
    {
      what: 'a compressed message',
      headers: {},
      body: Buffer.concat([Buffer.from([1]), getUser('x').subarray(1)]),
      code: Status.INTERNAL,
      message: /compressed message without grpc-encoding/,
    },
    {
      what: 'grpc-encoding gzip',
      headers: { 'grpc-encoding': 'gzip' },
      body: getUser('x'),
      code: Status.UNIMPLEMENTED,
      message: /grpc-encoding gzip is not supported/,
    },
    {
      what: 'two messages on a unary method',
      headers: {},
      body: Buffer.concat([getUser('a'), getUser('b')]),
      code: Status.UNIMPLEMENTED,
      message: /takes one request message, got more/,
    },
    {
      what: 'no message on a unary method',
      headers: {},
      body: Buffer.alloc(0),
      code: Status.UNIMPLEMENTED,
      message: /takes one request message, got none/,
    },
    {
      what: 'a request cut in the middle of a message',
      headers: {},
      body: getUser('x').subarray(0, 7),
      code: Status.INTERNAL,
      message: /the request ended in the middle of a message/,
    },
    {
      what: 'bytes that are no GetUserRequest',
      headers: {},
      body: frameMessage(Buffer.from([0xff, 0xff, 0xff])),
      code: Status.INTERNAL,
      message: /cannot decode the request/,
    },
  ])('refuses $what with a clear status', async ({ headers, body, code, message }) => {
    const s = status(await request(await rawSession(), headers, body));
    expect(s.code).toBe(code);
    expect(decodeURIComponent(s.message)).toMatch(message);
  });

  it('answers a request that is not gRPC with HTTP 415', async () => {
    const a = await request(
      await rawSession(),
      { 'content-type': 'application/json' },
      Buffer.from('{}'),
    );
    expect(a.headers[':status']).toBe(415);
  });

  it('enforces grpc-timeout itself: DEADLINE_EXCEEDED, and the handler sees its signal fire', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dk-server-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const marker = join(dir, 'marker');
    // No client-side deadline here: only the server can end this call.
    const a = await request(
      await rawSession({ FIXTURE_MARKER: marker }),
      { 'grpc-timeout': '200m' },
      getUser('hang'),
    );
    expect(status(a)).toEqual({ code: Status.DEADLINE_EXCEEDED, message: 'deadline exceeded' });
    await waitFor(
      () => readFileSync(marker, 'utf8') === 'cancelled',
      5000,
      'the handler to see its signal',
    );
  });

  it('passes metadata to the handler as grpc-js did: -bin values in padded base64, transport headers left out', async () => {
    const headers = {
      'x-request-id': 'req-7',
      'x-trace-bin': 'AQI',
      'grpc-timeout': '5S',
      'accept-encoding': 'identity',
      'user-agent': 'raw-test',
    };
    const a = await request(await rawSession(), headers, getUser('metadata'));
    expect(status(a).code).toBe(Status.OK);
    expect(JSON.parse(GetUserResponse.decode(a.body.subarray(5)).user!.username)).toEqual({
      'x-request-id': 'req-7',
      'x-trace-bin': 'AQI=',
      'user-agent': 'raw-test',
    });
  });

  it('a response protobuf cannot encode fails that call with INTERNAL; the driver serves on', async () => {
    const session = await rawSession();
    const s = status(await request(session, {}, getUser('bad-encode')));
    expect(s.code).toBe(Status.INTERNAL);
    expect(decodeURIComponent(s.message)).toMatch(/GetUser: cannot encode the response/);
    expect(status(await request(session, {}, getUser('echo:still'))).code).toBe(Status.OK);
  });

  it('a deadline longer than a timer can hold (30 days) is no deadline at all, not an instant one', async () => {
    const a = await request(
      await rawSession(),
      { 'grpc-timeout': '2592000S' },
      getUser('echo:slow'),
    );
    expect(status(a).code).toBe(Status.OK);
  });

  it('answers Shutdown before it exits 0', async () => {
    const { driver, session } = await rawDriver();
    const a = await request(
      session,
      { ':path': '/plugin.GRPCController/Shutdown' },
      frameMessage(Buffer.alloc(0)),
    );
    expect(status(a)).toEqual({ code: Status.OK, message: '' });
    expect(await driver.exited).toEqual({ code: 0, signal: null });
  });
});
