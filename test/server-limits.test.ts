// Who gives way when a server is full: connections that proved themselves (a call answered
// OK) are kept before strangers, and one peer cannot take every connection. The server is
// driverkit's own (src/transport/server.ts), serving health as drivers do, on loopback TCP;
// two peers are two loopback addresses (127.0.0.1 and 127.0.0.2).
import { once } from 'node:events';
import { type ClientHttp2Session, connect } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { serveHealth } from '../src/driver/services.js';
import { frameMessage } from '../src/protocol/grpc-wire.js';
import { Status } from '../src/status.js';
import { certificates } from './certs.js';
import { waitFor } from './helpers.js';
import { RequestQueue } from '../src/transport/request-queue.js';
import { GrpcServer, type ServerLimits } from '../src/transport/server.js';

const CHECK = '/grpc.health.v1.Health/Check';

async function server(limits: ServerLimits): Promise<number> {
  const s = new GrpcServer(undefined, limits);
  serveHealth(s, []);
  const port = await s.listen({ host: '127.0.0.1', port: 0 });
  onTestFinished(() => s.close());
  return port;
}

/** A connection from `from` (a loopback address), once the server has taken it (its SETTINGS). */
async function dialFrom(port: number, from = '127.0.0.1'): Promise<ClientHttp2Session> {
  const s = connect(`http://127.0.0.1:${port}`, {
    createConnection: () => netConnect({ host: '127.0.0.1', port, localAddress: from }),
  });
  s.on('error', () => {});
  onTestFinished(() => void s.destroy());
  await once(s, 'remoteSettings');
  return s;
}

/** A health check's stream, its request left open, and the grpc-status it got so far (-1: none). */
function healthCall(s: ClientHttp2Session) {
  const stream = s.request({
    ':method': 'POST',
    ':path': CHECK,
    'content-type': 'application/grpc',
    te: 'trailers',
  });
  stream.on('error', () => {});
  stream.on('data', () => {});
  let code = -1;
  const take = (h: Record<string, unknown>) => {
    if (h['grpc-status'] !== undefined) code = Number(h['grpc-status']);
  };
  stream.on('response', take);
  stream.on('trailers', take);
  return { stream, code: () => code };
}

/** A health check (an empty request); resolves with its grpc-status. */
function check(s: ClientHttp2Session): Promise<number> {
  const call = healthCall(s);
  call.stream.end(frameMessage(new Uint8Array(0)));
  return new Promise((resolve) => call.stream.on('close', () => resolve(call.code())));
}

/** A call whose request never ends: it holds its connection half-open. */
function halfOpen(s: ClientHttp2Session): void {
  s.request({ ':method': 'POST', ':path': CHECK, 'content-type': 'application/grpc' }).on(
    'error',
    () => {},
  );
}

describe('a call answered early', () => {
  it('is reset with NO_ERROR after its trailers, so a peer still sending stops', async () => {
    const s = await dialFrom(await server({}));
    const { stream, code } = healthCall(s);
    // A second message to a unary method is answered UNIMPLEMENTED at once, and the
    // request never ends: before, the stream stayed open for the peer to send on.
    stream.write(frameMessage(new Uint8Array(0)));
    stream.write(frameMessage(new Uint8Array(0)));
    await waitFor(() => stream.closed, 5000, 'the stream reset after its answer');
    expect(code()).toBe(Status.UNIMPLEMENTED);
    expect(stream.rstCode).toBe(0);
  });
});

