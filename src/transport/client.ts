// The one gRPC client of host and driver, on node:http2: every kind of call, over one
// HTTP/2 connection per peer, read always (socket.ts) and watched by PING (keepalive.ts).
// The host calls its drivers with it, a driver dials brokered services with it.
import {
  type ClientHttp2Session,
  connect,
  constants,
  type Http2Stream,
  type IncomingHttpHeaders,
} from 'node:http2';
import { isIP, connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { checkServerIdentity, connect as tlsConnect } from 'node:tls';
import { type CallError, callDeadline, callMetadata, cancelledError } from '../rpc/call.js';
import type { Invoke } from '../rpc/client.js';
import type { BrokerTls } from '../rpc/broker.js';
import {
  decodeGrpcMessage,
  FrameReader,
  httpStatusCode,
  resetStatusCode,
  responseMetadata,
  formatGrpcTimeout,
  frameMessage,
  MAX_TIMER_MS,
} from '../protocol/grpc-wire.js';
import {
  CONNECTION_WINDOW_BYTES,
  MAX_MESSAGE_BYTES,
  STREAM_WINDOW_BYTES,
} from '../protocol/limits.js';
import { Status, statusName } from '../status.js';
import {
  DEFAULT_KEEPALIVE,
  type Keepalive,
  type ReadProgress,
  watchProgress,
} from './keepalive.js';
import { readAlways } from './socket.js';
import { streamCall } from './stream-client.js';

/** The highest client stream id before a new connection is opened (ids are 31 bits, odd). */
const LAST_STREAM_ID = 2 ** 31 - 2 ** 20;

/** Where to dial: a handshake's or a ConnInfo's network and address. */
export interface DialTarget {
  network: string;
  address: string;
}

function callError(code: number, details: string, fromPeer = false): CallError {
  return Object.assign(new Error(`${code} ${statusName(code)}: ${details}`), {
    code,
    details,
    fromPeer,
  });
}

/** A message past the 16 MiB limit, refused before it goes out (or as it comes in). */
export function tooLarge(what: 'request' | 'response', size: number): CallError {
  return callError(
    Status.RESOURCE_EXHAUSTED,
    `${what} of ${size} bytes is larger than the ${MAX_MESSAGE_BYTES}-byte limit`,
  );
}

/** The error with the caller's stack below its own message, as grpc-js gives it. */
function withCaller(err: CallError, caller: Error): CallError {
  const at = caller.stack?.slice(caller.stack.indexOf('\n') + 1);
  if (at) err.stack = `${err.name}: ${err.message}\nfor call at\n${at}`;
  return err;
}

/** A response with an HTTP status other than 200 and no gRPC status (a proxy, not gRPC). */
export function httpError(http: number, path: string): CallError {
  return callError(httpStatusCode(http), `HTTP status ${http} from ${path}`, true);
}

/**
 * The error of a stream the peer reset (RST_STREAM) on a live connection before any status;
 * undefined when it was not reset, or the connection itself went (that is UNAVAILABLE).
 */
export function resetError(
  stream: Http2Stream,
  where: string,
  session: ClientHttp2Session,
): CallError | undefined {
  const code = stream.rstCode;
  if (code === undefined || code === constants.NGHTTP2_NO_ERROR || session.destroyed)
    return undefined;
  return callError(resetStatusCode(code), `${where} reset the stream (HTTP/2 error ${code})`, true);
}

/** The status in a trailers block (or a trailers-only response), if it has one. */
function statusOf(headers: IncomingHttpHeaders): CallError | null | undefined {
  const raw = headers['grpc-status'];
  if (raw === undefined) return undefined;
  const code = Number(raw);
  return code === Status.OK
    ? null
    : callError(code, decodeGrpcMessage(String(headers['grpc-message'] ?? '')), true);
}

/** Header values are strings: binary metadata goes base64, as gRPC's wire format says. */
function headerMetadata(md: Record<string, string | Buffer> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(md ?? {}))
    out[k] = typeof v === 'string' ? v : v.toString('base64');
  return out;
}

/** TLS to a service: the CA (default: the system's), an identity for mTLS, the name to check. */
export interface ClientTls {
  caPem?: string;
  certPem?: string;
  keyPem?: string;
  serverName?: string;
}

/** How a client connects and watches its connection. */
export interface DialOptions {
  /** AutoMTLS: our identity and the one peer certificate we trust. */
  tls?: BrokerTls;
  /** TLS to a service, asked for at each new connection (certificates rotate). */
  serviceTls?: () => ClientTls;
  /** PING timing; default DEFAULT_KEEPALIVE. */
  keepalive?: Keepalive;
  /**
   * Called when a connection stopped answering PINGs; its calls have already failed with
   * UNAVAILABLE, and the next call opens a new connection.
   */
  onStall?: (reason: string) => void;
  /** Called when a connection ends while the channel is open (the peer closed it or went away). */
  onDisconnect?: () => void;
  /** Sent on every call, over any metadata of the caller's. */
  headers?: Readonly<Record<string, string>>;
}

