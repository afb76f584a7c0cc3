// A connection that stops making progress must not look alive: the health service of a
// driver whose connection is stuck still answers on a new one, while every call on the old
// one hangs. An HTTP/2 PING is answered by the peer's HTTP/2 layer itself, so an ack that
// does not come means the peer is not reading this connection (or not running at all).
import type { Http2Session } from 'node:http2';

/** When to PING a connection and how long to wait for the ack. */
export interface Keepalive {
  /** Time between PINGs. Default 10 s. */
  intervalMs: number;
  /** A PING unanswered this long marks the connection stalled. Default 20 s (grpc-go's). */
  timeoutMs: number;
}

export const DEFAULT_KEEPALIVE: Keepalive = { intervalMs: 10_000, timeoutMs: 20_000 };

/**
 * PINGs `session` every `intervalMs` (one at a time) and calls `onStall` once if an ack
 * takes longer than `timeoutMs`. Stops when the session closes; the timers never keep
 * the process alive.
 */
export function watchProgress(
  session: Http2Session,
  { intervalMs, timeoutMs }: Keepalive,
  onStall: (waitedMs: number) => void,
): void {
  let waiting: NodeJS.Timeout | undefined;
  const tick = setInterval(() => {
    if (waiting || session.destroyed || session.closed) return;
    const sent = session.ping(() => {
      clearTimeout(waiting);
      waiting = undefined;
    });
    if (sent) waiting = setTimeout(() => onStall(timeoutMs), timeoutMs).unref();
  }, intervalMs).unref();
  session.once('close', () => {
    clearInterval(tick);
    clearTimeout(waiting);
  });
}