describe('a request that has not arrived', () => {
  /** A health check whose 5-byte prefix says `size` bytes follow; sends `first` of them. */
  function partial(s: ClientHttp2Session, size: number, first: number) {
    const call = healthCall(s);
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(size, 1);
    call.stream.write(Buffer.concat([prefix, Buffer.alloc(first)]));
    return call;
  }

  it('waits while its connection brings request bytes, and is given up once it brings none', async () => {
    const port = await server({ requestTimeoutMs: 300 });
    const s = await dialFrom(port);
    // Queued behind another call's long request on the same connection: not stalled.
    const queued = partial(s, 0, 0);
    const long = partial(s, 1 << 20, 0);
    const piece = Buffer.alloc(1024);
    for (let i = 0; i < 20; i++) {
      long.stream.write(piece);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // A second past the limit, and still waiting: its connection kept bringing bytes.
    expect(queued.code()).toBe(-1);
    queued.stream.end();
    await once(queued.stream, 'close');
    expect(queued.code()).toBe(Status.OK);
    // Now nothing comes: the long one is given up, within about the limit.
    const started = Date.now();
    await once(long.stream, 'close');
    expect(long.code()).toBe(Status.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

describe('who gives way when the server is full', () => {
  it('a connection that had a call answered is kept; strangers give way first, oldest first', async () => {
    const port = await server({ maxSessions: 4, evictBusy: false });
    const proven = await dialFrom(port);
    expect(await check(proven)).toBe(Status.OK);
    const provenClosed = once(proven, 'close').then(() => 'the proven one');
    const strangers = [await dialFrom(port), await dialFrom(port), await dialFrom(port)];
    const closed = strangers.map((s, i) => once(s, 'close').then(() => `stranger ${i}`));
    // Full: each newcomer takes a stranger's place, the oldest first, never the proven one,
    // although it is the oldest of all and as idle as they are.
    const first = await dialFrom(port);
    expect(await Promise.race([provenClosed, ...closed])).toBe('stranger 0');
    await dialFrom(port);
    expect(await Promise.race([provenClosed, ...closed.slice(1)])).toBe('stranger 1');
    expect(proven.closed || proven.destroyed).toBe(false);
    expect(await check(proven)).toBe(Status.OK);
    expect(await check(first)).toBe(Status.OK);
  });

  it('where only some calls prove a connection (the gateway with tokens), a health check alone gives no place', async () => {
    const s = new GrpcServer(undefined, {
      maxSessions: 3,
      evictBusy: false,
      proves: (path) => path !== CHECK,
    });
    serveHealth(s, []);
    const port = await s.listen({ host: '127.0.0.1', port: 0 });
    onTestFinished(() => s.close());
    const probed = await dialFrom(port);
    expect(await check(probed)).toBe(Status.OK);
    const probedClosed = once(probed, 'close').then(() => 'the health-checked one');
    const strangers = [await dialFrom(port), await dialFrom(port)];
    const closed = strangers.map((c, i) => once(c, 'close').then(() => `stranger ${i}`));
    // Full: the oldest of equals gives way; a health check did not make it a proven one.
    await dialFrom(port);
    expect(await Promise.race([probedClosed, ...closed])).toBe('the health-checked one');
  });

  it('a peer at its share, in a full table, makes room among its own, not another peer’s', async () => {
    const port = await server({ maxSessions: 4, maxSessionsPerPeer: 2, evictBusy: false });
    const others = [await dialFrom(port, '127.0.0.1'), await dialFrom(port, '127.0.0.1')];
    const othersClosed = others.map((s) => once(s, 'close').then(() => 'the other peer'));
    const mine = [await dialFrom(port, '127.0.0.2'), await dialFrom(port, '127.0.0.2')];
    const mineClosed = once(mine[0], 'close').then(() => 'its own oldest');
    // Full, and the peer at its share: the other peer's older connections stay.
    await dialFrom(port, '127.0.0.2');
    expect(await Promise.race([mineClosed, ...othersClosed])).toBe('its own oldest');
    expect(others.map((s) => s.closed || s.destroyed)).toEqual([false, false]);
  });

  it('one peer holds at most its share; its own connections give way, not another peer’s', async () => {
    const port = await server({ maxSessions: 8, maxSessionsPerPeer: 3, evictBusy: false });
    const other = await dialFrom(port, '127.0.0.1');
    halfOpen(other);
    const flood = [];
    const closed = [];
    for (let i = 0; i < 6; i++) {
      const s = await dialFrom(port, '127.0.0.2');
      closed.push(once(s, 'close'));
      halfOpen(s);
      flood.push(s);
    }
    // Three of the six gave way to their own peer's newer ones, the oldest first.
    await Promise.all(closed.slice(0, 3));
    expect(flood.slice(3).map((s) => s.closed || s.destroyed)).toEqual([false, false, false]);
    // The other peer's connection, half-open too and older than all, is still served.
    expect(other.closed || other.destroyed).toBe(false);
    expect(await check(other)).toBe(Status.OK);
  });
});

describe('a request stream its handler stopped reading', () => {
  it('holds none of what still arrives: each message is released as it comes', async () => {
    let released = 0;
    const queue = new RequestQueue<string>(
      () => {},
      () => {},
      (bytes) => (released += bytes),
    );
    const reader = queue[Symbol.asyncIterator]();
    queue.push('first', 10);
    await reader.next();
    await reader.return?.();
    queue.push('late', 1000);
    expect(released).toBe(1010);
  });
});

describe('a server that stops', () => {
  it('does not serve a connection whose TLS handshake finishes after close()', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dk-stop-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const certs = certificates(dir, 'stop');
    const s = new GrpcServer({
      certPem: readFileSync(certs.cert, 'utf8'),
      keyPem: readFileSync(certs.key, 'utf8'),
    });
    serveHealth(s, []);
    const port = await s.listen({ host: '127.0.0.1', port: 0 });
    // Connected before the close; its TLS handshake starts only after it.
    const raw = netConnect({ host: '127.0.0.1', port });
    await once(raw, 'connect');
    await s.close();
    const secure = tlsConnect({
      socket: raw,
      ca: readFileSync(certs.ca),
      servername: 'localhost',
      ALPNProtocols: ['h2'],
    });
    secure.on('error', () => {});
    const session = connect('https://localhost', { createConnection: () => secure });
    session.on('error', () => {});
    onTestFinished(() => void session.destroy());
    // No answer: before, the closed server still took the connection and answered OK.
    expect(await check(session)).toBe(-1);
  });
});
