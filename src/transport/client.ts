// The one gRPC client of host and driver, on node:http2: every kind of call, over one
// HTTP/2 connection per peer, read always (socket.ts) and watched by PING (keepalive.ts).
// The host calls its drivers with it, a driver dials brokered services with it.
import { type ClientHttp2Session, connect } from 'node:http2';
import { isIP, connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { checkServerIdentity, connect as tlsConnect } from 'node:tls';
import { type CallError, callDeadline, callMetadata, cancelledError } from '../rpc/call.js';
import type { Invoke } from '../rpc/client.js';
import type { BrokerTls } from '../rpc/broker.js';
import { formatGrpcTimeout, frameMessage } from '../protocol/grpc-wire.js';
import {
  CONNECTION_WINDOW_BYTES,
  MAX_MESSAGE_BYTES,
  STREAM_WINDOW_BYTES,
} from '../protocol/limits.js';
import { Status } from '../status.js';
import { callError, tooLarge, withCaller } from './call-status.js';
import { type CallSite, runCall } from './client-call.js';
import {
  DEFAULT_KEEPALIVE,
  type Keepalive,
  type ReadProgress,
  watchProgress,
} from './keepalive.js';
import { readAlways } from './socket.js';

/** The highest client stream id before a new connection is opened (ids are 31 bits, odd). */
const LAST_STREAM_ID = 2 ** 31 - 2 ** 20;

/** Where to dial: a handshake's or a ConnInfo's network and address. */
export interface DialTarget {
  network: string;
  address: string;
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
  /** Each connection's call site: its calls and how it connected. */
  const sites = new WeakMap<ClientHttp2Session, CallSite>();
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
    const calls = { open: 0 };
    sites.set(s, { where, session: s, connected: () => connected.has(s), calls });
    watchProgress(
      s,
      keepalive,
      () => read,
      (ms, what) => {
        const reason =
          what === 'connect'
            ? `the connection to ${where} did not finish connecting in ${ms} ms`
            : what === 'ping'
              ? `the connection to ${where} answered no HTTP/2 PING for ${ms} ms`
              : `the connection to ${where} answered no health check for ${ms} ms`;
        s.destroy(new Error(reason));
        onStall?.(reason);
      },
      () => probe(s, calls.open, always),
    );
    return (session = s);
  };

  const invoke: Invoke = (call) => {
    // Where the caller called from, for the error's stack (grpc-js's "for call at").
    const caller = new Error();
    const failed = (err: CallError) => Promise.reject(withCaller(err, caller));
    if (closed) return failed(callError(Status.UNAVAILABLE, `the client of ${where} is closed`));
    const { signal } = call.options;
    if (signal?.aborted) return failed(cancelledError(signal));
    // Encode before opening a stream, so a request that cannot be encoded leaves nothing half-open.
    let body: Buffer | undefined;
    try {
      if (!call.requestStream) body = frameMessage(call.serialize(call.request));
    } catch (err) {
      return failed(
        callError(
          Status.INTERNAL,
          `cannot encode the request: ${err instanceof Error ? err.message : String(err)}`,
        ),
      );
    }
    if (body && body.length - 5 > MAX_MESSAGE_BYTES)
      return failed(tooLarge('request', body.length - 5));
    const deadline = callDeadline(call.options);
    const headers: Record<string, string> = {
      ':method': 'POST',
      ':path': call.path,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...headerMetadata(callMetadata(call.options)),
      ...always,
    };
    if (deadline !== undefined) headers['grpc-timeout'] = formatGrpcTimeout(deadline - Date.now());
    try {
      return runCall(sites.get(open())!, headers, call, body).catch(failed);
    } catch (err) {
      // A connection that went away as the call began (node throws from request()): nothing was sent.
      const e = callError(Status.UNAVAILABLE, `${where}: ${(err as Error).message}`);
      e.unprocessed = true;
      return failed(e);
    }
  };
  return {
    invoke,
    close: () => {
      closed = true;
      for (const s of sessions) s.destroy();
    },
  };
}

/**
 * Asks a quiet connection whether its peer is there by a call any gRPC server answers at
 * once (grpc.health.v1's Check; UNIMPLEMENTED or UNAUTHENTICATED are answers too). Not
 * when every stream the peer allows is open: it would wait behind them, unanswered.
 */
function probe(
  session: ClientHttp2Session,
  open: number,
  headers: Readonly<Record<string, string>> | undefined,
): boolean {
  if (open >= (session.remoteSettings.maxConcurrentStreams ?? Number.POSITIVE_INFINITY))
    return false;
  const stream = session.request({
    ':method': 'POST',
    ':path': '/grpc.health.v1.Health/Check',
    'content-type': 'application/grpc',
    te: 'trailers',
    ...headers,
  });
  stream.on('error', () => {});
  stream.resume();
  stream.end(EMPTY_REQUEST);
  return true;
}

/** An empty message (HealthCheckRequest for the server's overall health), framed. */
const EMPTY_REQUEST = frameMessage(Buffer.alloc(0));

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
