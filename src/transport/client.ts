// The driver's gRPC transport, on node:http2: unary calls to a service the host offered over
// the broker. Small on purpose, like the driver's server: grpc-js would be the largest
// thing in every driver bundle only for this.
import { type ClientHttp2Session, connect, constants, type IncomingHttpHeaders } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { type CallError, callDeadline, callMetadata, cancelledError } from '../rpc/call.js';
import type { Invoke } from '../rpc/client.js';
import type { BrokerTls } from '../rpc/broker.js';
import {
  decodeGrpcMessage,
  FrameReader,
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
import { readAlways } from './socket.js';
import { streamCall } from './stream-client.js';

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

/**
 * A transport to the server at `target`, over one HTTP/2 connection opened on the first
 * call (and again if it drops). TLS when `tls` is given, verified as the main connection is.
 */
export function dialInvoke(target: DialTarget, tls?: BrokerTls): { invoke: Invoke; close(): void } {
  const [host, port] =
    target.network === 'unix'
      ? []
      : [
          target.address.slice(0, target.address.lastIndexOf(':')),
          Number(target.address.slice(target.address.lastIndexOf(':') + 1)),
        ];
  const endpoint = target.network === 'unix' ? { path: target.address } : { host, port };
  const where = `${target.network}:${target.address}`;
  let session: ClientHttp2Session | undefined;
  let closed = false;
  const open = (): ClientHttp2Session => {
    if (session && !session.closed && !session.destroyed) return session;
    const s = connect(tls ? 'https://localhost' : 'http://localhost', {
      maxSessionMemory: Number.MAX_SAFE_INTEGER,
      settings: { initialWindowSize: STREAM_WINDOW_BYTES },
      // go-plugin certificates name "localhost", whatever the address.
      createConnection: () =>
        tls
          ? tlsConnect({
              socket: readAlways(netConnect(endpoint as { path: string })),
              ca: tls.peerCertPem,
              key: tls.keyPem,
              cert: tls.certPem,
              servername: 'localhost',
              ALPNProtocols: ['h2'],
            })
          : readAlways(netConnect(endpoint as { path: string })),
    });
    // Each call hears of a broken connection through its own stream.
    s.on('error', () => {});
    s.once('connect', () => s.setLocalWindowSize(CONNECTION_WINDOW_BYTES));
    return (session = s);
  };

  const invoke: Invoke = (call) =>
    new Promise((resolve, reject) => {
      const { signal } = call.options;
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      let onAbort: (() => void) | undefined;
      const settle = (err: CallError | null, value?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (onAbort) signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(value);
      };
      if (closed) return settle(callError(Status.UNAVAILABLE, `the client of ${where} is closed`));
      if (signal?.aborted) return settle(cancelledError(signal));
      // Encode before opening a stream, so a request that cannot be encoded leaves nothing half-open.
      let body: Buffer | undefined;
      try {
        if (!call.requestStream && !call.responseStream)
          body = frameMessage(call.serialize(call.request));
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
      };
      if (deadline !== undefined)
        headers['grpc-timeout'] = formatGrpcTimeout(deadline - Date.now());
      if (call.requestStream || call.responseStream) {
        settled = true;
        return streamCall(open().request(headers), call, { statusOf, callError, where }).then(
          resolve,
          reject,
        );
      }
      const stream = open().request(headers);
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
      stream.on('response', (h) => {
        status = statusOf(h);
        if (status === undefined && h[':status'] !== 200)
          status = callError(Status.UNKNOWN, `HTTP status ${h[':status']} from ${call.path}`, true);
      });
      stream.on('trailers', (h) => (status = statusOf(h)));
      stream.on('data', (chunk: Buffer) => reader.push(chunk));
      stream.on('error', (err: Error) =>
        settle(callError(Status.UNAVAILABLE, `${where}: ${err.message}`)),
      );
      stream.on('close', () => {
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
            : callError(
                Status.UNAVAILABLE,
                `the connection to ${where} closed before the call ended`,
              ),
        );
      });
      stream.end(body);
    });
  return {
    invoke,
    close: () => {
      closed = true;
      session?.destroy();
    },
  };
}
