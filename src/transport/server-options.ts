// What a GrpcServer can be told: its limits, its TLS, and the defaults.
import type { InboundLimits } from './inbound-budget.js';
import type { ServerCall } from './server-call.js';

/** Calls one connection may have open at once; a host queues past it (HTTP/2 SETTINGS). */
export const MAX_CONCURRENT_STREAMS = 1024;
/** Connections served at once. */
export const MAX_SESSIONS = 64;
/**
 * node:http2's cap on what it buffers for one session, in megabytes: its own frames. Request
 * bytes, which node hands on as soon as they are read, are InboundBudget's to bound.
 */
export const MAX_SESSION_MEMORY_MB = 256;
/** How long a connection may go without a call before it is closed (GOAWAY); see ServerLimits. */
export const IDLE_TIMEOUT_MS = 5 * 60_000;
/** How long a new connection has to finish TLS and send its HTTP/2 SETTINGS. */
export const PREFACE_TIMEOUT_MS = 10_000;
/** How long a new connection has to make its first call (a host makes its health check at once). */
export const FIRST_CALL_TIMEOUT_MS = 10_000;
/**
 * How long a call whose request is one message (unary, server-streaming) has from its
 * headers to the end of that message, while its connection brings no request bytes at
 * all: a peer that never finishes one must not hold a stream and its connection for ever,
 * but 256 calls of 4 MiB queued on one busy connection are not stalled, only waiting.
 */
export const REQUEST_TIMEOUT_MS = 10_000;

/** Time limits on a connection, so that peers that hold one and do nothing give it back. */
export interface ServerLimits {
  /**
   * A connection with no call open for this long is closed with GOAWAY; a gRPC client
   * reconnects on its next call. The host's stdio stream keeps its own connection open.
   * Infinity: never.
   */
  idleTimeoutMs?: number;
  /**
   * The host's secret (see ENV.hostSecret): a connection that sends it on a call is the
   * host's, and is never closed to make room for a newcomer. Default: none (no connection
   * is told apart).
   */
  hostSecret?: string;
  /** Connections served at once (default MAX_SESSIONS; a service shared by many hosts takes more). */
  maxSessions?: number;
  /**
   * When all are taken, may a connection with calls open give way to a newcomer (default
   * true: a driver's one host is never the one cut)? False: only idle ones do, else the
   * newcomer is refused.
   */
  evictBusy?: boolean;
  /**
   * Connections one peer (its certificate, else its address) may hold at once; past it, its
   * own connections give way to its newcomer as above. Default: maxSessions (no limit).
   */
  maxSessionsPerPeer?: number;
  /** Calls one connection may have open at once (HTTP/2 SETTINGS); default MAX_CONCURRENT_STREAMS. */
  maxConcurrentStreams?: number;
  /** The largest request message, in bytes (RESOURCE_EXHAUSTED past it); default MAX_MESSAGE_BYTES. */
  maxMessageBytes?: number;
  /** See REQUEST_TIMEOUT_MS (its default); shorter in tests. */
  requestTimeoutMs?: number;
  /**
   * Checks a call at its headers, before its messages are read: a status refuses it (a
   * missing bearer token, say), and nothing it sends after is held.
   */
  authorize?(call: ServerCall, path: string): { code: number; details: string } | undefined;
  /**
   * Whether a call answered OK proves its connection (kept before strangers when the server
   * is full); default every call. The gateway with tokens counts only calls a token let in:
   * health answers anyone, so it proves nothing there.
   */
  proves?(path: string): boolean;
  /** Request bytes held at once (see InboundBudget); default DEFAULT_INBOUND_LIMITS. */
  memory?: InboundLimits;
  /**
   * Who a call is from, for the limits per peer: default its certificate, else its address
   * (without the port: one machine's connections share).
   */
  peerOf?(call: ServerCall): string;
  /** Hears of each call refused for its request bytes (for a metric). */
  onMemoryRefusal?(): void;
}

/**
 * The server's identity, and what a client must show: AutoMTLS's one peer certificate, or
 * a service's client CA. Without `peerCertPem`, clients show no certificate (TLS only).
 */
export interface ServerTls {
  certPem: string;
  keyPem: string;
  peerCertPem?: string;
}
