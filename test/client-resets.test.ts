// A call that ended as HTTP/2 says (both sides sent END_STREAM) needs no RST_STREAM: a
// frame per call for nothing, which a server counting resets (node's rapid-reset guard,
// grpc-go's) takes for an attack on a busy connection. The client destroyed every finished
// stream; over the read-always wrapper the stream is closed by then and no reset goes out
// (this passes on that code too), but without the wrapper one did (issue 35): this guards
// the client's rule, reset only a stream whose END_STREAM is not out.
import { connect as netConnect, createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { internalServices } from '../src/contracts/internal.js';
import { serveHealth } from '../src/driver/services.js';
import { createClient } from '../src/rpc/client.js';
import { dial } from '../src/transport/client.js';
import { GrpcServer } from '../src/transport/server.js';

const PREFACE = 24;
const RST_STREAM = 0x3;

/**
 * A TCP relay to `port` that counts the HTTP/2 frames of each type the client sends
 * (after the connection preface), frame by frame however the bytes are split.
 */
async function frameCounter(port: number) {
  const counts = new Map<number, number>();
  const sockets: Socket[] = [];
  const relay = createServer((client) => {
    const server = netConnect(port, '127.0.0.1');
    sockets.push(client, server);
    let buffered = Buffer.alloc(0);
    let skipped = 0;
    client.on('data', (chunk: Buffer) => {
      server.write(chunk);
      buffered = Buffer.concat([buffered, chunk]);
      if (skipped < PREFACE) {
        const n = Math.min(PREFACE - skipped, buffered.length);
        skipped += n;
        buffered = buffered.subarray(n);
      }
      while (buffered.length >= 9) {
        const length = buffered.readUIntBE(0, 3);
        if (buffered.length < 9 + length) break;
        counts.set(buffered[3], (counts.get(buffered[3]) ?? 0) + 1);
        buffered = buffered.subarray(9 + length);
      }
    });
    server.on('data', (chunk) => client.write(chunk));
    const end = () => {
      client.destroy();
      server.destroy();
    };
    client.on('close', end).on('error', end);
    server.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    for (const s of sockets) s.destroy();
    relay.close();
  });
  return { port: (relay.address() as { port: number }).port, counts };
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

describe('a finished call', () => {
  it('sends no RST_STREAM: 200 unary calls, none reset', async () => {
    const server = new GrpcServer(undefined, {});
    serveHealth(server, []);
    const port = await server.listen({ host: '127.0.0.1', port: 0 });
    cleanups.push(() => void server.close());
    const relay = await frameCounter(port);
    const channel = dial({ network: 'tcp', address: `127.0.0.1:${relay.port}` });
    cleanups.unshift(() => channel.close());
    const health = createClient(internalServices.health, channel.invoke);
    for (let i = 0; i < 200; i++) expect((await health.check({ service: '' })).status).toBe(1);
    // Every call's HEADERS went out (type 0x1), and no reset after any of them.
    expect(relay.counts.get(0x1)).toBeGreaterThanOrEqual(200);
    expect(relay.counts.get(RST_STREAM) ?? 0).toBe(0);
  });
});
