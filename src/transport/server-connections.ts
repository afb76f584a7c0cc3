// What a GrpcServer knows and decides about one connection: who the peer is, its TLS, and
// when an idle one, or a call whose request never arrives, is given back.
import type { ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { MAX_TIMER_MS } from '../protocol/grpc-wire.js';
import { Status } from '../status.js';
import type { ConnectionPeer, ServerCall } from './server-call.js';
import type { ServerTls } from './server.js';

/** Node's TLS options for a server's identity, and what it asks of its peers. */
export function secureContextOf(tls: ServerTls) {
  return {
    key: tls.keyPem,
    cert: tls.certPem,
    ca: tls.peerCertPem,
    requestCert: tls.peerCertPem !== undefined,
    rejectUnauthorized: tls.peerCertPem !== undefined,
  };
}

/**
 * Connections are a bounded resource: one that never speaks HTTP/2 is destroyed after
 * `prefaceMs`, one that makes no call within `firstCallMs` is closed, and so is one with no
 * call open for `idleMs` (GOAWAY). `state.open` counts its calls open.
 */
export function watchIdle(
  session: ServerHttp2Session,
  state: { open: number },
  { prefaceMs, firstCallMs, idleMs }: { prefaceMs: number; firstCallMs: number; idleMs: number },
): void {
  const preface = setTimeout(() => session.destroy(), prefaceMs).unref();
  session.once('remoteSettings', () => clearTimeout(preface));
  let idle: NodeJS.Timeout | undefined;
  // Past what a timer holds (Infinity, say) the timer would fire at once: no idle limit then.
  const arm = (ms: number) =>
    void (ms <= MAX_TIMER_MS && (idle = setTimeout(() => session.close(), ms).unref()));
  session.on('stream', (stream: ServerHttp2Stream) => {
    state.open++;
    clearTimeout(idle);
    stream.once('close', () => --state.open === 0 && !session.closed && arm(idleMs));
  });
  session.once('close', () => (clearTimeout(preface), clearTimeout(idle)));
  // No idle limit (Infinity) means no first-call limit either: the owner chose to keep them.
  arm(idleMs > MAX_TIMER_MS ? idleMs : Math.min(firstCallMs, idleMs));
}

/** A connection's peer for the limits per peer: its certificate, else its host (`unix` for a unix socket). */
export function peerKeyOf({ certificate, address }: ConnectionPeer): string {
  if (certificate) return `certificate ${certificate.fingerprint256}`;
  const port = address.lastIndexOf(':');
  return port < 0 ? address : address.slice(0, port);
}

/** A call's peer for the limits per peer: its connection's (see peerKeyOf). */
export const defaultPeer = (call: ServerCall): string => peerKeyOf(call.connection);

/** The peer's address: `HOST:PORT`, or `unix` for a unix socket (its peer has none). */
export function addressOf(socket: Socket): string {
  const { remoteAddress: host, remotePort: port } = socket;
  if (!host) return 'unix';
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A TLS connection's peer: its address, and the certificate it showed (mTLS). */
export function peerOf(socket: TLSSocket): ConnectionPeer {
  const cert = socket.getPeerCertificate();
  const cn = cert?.subject?.CN;
  return {
    address: addressOf(socket),
    ...(cert?.fingerprint256
      ? { certificate: { fingerprint256: cert.fingerprint256, cn: [cn].flat()[0] } }
      : {}),
  };
}

/**
 * A call whose one request message must arrive within `ms` of its headers, or of the last
 * request bytes its connection received (`state.received`: calls queued behind others on a
 * busy connection are waiting, not stalled); else DEADLINE_EXCEEDED, and its stream is
 * reset. Counted in `state.waiting` (half-open) till then.
 */
export function awaitRequest(
  stream: ServerHttp2Stream,
  call: ServerCall,
  state: { waiting: number; received: number },
  ms: number,
): void {
  state.waiting++;
  const expire = () => {
    const quiet = Date.now() - state.received;
    if (quiet < ms) {
      timer = setTimeout(expire, ms - quiet);
      timer.unref();
      return;
    }
    call.end(
      Status.DEADLINE_EXCEEDED,
      `the request did not arrive: its connection brought no request bytes for ${ms} ms`,
    );
    // Answered; RST_STREAM(NO_ERROR) then frees the stream the peer still holds open.
    if (!stream.closed) stream.close();
  };
  let timer = setTimeout(expire, ms);
  timer.unref();
  let waiting = true;
  const arrived = () => {
    if (!waiting) return;
    waiting = false;
    state.waiting--;
    clearTimeout(timer);
  };
  stream.once('end', arrived);
  stream.once('close', arrived);
}
