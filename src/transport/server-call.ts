// One call on the driver's gRPC server: reading its metadata, and answering it with
// messages, headers, trailers and a status as gRPC's HTTP/2 mapping says.
import { constants, type ServerHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import type { CallSource } from '../rpc/handlers.js';
import type { CallBytes } from './inbound-budget.js';
import {
  encodeGrpcMessage,
  frameMessage,
  MAX_TIMER_MS,
  metadataValue,
  RESERVED_HEADERS,
} from '../protocol/grpc-wire.js';
import { MAX_MESSAGE_BYTES } from '../protocol/limits.js';
import { Status } from '../status.js';

/** Who is at the other end of a connection: for limits per peer, and identity under mTLS. */
export interface ConnectionPeer {
  /** `HOST:PORT`, or `unix`. */
  address: string;
  /** The certificate the peer showed (mTLS): its SHA-256 fingerprint and subject CN. */
  certificate?: { fingerprint256: string; cn?: string };
}

/** One call on the server: its metadata, its cancellation, and the way to answer. */
export class ServerCall implements CallSource {
  cancelled = false;
  /** When the caller's grpc-timeout runs out (ms since the epoch), if it gave one. */
  deadline?: number;
  /** The request bytes it holds (the server's InboundBudget); a handler releases what it takes. */
  inbound?: CallBytes;
  /** A unary call's one request, once read. */
  request: unknown;
  #ended = false;
  #code?: number;
  #metadata?: Record<string, string>;
  #cancelListeners: Array<() => void> = [];
  #trailers: Record<string, string> = {};
  /** Metadata the handler set (ctx.setHeader/setTrailer), in wire form; absent on most calls. */
  #customHeaders?: Record<string, string>;
  #customTrailers?: Record<string, string>;
  #deadline?: NodeJS.Timeout;

  constructor(
    private readonly stream: ServerHttp2Stream,
    private readonly headers: IncomingHttpHeaders,
    /** The connection's peer. */
    readonly connection: ConnectionPeer,
  ) {
    stream.once('close', () => {
      // The stream closed before we answered: the host cancelled (RST_STREAM) or went away.
      if (!this.#ended) this.#cancel();
    });
  }

  /** The host connection (HTTP/2 session) the call came on. */
  get peer(): object {
    return this.stream.session as object;
  }

  /** Answered with status OK. */
  get ok(): boolean {
    return this.#code === 0;
  }

  /** Answered, cancelled or expired: nothing more goes out. */
  get done(): boolean {
    return this.#ended;
  }

  onCancel(listener: () => void): void {
    this.#cancelListeners.push(listener);
  }

  /** The call's metadata, read once (a relay asks for it at each check): not to be changed. */
  metadata(): Readonly<Record<string, string>> {
    if (this.#metadata) return this.#metadata;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.headers)) {
      if (k[0] !== ':' && !RESERVED_HEADERS.has(k) && v !== undefined)
        out[k] = metadataValue(k, Array.isArray(v) ? v.join(', ') : v);
    }
    this.#metadata = out;
    return out;
  }

  /** Sets a response header (checked by the caller); false once the headers are out. */
  setHeader(key: string, value: string | Buffer): boolean {
    if (this.stream.headersSent) return false;
    (this.#customHeaders ??= {})[key] = wireValue(value);
    return true;
  }

  /** Sends the response headers now (a relay passing on its backend's), not with the first message. */
  flushHeaders(): void {
    if (!this.#gone()) this.#respond();
  }

  /** Sets a trailer (checked by the caller), sent with the status. */
  setTrailer(key: string, value: string | Buffer): void {
    (this.#customTrailers ??= {})[key] = wireValue(value);
  }

  /** Runs `listener` once the stream is closed: the answer is out, or the host went away. */
  onClosed(listener: () => void): void {
    if (this.stream.closed) listener();
    else this.stream.once('close', listener);
  }

  /** Ends the call with DEADLINE_EXCEEDED after `ms`, as the host asked in grpc-timeout. */
  expireIn(ms: number): void {
    if (ms > MAX_TIMER_MS) return;
    this.deadline = Date.now() + ms;
    this.#deadline = setTimeout(
      () => this.abort(Status.DEADLINE_EXCEEDED, 'deadline exceeded'),
      ms,
    );
  }

  /** Ends the call with a status and cancels its handler (its `ctx.signal` fires). */
  abort(code: number, details: string): void {
    // Answer first: cancelling marks the call done, after which nothing would go out.
    this.end(code, details);
    this.#cancel();
  }

  /** Sends one message; the response headers go with the first. */
  write(message: Uint8Array): void {
    if (this.#gone()) return;
    this.#respond();
    this.stream.write(frameMessage(message));
  }

  /**
   * Sends one message of a response stream and resolves once the stream can take more:
   * HTTP/2 flow control, so a slow reader slows the writer and nothing buffers without bound.
   */
  send(message: Uint8Array): Promise<void> {
    if (message.length > MAX_MESSAGE_BYTES) {
      this.end(
        Status.RESOURCE_EXHAUSTED,
        `response of ${message.length} bytes is larger than the ${MAX_MESSAGE_BYTES}-byte limit`,
      );
      return Promise.resolve();
    }
    if (this.#gone()) return Promise.resolve();
    this.#respond();
    if (this.stream.write(frameMessage(message))) return Promise.resolve();
    return new Promise((resolve) => {
      const go = () => {
        this.stream.off('drain', go);
        this.stream.off('close', go);
        resolve();
      };
      this.stream.once('drain', go);
      this.stream.once('close', go);
    });
  }

  /** Stops reading requests (back-pressure), until resume(). */
  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    this.stream.resume();
  }

  /** Answers a unary call: its one message, then status OK, in as few writes as HTTP/2 allows. */
  reply(message: Uint8Array): void {
    if (message.length > MAX_MESSAGE_BYTES) {
      this.end(
        Status.RESOURCE_EXHAUSTED,
        `response of ${message.length} bytes is larger than the ${MAX_MESSAGE_BYTES}-byte limit`,
      );
      return;
    }
    if (this.#gone()) return;
    this.#finish();
    this.#code = 0;
    this.#respond();
    this.#trailers = this.#customTrailers
      ? { ...this.#customTrailers, 'grpc-status': '0' }
      : { 'grpc-status': '0' };
    this.stream.end(frameMessage(message));
  }

  /** Ends the call with a status. A call that has sent nothing gets a trailers-only response. */
  end(code: number, details = ''): void {
    if (this.#gone()) return;
    this.#finish();
    this.#code = code;
    const trailers = {
      ...this.#customTrailers,
      'grpc-status': String(code),
      ...(details ? { 'grpc-message': encodeGrpcMessage(details) } : {}),
    };
    if (this.stream.headersSent) {
      this.#trailers = trailers;
      this.stream.end();
    } else {
      // Trailers-only: the handler's headers and trailers share the one block, as in grpc-js.
      this.stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', ...this.#customHeaders, ...trailers },
        { endStream: true },
      );
      this.#stopPeer();
    }
  }

  #respond(): void {
    if (this.stream.headersSent) return;
    this.stream.respond(
      { ':status': 200, 'content-type': 'application/grpc', ...this.#customHeaders },
      { waitForTrailers: true },
    );
    this.stream.once('wantTrailers', () => {
      this.stream.sendTrailers(this.#trailers);
      this.#stopPeer();
    });
  }

  /**
   * Once the answer is out, a peer still sending is told to stop with RST_STREAM(NO_ERROR),
   * as RFC 9113 8.1 allows and grpc-go does: else it may send on, and be read, for as long
   * as it likes. Sent on the next turn, so that it follows the trailers on the wire.
   */
  #stopPeer(): void {
    if (this.stream.state?.remoteClose) return;
    setImmediate(() => {
      const { stream } = this;
      if (!stream.destroyed && !stream.closed && !stream.state?.remoteClose)
        stream.close(constants.NGHTTP2_NO_ERROR);
    });
  }

  /**
   * Nothing more can go out: answered, or the stream is closed. A stream the peer reset (or
   * whose session went away) is `closed` a moment before its 'close' event; writing to it
   * then throws ERR_HTTP2_INVALID_STREAM, which crashed the driver.
   */
  #gone(): boolean {
    return this.#ended || this.stream.destroyed || this.stream.closed;
  }

  #finish(): void {
    this.#ended = true;
    clearTimeout(this.#deadline);
  }

  #cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.#finish();
    for (const listener of this.#cancelListeners.splice(0)) listener();
  }
}

/** A metadata value as HTTP/2 carries it: bytes (`-bin` keys) in base64. */
function wireValue(value: string | Buffer): string {
  return typeof value === 'string' ? value : value.toString('base64');
}
