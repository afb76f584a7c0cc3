// gRPC over HTTP/2, the parts without I/O: message framing, grpc-timeout and grpc-message.
// https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md

/** Each message is prefixed by a compressed flag (1 byte) and its length (4 bytes, big endian). */
export const FRAME_HEADER_BYTES = 5;

/** One length-prefixed, uncompressed gRPC message. */
export function frameMessage(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, FRAME_HEADER_BYTES);
  return out;
}

/** Why a message could not be read from the byte stream. */
export type FrameError = { kind: 'too-large'; size: number } | { kind: 'compressed' };

/**
 * Splits an HTTP/2 data stream into gRPC messages. Chunks may cut messages anywhere; a
 * message is handed on once whole. Messages over `maxBytes` are refused before they are
 * buffered, so a peer cannot make the driver hold more than the limit.
 */
export class FrameReader {
  #chunks: Buffer[] = [];
  #buffered = 0;
  #need = -1;
  #failed = false;

  constructor(
    private readonly maxBytes: number,
    private readonly onMessage: (message: Buffer) => void,
    private readonly onError: (err: FrameError) => void,
  ) {}

  /** True while part of a message has arrived but not all of it. */
  get partial(): boolean {
    return this.#buffered > 0 || this.#need >= 0;
  }

  push(chunk: Buffer): void {
    if (this.#failed) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    for (;;) {
      if (this.#need < 0) {
        if (this.#buffered < FRAME_HEADER_BYTES) return;
        const head = this.#take(FRAME_HEADER_BYTES);
        const size = head.readUInt32BE(1);
        // No grpc-encoding is ever negotiated here, so a compressed message is a protocol error.
        if (head[0] !== 0) return this.#fail({ kind: 'compressed' });
        if (size > this.maxBytes) return this.#fail({ kind: 'too-large', size });
        this.#need = size;
      }
      if (this.#buffered < this.#need) return;
      const message = this.#take(this.#need);
      this.#need = -1;
      this.onMessage(message);
    }
  }

  #fail(err: FrameError): void {
    this.#failed = true;
    this.#chunks = [];
    this.#buffered = 0;
    this.onError(err);
  }

  #take(n: number): Buffer {
    // An empty message (google.protobuf.Empty, a default request) is 0 bytes long.
    if (n === 0) return Buffer.alloc(0);
    const first = this.#chunks[0];
    let out: Buffer;
    if (first.length >= n) {
      // The common case, one message in one chunk: no copy.
      out = first.subarray(0, n);
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
    } else {
      const all = Buffer.concat(this.#chunks);
      out = all.subarray(0, n);
      this.#chunks = all.length > n ? [all.subarray(n)] : [];
    }
    this.#buffered -= n;
    return out;
  }
}

const TIMEOUT_UNITS_MS: Record<string, number> = {
  H: 3_600_000,
  M: 60_000,
  S: 1000,
  m: 1,
  u: 0.001,
  n: 0.000_001,
};

/** The `grpc-timeout` header in milliseconds (`100m`, `5S`, ...), or undefined when absent or malformed. */
export function parseGrpcTimeout(value: string | undefined): number | undefined {
  const m = value === undefined ? null : /^(\d{1,8})([HMSmun])$/.exec(value);
  return m ? Number(m[1]) * TIMEOUT_UNITS_MS[m[2]] : undefined;
}

/** Milliseconds as a `grpc-timeout` header: at most 8 digits, in the finest unit that fits. */
export function formatGrpcTimeout(ms: number): string {
  const value = Math.max(0, Math.ceil(ms));
  if (value < 1e8) return `${value}m`;
  if (value / 1000 < 1e8) return `${Math.ceil(value / 1000)}S`;
  return `${Math.min(99_999_999, Math.ceil(value / 60_000))}M`;
}

/** grpc-message is percent-encoded: every byte outside printable ASCII, and `%` itself. */
export function encodeGrpcMessage(message: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(message)) return message;
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Decodes grpc-message; a malformed escape is kept as it came, as the spec asks. */
export function decodeGrpcMessage(value: string): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * Headers a gRPC peer sets for the transport; everything else is the call's metadata. The
 * same set grpc-js's server strips, so handlers see what they saw before (user-agent stays).
 */
export const RESERVED_HEADERS = new Set([
  'content-type',
  'te',
  'grpc-timeout',
  'grpc-encoding',
  'grpc-accept-encoding',
  'accept-encoding',
  'content-length',
]);

/** The metadata value of header `key`: `-bin` values in padded base64 whatever the peer sent (grpc-go sends them unpadded). */
export function metadataValue(key: string, value: string): string {
  return key.endsWith('-bin') ? Buffer.from(value, 'base64').toString('base64') : value;
}

/**
 * Response headers and trailers that are the status itself, not metadata. The status's
 * details (`grpc-status-details-bin`, google.rpc.Status) stay: a relay passes them on.
 */
const STATUS_HEADERS = new Set(['grpc-status', 'grpc-message']);

/** The metadata of a response's headers or trailers block: pseudo-headers, wire and status keys left out. */
export function responseMetadata(
  headers: Record<string, string | string[] | number | undefined>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (k[0] === ':' || RESERVED_HEADERS.has(k) || STATUS_HEADERS.has(k) || v === undefined)
      continue;
    out[k] = metadataValue(k, Array.isArray(v) ? v.join(', ') : String(v));
  }
  return out;
}

/** Node's timers fire at once past this many ms (about 24.8 days); a longer deadline needs no timer. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The gRPC status of a response that has no grpc-status but an HTTP status other than 200,
 * as gRPC's http-grpc-status-mapping.md says (a proxy or a non-gRPC server answered).
 */
export function httpStatusCode(http: number): number {
  const map: Record<number, number> = {
    400: 13,
    401: 16,
    403: 7,
    404: 12,
    429: 14,
    502: 14,
    503: 14,
    504: 14,
  };
  return map[http] ?? 2;
}

/**
 * The gRPC status of a stream the peer reset before any status, by its HTTP/2 error code,
 * as grpc-js maps them: REFUSED_STREAM is UNAVAILABLE (safe to retry), CANCEL is CANCELLED,
 * ENHANCE_YOUR_CALM is RESOURCE_EXHAUSTED, INADEQUATE_SECURITY PERMISSION_DENIED, the rest INTERNAL.
 */
export function resetStatusCode(http2Code: number): number {
  const map: Record<number, number> = { 7: 14, 8: 1, 11: 8, 12: 7 };
  return map[http2Code] ?? 13;
}