/** A client of one server: its calls, and closing it. */
export interface Channel {
  invoke: Invoke;
  /** Fails the calls still open with UNAVAILABLE and closes the connection. */
  close(): void;
}

/**
 * A client of the server at `target`, over one HTTP/2 connection opened on the first call
 * (and again if it drops, is stalled or runs out of stream ids).
 */
export function dial(target: DialTarget, options: DialOptions = {}): Channel {
  const { tls, serviceTls, keepalive = DEFAULT_KEEPALIVE, onStall, onDisconnect } = options;
  const always = options.headers;
  const [host, port] =
    target.network === 'unix'
      ? []
      : [
          target.address.slice(0, target.address.lastIndexOf(':')).replace(/^\[|\]$/g, ''),
          Number(target.address.slice(target.address.lastIndexOf(':') + 1)),
        ];
  const endpoint = target.network === 'unix' ? { path: target.address } : { host, port };
  const where = `${target.network}:${target.address}`;
  let session: ClientHttp2Session | undefined;
  /** Every connection not yet gone: one draining after GOAWAY still carries its calls. */
  const sessions = new Set<ClientHttp2Session>();
  /**
   * Connections whose socket (and TLS) connected: a call failing on one that never did
   * reached nobody. (The session's own 'connect' fires at once over readAlways' wrapper.)
   */
  const connected = new WeakSet<ClientHttp2Session>();
  let closed = false;
  /** What has arrived on the current connection: what the stall watch judges by. */
  let read: ReadProgress = { at: Date.now(), bytes: 0 };
  const connectSocket = () => {
    const progress = (read = { at: Date.now(), bytes: 0 });
    const socket = netConnect(endpoint as { path: string });
    socket.on('data', (chunk: Buffer) => {
      progress.at = Date.now();
      progress.bytes += chunk.length;
    });
    return socket;
  };
  const open = (): ClientHttp2Session => {
    if (session && !session.closed && !session.destroyed) {
      if ((session.state.nextStreamID ?? 0) < LAST_STREAM_ID) return session;
      // Stream ids are spent after about a billion calls: let this connection finish its
      // calls and go on with a new one, as grpc-js does.
      session.close();
    }
    const secure = tls !== undefined || serviceTls !== undefined;
    // Nothing of a call leaves before the socket (and TLS) connected: until then a failed
    // call reached nobody (see `unseen`).
    const made = <T extends Duplex>(socket: T, event: string): T => {
      socket.once(event, () => connected.add(s));
      return socket;
    };
    const s: ClientHttp2Session = connect(secure ? 'https://localhost' : 'http://localhost', {
      maxSessionMemory: Number.MAX_SAFE_INTEGER,
      settings: { initialWindowSize: STREAM_WINDOW_BYTES },
      // go-plugin certificates name "localhost", whatever the address.
      createConnection: () =>
        tls
          ? made(
              tlsConnect({
                socket: readAlways(connectSocket()),
                ca: tls.peerCertPem,
                key: tls.keyPem,
                cert: tls.certPem,
                servername: 'localhost',
                ALPNProtocols: ['h2'],
              }),
              'secureConnect',
            )
          : serviceTls
            ? made(tlsToService(readAlways(connectSocket()), serviceTls(), host), 'secureConnect')
            : readAlways(made(connectSocket(), 'connect')),
    });
    // Each call hears of a broken connection through its own stream.
    s.on('error', () => {});
    sessions.add(s);
    s.once('close', () => {
      sessions.delete(s);
      if (!closed) onDisconnect?.();
    });
    // A session can be destroyed (its driver died) between connecting and this event.
    s.once('connect', () => s.destroyed || s.setLocalWindowSize(CONNECTION_WINDOW_BYTES));
    watchProgress(
      s,
      keepalive,
      () => read,
      (ms, what) => {
        const reason =
          what === 'connect'
            ? `the connection to ${where} did not finish connecting in ${ms} ms`
            : `the connection to ${where} answered no HTTP/2 PING for ${ms} ms`;
        s.destroy(new Error(reason));
        onStall?.(reason);
      },
    );
    return (session = s);
  };

  const invoke: Invoke = (call) =>
    new Promise((resolve, reject) => {
      const { signal } = call.options;
      // Where the caller called from, for the error's stack (grpc-js's "for call at").
      const caller = new Error();
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      let onAbort: (() => void) | undefined;
      const settle = (err: CallError | null, value?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (onAbort) signal?.removeEventListener('abort', onAbort);
        if (err) reject(withCaller(err, caller));
        else resolve(value);
      };
      if (closed) return settle(callError(Status.UNAVAILABLE, `the client of ${where} is closed`));
      if (signal?.aborted) return settle(cancelledError(signal));
      // Encode before opening a stream, so a request that cannot be encoded leaves nothing half-open.
      let body: Buffer | undefined;
      try {
        if (!call.requestStream && !call.responseStream)
          body = frameMessage(call.serialize(call.request));
        if (body && body.length - 5 > MAX_MESSAGE_BYTES)
          return settle(tooLarge('request', body.length - 5));
      } catch (err) {
        return settle(
          callError(
            Status.INTERNAL,
            `cannot encode the request: ${err instanceof Error ? err.message : String(err)}`,
          ),
        );
      }
      const deadline = callDeadline(call.options);
      const headers: Record<string, string> = {
        ':method': 'POST',
        ':path': call.path,
        'content-type': 'application/grpc',
        te: 'trailers',
        ...headerMetadata(callMetadata(call.options)),
        ...always,
      };
      if (deadline !== undefined)
        headers['grpc-timeout'] = formatGrpcTimeout(deadline - Date.now());
      if (call.requestStream || call.responseStream) {
        settled = true;
        const session = open();
        return streamCall(session, session.request(headers), call, {
          statusOf,
          callError,
          where,
          httpError,
          resetError,
        }).then(resolve, (err) => reject(withCaller(err, caller)));
      }
      const session = open();
      const stream = session.request(headers);
      const abandon = (err: CallError) => {
        settle(err);
        stream.close(constants.NGHTTP2_CANCEL);
      };
      if (signal) {
        onAbort = () => abandon(cancelledError(signal));
        signal.addEventListener('abort', onAbort, { once: true });
      }
      if (deadline !== undefined && deadline - Date.now() <= MAX_TIMER_MS) {
        timer = setTimeout(
          () => abandon(callError(Status.DEADLINE_EXCEEDED, 'deadline exceeded')),
          deadline - Date.now(),
        );
      }
      let reply: Buffer | undefined;
      let status: CallError | null | undefined;
      const reader = new FrameReader(
        MAX_MESSAGE_BYTES,
        (message) => (reply = message),
        (err) =>
          abandon(
            callError(
              err.kind === 'too-large' ? Status.RESOURCE_EXHAUSTED : Status.INTERNAL,
              err.kind === 'too-large'
                ? `response of ${err.size} bytes is larger than the ${MAX_MESSAGE_BYTES}-byte limit`
                : 'compressed response without grpc-encoding',
            ),
          ),
      );
      const { onMetadata } = call.options;
      stream.on('response', (h) => {
        status = statusOf(h);
        if (status === undefined && h[':status'] !== 200)
          status = httpError(Number(h[':status']), call.path);
        onMetadata?.(status === undefined ? 'headers' : 'trailers', responseMetadata(h));
      });
      stream.on('trailers', (h) => {
        status = statusOf(h);
        onMetadata?.('trailers', responseMetadata(h));
      });
      stream.on('data', (chunk: Buffer) => reader.push(chunk));
      /** The call failed without an answer: was it ever seen by the peer? */
      const unseen = (err: CallError, cause?: Error): CallError => {
        const refused =
          (cause as { code?: string } | undefined)?.code === 'ERR_HTTP2_GOAWAY_SESSION' ||
          stream.rstCode === constants.NGHTTP2_REFUSED_STREAM;
        if (status === undefined && (!connected.has(session) || refused)) err.unprocessed = true;
        return err;
      };
      stream.on('error', (err: Error) =>
        settle(
          unseen(
            resetError(stream, where, session) ??
              callError(Status.UNAVAILABLE, `${where}: ${err.message}`),
            err,
          ),
        ),
      );
      // The answer is complete once the response has ended with a status, even while our
      // request is still going out: a server may answer early (grpc-go refusing a message
      // over its limit does) and stop reading, and the stream would never close.
      stream.once('end', () => {
        if (status === undefined) return;
        answer();
        if (!stream.destroyed) stream.destroy();
      });
      stream.on('close', () => answer());
      const answer = () => {
        if (status) return settle(status);
        if (status === null && reply) {
          try {
            return settle(null, call.deserialize(reply));
          } catch (err) {
            return settle(
              callError(
                Status.INTERNAL,
                `cannot decode the response: ${err instanceof Error ? err.message : String(err)}`,
              ),
            );
          }
        }
        settle(
          status === null
            ? callError(Status.INTERNAL, `the response from ${where} carried no message`)
            : unseen(
                resetError(stream, where, session) ??
                  callError(
                    Status.UNAVAILABLE,
                    `the connection to ${where} closed before the call ended`,
                  ),
              ),
        );
      };
      stream.end(body);
    });
  return {
    invoke,
    close: () => {
      closed = true;
      for (const s of sessions) s.destroy();
    },
  };
}

/** TLS to a service at `host`: its certificate checked against the name (or IP) it is dialed by. */
function tlsToService(socket: Duplex, t: ClientTls, host: string | undefined) {
  const name = t.serverName ?? host?.replace(/^\[|\]$/g, '') ?? 'localhost';
  return tlsConnect({
    socket,
    ca: t.caPem,
    cert: t.certPem,
    key: t.keyPem,
    // SNI takes names only; an IP is checked against the certificate all the same.
    servername: isIP(name) ? undefined : name,
    checkServerIdentity: (_, cert) => checkServerIdentity(name, cert),
    ALPNProtocols: ['h2'],
  });
}
