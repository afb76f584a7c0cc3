// driverkit's gRPC server, on node:http2 directly: drivers, drivers run as services and the
// gateway serve on it. grpc-js's server is general (compression, channelz, keepalive policy,
// load reporting) and costs a driver about a third of its cold start to load; a driver needs
// unary calls, two streams and AutoMTLS, which this serves with the same wire format.
// https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md
import {
  createServer,
  type Http2Server,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import { timingSafeEqual } from 'node:crypto';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import {
  createServer as createTlsServer,
  type Server as TlsServer,
  type TLSSocket,
} from 'node:tls';
import type { CallStatus } from '../rpc/handlers.js';
import type { MessageType } from '../contracts/contract.js';
import { type ConnectionPeer, ServerCall } from './server-call.js';
import { readAlways } from './socket.js';
import { ConnectionTable } from './connection-table.js';
import {
  addressOf,
  awaitRequest,
  defaultPeer,
  peerOf,
  secureContextOf,
  watchIdle,
} from './server-connections.js';
import { decoded, encoded, oneRequest } from './server-methods.js';
import { DEFAULT_INBOUND_LIMITS, InboundBudget } from './inbound-budget.js';
import { FrameReader, parseGrpcTimeout } from '../protocol/grpc-wire.js';
import {
  CONNECTION_WINDOW_BYTES,
  MAX_MESSAGE_BYTES,
  STREAM_WINDOW_BYTES,
} from '../protocol/limits.js';
import { HOST_SECRET_HEADER } from '../protocol/env.js';
import { Status } from '../status.js';

// The options and their defaults live in server-options.ts; callers import them from here.
export * from './server-options.js';
import {
  FIRST_CALL_TIMEOUT_MS,
  IDLE_TIMEOUT_MS,
  MAX_CONCURRENT_STREAMS,
  MAX_SESSION_MEMORY_MB,
  MAX_SESSIONS,
  PREFACE_TIMEOUT_MS,
  REQUEST_TIMEOUT_MS,
  type ServerLimits,
  type ServerTls,
} from './server-options.js';

/**
 * How the server runs one method: its start, each request message (still encoded), then the
 * end of the requests. A method that does not stream requests must have its one message
 * within REQUEST_TIMEOUT_MS.
 */
export interface MethodImpl {
  requestStream: boolean;
  onOpen?(call: ServerCall): void;
  onMessage(call: ServerCall, message: Buffer): void;
  /** `partial`: the requests ended in the middle of a message. */
  onEnd(call: ServerCall, partial: boolean): void;
}

/**
 * A gRPC server over node:http2, for unary calls and the streams go-plugin's services need.
 * Messages are limited to 16 MiB both ways (RESOURCE_EXHAUSTED), as the host's are.
 */
export class GrpcServer {
  #methods = new Map<string, MethodImpl>();
  #sessions: ConnectionTable;
  #hostSecret?: Buffer;
  #maxMessageBytes: number;
  #authorize: ServerLimits['authorize'];
  #proves: ServerLimits['proves'];
  readonly #requestTimeoutMs: number;
  #peerOf: (call: ServerCall) => string;
  #onMemoryRefusal: ServerLimits['onMemoryRefusal'];
  readonly inbound: InboundBudget;
  #calls = new Set<ServerCall>();
  /** HTTP/2 over whatever #accept hands it: a TCP or unix socket, or a TLS one over it. */
  #server: Http2Server;
  /** With TLS: does the handshake (certificates, ALPN h2, its time limit), then #accept. */
  #tls?: TlsServer;
  /** Accepts connections and hands each, TLS first when configured, to #accept. */
  #listener: NetServer;
  /** The accepted sockets, for close() to cut what a peer will not let go. */
  #sockets = new Set<Socket>();
  /** Draining or closed: connections still in their TLS handshake are not served once done. */
  #stopping = false;
  /** The peer of the connection #accept is handing to #server, for its 'session' (synchronous). */
  #arriving?: ConnectionPeer;

  constructor(tls?: ServerTls, limits: ServerLimits = {}) {
    const idleMs = limits.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
    // 0, a negative or NaN would close every connection at once: a programming error.
    if (!(idleMs > 0))
      throw new TypeError(
        `idleTimeoutMs must be a positive number of milliseconds (Infinity: never), got ${idleMs}`,
      );
    const prefaceMs = Math.min(PREFACE_TIMEOUT_MS, idleMs);
    this.#hostSecret = limits.hostSecret ? Buffer.from(limits.hostSecret) : undefined;
    this.#maxMessageBytes = limits.maxMessageBytes ?? MAX_MESSAGE_BYTES;
    this.#authorize = limits.authorize;
    this.#proves = limits.proves;
    this.#requestTimeoutMs = limits.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    this.#peerOf = limits.peerOf ?? defaultPeer;
    this.#onMemoryRefusal = limits.onMemoryRefusal;
    this.inbound = new InboundBudget(limits.memory ?? DEFAULT_INBOUND_LIMITS);
    // Streams at once per connection, and what node buffers of a session's own frames
    // (its default 10 MB would refuse one 16 MiB message); request bytes are #inbound's.
    this.#server = createServer({
      maxSessionMemory: MAX_SESSION_MEMORY_MB,
      settings: {
        initialWindowSize: STREAM_WINDOW_BYTES,
        maxConcurrentStreams: limits.maxConcurrentStreams ?? MAX_CONCURRENT_STREAMS,
      },
    });
    const maxSessions = limits.maxSessions ?? MAX_SESSIONS;
    this.#sessions = new ConnectionTable({
      max: maxSessions,
      perPeer: limits.maxSessionsPerPeer ?? maxSessions,
      evictBusy: limits.evictBusy ?? true,
    });
    this.#server.on('session', (session) => {
      session.on('error', () => {});
      // A host needs one connection (and one per brokered dial): see ConnectionTable.
      const state = this.#sessions.admit(session, this.#arriving ?? { address: '' });
      if (!state) return;
      session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
      watchIdle(session, state, { prefaceMs, firstCallMs: FIRST_CALL_TIMEOUT_MS, idleMs });
    });
    this.#server.on('stream', (stream, headers) => this.#onStream(stream, headers));
    if (tls) {
      // TLS here rather than in node:http2's secure server: its socket is then a TLS one over
      // the TCP socket itself (not over a JS stream), and its peer's address and certificate
      // are known to the calls on it.
      this.#tls = createTlsServer(
        { ...secureContextOf(tls), ALPNProtocols: ['h2'], handshakeTimeout: prefaceMs },
        (secure) => this.#accept(secure, peerOf(secure)),
      );
      // A peer whose certificate we do not trust fails its own handshake; nothing to do here.
      this.#tls.on('tlsClientError', (_err, socket) => socket.destroy());
    }
    this.#listener = createNetServer((socket) => {
      socket.on('error', () => {});
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
      if (this.#tls) this.#tls.emit('connection', socket);
      else this.#accept(socket, { address: addressOf(socket) });
    });
  }

  /** Hands a connection, wrapped by readAlways, to node:http2 (which makes its session at once). */
  #accept(socket: Socket | TLSSocket, peer: ConnectionPeer): void {
    // A TLS handshake that was under way when the server began to stop ends here.
    if (this.#stopping) return void socket.destroy();
    this.#arriving = peer;
    try {
      this.#server.emit('connection', readAlways(socket));
    } finally {
      this.#arriving = undefined;
    }
  }

  /** Serves `path` with `impl`, its messages still encoded (a relay); replaces what was there. */
  handle(path: string, impl: MethodImpl): void {
    this.#methods.set(path, impl);
  }

  /** A method with one request: `handle` runs once it is in, and answers through `done`, as grpc-js's sendUnaryData does. */
  unary<Req, Res>(
    path: string,
    types: { request: MessageType<Req>; response: MessageType<Res> },
    handle: (
      request: Req,
      call: ServerCall,
      done: (err: CallStatus | null, value?: unknown) => void,
    ) => void,
  ): void {
    const read = decoded(types.request, path);
    this.handle(
      path,
      oneRequest(path, read, (call, request) =>
        handle(request, call, (err, value) => {
          if (err) return call.end(err.code, err.details);
          const bytes = encoded(call, types.response, value, path);
          if (bytes !== undefined) call.reply(bytes);
        }),
      ),
    );
  }

  /** A streaming method: `handle` hears of its start, every request message and the end of the requests. */
  stream<Req>(
    path: string,
    request: MessageType<Req>,
    handle: {
      open?(call: ServerCall): void;
      message?(call: ServerCall, message: Req): void;
      end?(call: ServerCall): void;
    },
  ): void {
    const read = decoded(request, path);
    this.handle(path, {
      requestStream: true,
      onOpen: handle.open,
      onMessage: (call, message) => {
        const value = read(call, message);
        if (value !== undefined) handle.message?.(call, value);
      },
      onEnd: (call) => handle.end?.(call),
    });
  }

  /** Listens on a unix socket path or a loopback TCP port; resolves with the port (0 for unix). */
  listen(target: { path: string } | { host: string; port: number }): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.#listener.once('error', onError);
      const ready = () => {
        this.#listener.off('error', onError);
        const address = this.#listener.address();
        resolve(typeof address === 'object' && address ? address.port : 0);
      };
      if ('path' in target) this.#listener.listen(target.path, ready);
      else this.#listener.listen(target.port, target.host, ready);
    });
  }

  /**
   * New certificates for new connections (a rotation); connections open keep theirs. Only
   * for a server made with TLS.
   */
  setTls(tls: ServerTls): void {
    if (!this.#tls) throw new TypeError('setTls: this server was made without TLS');
    const { requestCert: _r, rejectUnauthorized: _u, ...context } = secureContextOf(tls);
    this.#tls.setSecureContext(context);
  }

  /**
   * Stops taking connections and tells each one GOAWAY: calls open finish, for up to
   * `graceMs`; then close() ends what is left with UNAVAILABLE.
   */
  async drain(graceMs: number): Promise<void> {
    this.#stopping = true;
    this.#listener.close();
    for (const s of this.#sessions.sessions()) s.close();
    const deadline = Date.now() + graceMs;
    // Calls that started as the GOAWAY went out join the set: wait for whichever ends next,
    // with one listener per call.
    const watched = new WeakSet<ServerCall>();
    let wake = () => {};
    while (this.#calls.size > 0 && Date.now() < deadline) {
      for (const call of this.#calls)
        if (!watched.has(call)) {
          watched.add(call);
          call.onClosed(() => wake());
        }
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, deadline - Date.now());
      });
      clearTimeout(timer);
    }
    await this.close();
  }

  /**
   * Stops serving: open calls end with UNAVAILABLE, then each connection closes once what
   * was written to it has left (an answer to Shutdown must reach the host before the
   * process exits), or after `flushMs` at the latest.
   */
  close(flushMs = 200): Promise<void> {
    this.#stopping = true;
    this.#listener.close();
    this.#server.close();
    for (const call of this.#calls) call.abort(Status.UNAVAILABLE, 'the server is shutting down');
    const sessions = this.#sessions.sessions();
    if (sessions.length === 0) return Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    // A closed session only ends its socket and waits for the peer: one that does not read
    // (stopped, hung) would keep it, and this process, forever. After flushMs the sockets
    // themselves go.
    const cut = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        for (const s of sessions) s.destroy();
        for (const socket of this.#sockets) socket.destroy();
        resolve();
      }, flushMs);
    });
    return Promise.race([
      Promise.all(
        sessions.map((s) => {
          const closed = new Promise((resolve) => s.once('close', resolve));
          s.close();
          return closed;
        }),
      ),
      cut,
    ]).then(() => clearTimeout(timer));
  }

  /**
   * Marks the connection the host's when the call carries the host's secret, and hides the
   * secret from handlers. False when the call carries another secret: another driverkit
   * host, pointed here by a driver it spawned, which must not call (or shut down) this one.
   */
  #checkHost(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): boolean {
    const sent = headers[HOST_SECRET_HEADER];
    delete headers[HOST_SECRET_HEADER];
    const state = this.#sessions.get(stream.session as ServerHttp2Session);
    if (!this.#hostSecret || !state || typeof sent !== 'string') return true;
    const given = Buffer.from(sent);
    if (given.length === this.#hostSecret.length && timingSafeEqual(given, this.#hostSecret))
      return (state.host = true);
    return false;
  }

  #onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    stream.on('error', () => {});
    const fromOwnHost = this.#checkHost(stream, headers);
    const contentType = headers['content-type'];
    if (
      headers[':method'] !== 'POST' ||
      typeof contentType !== 'string' ||
      !contentType.startsWith('application/grpc')
    ) {
      stream.respond({ ':status': 415 }, { endStream: true });
      return;
    }
    const state = this.#sessions.get(stream.session as ServerHttp2Session);
    const call = new ServerCall(stream, headers, state?.peer ?? { address: '' });
    this.#calls.add(call);
    stream.once('close', () => this.#calls.delete(call));
    if (!fromOwnHost)
      return call.end(
        Status.PERMISSION_DENIED,
        'this driver was started by another host: the call carries another host secret',
      );
    const path = headers[':path'] ?? '';
    const refused = this.#authorize?.(call, path);
    if (refused) return void this.#refuse(stream, call, refused.code, refused.details);
    const method = this.#methods.get(path);
    if (!method) return call.end(Status.UNIMPLEMENTED, `method ${path} is not served here`);
    const encoding = headers['grpc-encoding'];
    if (encoding !== undefined && encoding !== 'identity') {
      // compression.md: refuse with UNIMPLEMENTED and say what we accept (grpc-go refuses the same way).
      call.setTrailer('grpc-accept-encoding', 'identity');
      return call.end(
        Status.UNIMPLEMENTED,
        `grpc-encoding ${encoding} is not supported; send uncompressed messages`,
      );
    }
    const rawTimeout = headers['grpc-timeout'];
    if (rawTimeout !== undefined) {
      const timeout = parseGrpcTimeout(rawTimeout as string);
      // grpc-go and grpc-js fail such a call with INTERNAL rather than run it without its deadline.
      if (timeout === undefined)
        return call.end(
          Status.INTERNAL,
          `malformed grpc-timeout ${JSON.stringify(rawTimeout)}: expected up to 8 digits and a unit (H, M, S, m, u or n)`,
        );
      call.expireIn(timeout);
    }
    const limit = this.#maxMessageBytes;
    const reader = new FrameReader(
      limit,
      (message) => method.onMessage(call, message),
      (err) =>
        err.kind === 'too-large'
          ? call.end(
              Status.RESOURCE_EXHAUSTED,
              `request of ${err.size} bytes is larger than the ${limit}-byte limit`,
            )
          : call.end(Status.INTERNAL, 'compressed message without grpc-encoding'),
    );
    const inbound = this.inbound.open(state ?? { held: 0 }, this.#peerOf(call), state?.host);
    call.inbound = inbound;
    stream.once('close', () => {
      inbound.close();
      if (call.ok && state && (this.#proves?.(path) ?? true)) state.proven = true;
    });
    method.onOpen?.(call);
    if (!method.requestStream && !call.done && state)
      awaitRequest(stream, call, state, this.#requestTimeoutMs);
    stream.on('data', (chunk: Buffer) => {
      // Once the call is answered, what the peer still sends is read and dropped, not held.
      if (call.done) return;
      if (state) state.received = Date.now();
      const over = inbound.add(chunk.length);
      if (over) {
        // Freed now, not at the stream's close: the peer may call again before that.
        inbound.close();
        this.#onMemoryRefusal?.();
        return this.#refuse(stream, call, Status.RESOURCE_EXHAUSTED, over);
      }
      // A chunk is often a slice of a larger read buffer that other streams' data shares:
      // held in a partial message, it would keep all of that alive. A copy keeps its own bytes.
      reader.push(chunk.byteLength * 2 < chunk.buffer.byteLength ? Buffer.from(chunk) : chunk);
    });
    stream.once('end', () => method.onEnd(call, reader.partial));
  }

  /** Ends a call before its request is read, then resets its stream: what the peer still sends is dropped. */
  #refuse(stream: ServerHttp2Stream, call: ServerCall, code: number, details: string): void {
    call.end(code, details);
    if (!stream.closed) stream.close();
  }
}
