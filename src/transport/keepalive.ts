// A connection that stops making progress must not look alive: the health service of a
// driver whose connection is stuck still answers on a new one, while every call on the old
// one hangs. An HTTP/2 PING is answered by the peer's HTTP/2 layer itself, so an ack that
// does not come means the peer is not reading this connection (or not running at all).
//
// grpc-go's servers (every go-plugin driver) count a PING sent less than 5 minutes after the
// last one (2 hours with no call open) as a strike unless they sent headers or data in
// between, and close the connection (GOAWAY too_many_pings) after the third. So a PING goes
// out only after `intervalMs` of silence from the peer, and while another one would be a
// strike, the connection is asked by a call instead (`probe`: a health check, answered by
// the peer's gRPC server, whose answer also clears the strikes). Either way a stalled peer
// is found within `intervalMs + timeoutMs`, on a quiet connection as on a busy one.
import type { Http2Session } from 'node:http2';

/** When to PING a connection and how long to wait for the ack. */
export interface Keepalive {
  /** Silence from the peer after which a PING is sent. Default 10 s. */
  intervalMs: number;
  /** A PING unanswered this long (and nothing read meanwhile) marks the connection stalled. Default 20 s. */
  timeoutMs: number;
}

export const DEFAULT_KEEPALIVE: Keepalive = { intervalMs: 10_000, timeoutMs: 20_000 };

/** grpc-go's default keepalive enforcement: PINGs closer than this are strikes. */
const PEER_MIN_PING_MS = 5 * 60_000;
/**
 * Bytes that say the peer sent more than the ack of our PING (17 bytes) and a control frame
 * or two: a header or data frame, which is what resets grpc-go's strikes.
 */
const MORE_THAN_AN_ACK = 64;

/** What has been read on a connection: when last, and how many bytes in all. */
export interface ReadProgress {
  at: number;
  bytes: number;
}

/**
 * Watches `session` and calls `onStall` once if a PING stays unanswered for `timeoutMs`
 * while nothing at all is read. `read()` says what has arrived on the connection so far.
 * Stops when the session closes; the timers never keep the process alive.
 */
export function watchProgress(
  session: Http2Session,
  { intervalMs, timeoutMs }: Keepalive,
  read: () => ReadProgress,
  onStall: (waitedMs: number, what: 'ping' | 'probe' | 'connect') => void,
  /** Sends a call whose answer shows the peer alive; false when it cannot now (no stream free). */
  probe?: () => boolean,
): void {
  let waiting: NodeJS.Timeout | undefined;
  let pingedAt = 0;
  let bytesAtPing = 0;
  const openedAt = Date.now();
  const tick = setInterval(
    () => {
      if (waiting || session.destroyed || session.closed) return;
      const now = Date.now();
      // A connection (a TLS handshake, say) that never completes can be sent no PING: it
      // gets the PING's own time to connect, and is judged stalled past it.
      if (session.connecting) {
        if (now - openedAt >= intervalMs + timeoutMs) onStall(now - openedAt, 'connect');
        return;
      }
      const { at, bytes } = read();
      if (now - at < intervalMs) return;
      // Nothing but the last PING's ack read since: another PING would be a strike.
      const strike = bytes - bytesAtPing < MORE_THAN_AN_ACK && now - pingedAt < PEER_MIN_PING_MS;
      if (strike && !probe?.()) return;
      pingedAt = now;
      bytesAtPing = bytes;
      const what = strike ? 'probe' : 'ping';
      if (
        !strike &&
        !session.ping(() => {
          clearTimeout(waiting);
          waiting = undefined;
        })
      )
        return;
      waiting = setTimeout(() => {
        // The timers run before the poll phase that would read an answer already waiting
        // (an event loop that was blocked): judge after one turn of reading, and only if
        // nothing at all arrived since the PING or the probe.
        setImmediate(() => {
          if (!waiting || session.destroyed) return;
          waiting = undefined;
          if (read().at < pingedAt) onStall(timeoutMs, what);
        });
      }, timeoutMs).unref();
    },
    Math.min(intervalMs, 1_000),
  ).unref();
  session.once('close', () => {
    clearInterval(tick);
    clearTimeout(waiting);
  });
}
