// The one fix for the deadlock of two node:http2 peers. node stops reading a connection
// while one of its own writes is pending (Http2Session::MaybeStopReading, nodejs/node#29399).
// When both peers have more in flight than the kernel's socket buffers hold (about 200 KiB
// each way on a unix socket: some 20 concurrent 300 KB calls with 1/4 MiB windows), each
// waits for the other to read and the connection is stuck for good. Every HTTP/2 connection
// driverkit opens or accepts goes through `readAlways`, so at least one end of any link
// keeps reading, whatever stack the other end runs.
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';

/**
 * Bytes held in user space either way before the connection is cut. A peer keeping to
 * HTTP/2 flow control can make us hold at most its window for us (outgoing) or ours for it
 * (incoming, 4 MiB) plus control frames; past this it is flooding, not flow-controlled.
 */
export const MAX_BACKLOG_BYTES = 64 * 1024 * 1024;

/**
 * Wraps a connected socket for node:http2: the socket is read as soon as bytes arrive, and
 * a write is taken at once (the socket buffers it), so the session never has a write
 * pending and so never stops reading. Flow control bounds what either buffer holds.
 */
export function readAlways(socket: Socket, limit = MAX_BACKLOG_BYTES): Duplex {
  const overflow = (side: string) =>
    new Error(`the peer let more than ${limit} bytes pile up ${side}: not HTTP/2 flow control`);
  // What node:http2 writes in one tick (a call's headers, message and trailers, in separate
  // flushes) goes to the kernel in one writev: a syscall, and a wake-up of the peer, each.
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  const wrapped = new Duplex({
    read() {},
    writev(chunks, done) {
      if (!corked) {
        corked = true;
        socket.cork();
        process.nextTick(uncork);
      }
      for (const { chunk } of chunks) socket.write(chunk);
      done(socket.writableLength > limit ? overflow('unsent') : null);
    },
    final(done) {
      socket.end(done);
    },
    destroy(err, done) {
      socket.destroy(err ?? undefined);
      done(err);
    },
  });
  socket.on('data', (chunk: Buffer) => {
    wrapped.push(chunk);
    if (wrapped.readableLength > limit) wrapped.destroy(overflow('unread'));
  });
  socket.once('end', () => wrapped.push(null));
  socket.once('error', (err) => wrapped.destroy(err));
  socket.once('close', () => wrapped.destroy());
  socket.setNoDelay?.(true);
  return wrapped;
}
