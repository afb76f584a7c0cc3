import { createHash, timingSafeEqual } from 'node:crypto';
import { isLoopback } from '../protocol/loopback.js';
import { Status } from '../status.js';

/** Who may call what through a gateway, and how much. */
export interface GatewaySecurity {
  /** TLS: the gateway's certificate and key (PEM); with `clientCaPem`, clients must show a certificate it signed (mTLS). */
  tls?: { certPem: string; keyPem: string; clientCaPem?: string };
  /** Where `tls` came from: given, the gateway reads the files again as they change (rotation). */
  tlsFiles?: { cert: string; key: string; clientCa?: string };
  /**
   * Bearer tokens a client must send as `authorization: Bearer TOKEN`, each with the name
   * drivers see as the caller (`ctx.context.user`), default `token-N`. Default: none asked.
   */
  tokens?: readonly Token[];
  /**
   * The methods (by name, `GetUser`) each instance serves through the gateway; `*` is all.
   * Default for an instance not listed: all but Configure, which is the host's to call.
   */
  allow?: Readonly<Record<string, readonly string[]>>;
  /** Calls in flight at once, across clients; past it, RESOURCE_EXHAUSTED. Default 256. */
  maxConcurrentCalls?: number;
  /**
   * Calls one client connection may have open at once (HTTP/2 SETTINGS; a client queues
   * past it), which with `maxMessageBytes` bounds the memory one client can hold. Default 100.
   */
  maxCallsPerClient?: number;
  /**
   * Calls one client may have relayed at once, across its connections: a client is its
   * bearer token, else its certificate, else (no authentication) its connection. Default:
   * half of `maxConcurrentCalls`.
   */
  maxClientCalls?: number;
  /** Calls relayed to one driver at once, so a slow one cannot hold every slot. Default: half of `maxConcurrentCalls`. */
  maxDriverCalls?: number;
  /** Calls one client may have relayed to one driver at once: a fair share of its slots. Default: half of `maxDriverCalls`. */
  maxClientDriverCalls?: number;
  /** The largest request message, in bytes. Default 16 MiB, driverkit's limit. */
  maxMessageBytes?: number;
  /**
   * Request bytes one client (see maxClientCalls), and one connection, may have held at
   * once, counted as they arrive (a message still coming in too); past it, the call is
   * RESOURCE_EXHAUSTED and its stream reset. Default 64 MiB.
   */
  maxClientMemory?: number;
  /** Request bytes held at once across clients, counted the same way. Default 128 MiB. */
  maxMemory?: number;
  /** A second, plaintext `HOST:PORT` serving only grpc.health.v1, for probes without TLS. */
  healthListen?: string;
  /** Serve a non-loopback address without TLS and authentication. Default false: refused. */
  insecure?: boolean;
}

/** Methods a gateway never relays unless an allow-list names them: they act on the driver, not for a caller. */
const ADMIN_METHODS = new Set(['Configure']);

/** A bearer token, alone or with the name of who holds it. */
export type Token = string | { name: string; token: string };

const secretOf = (t: Token) => (typeof t === 'string' ? t : t.token);

/** The name a token's holder has for drivers: its own, else `token-N` (N counts from 1). */
export const tokenName = (tokens: readonly Token[], index: number): string => {
  const t = tokens[index];
  return typeof t === 'string' ? `token-${index + 1}` : t.name;
};

/** A status to answer instead of relaying, or undefined to relay. */
export type Verdict = { code: number; details: string } | undefined;

/**
 * The tokens of a `tokens_file`: one a line, trimmed, as `TOKEN` or `NAME TOKEN`. Blank
 * lines and lines that start with `#` are never tokens (a comment must not open the gateway).
 */
export function parseTokens(text: string): Token[] {
  return text
    .split('\n')
    .map((t) => t.trim())
    .filter((t) => t !== '' && !t.startsWith('#'))
    .map((t) => {
      const [name, ...rest] = t.split(/\s+/);
      return rest.length === 1 ? { name, token: rest[0] } : t;
    });
}

const digest = (b: Buffer | string) => createHash('sha256').update(b).digest();

/**
 * Checks the bearer token (the `authorization` header's value); every call when tokens are set. Compared as SHA-256 digests in
 * constant time, against every token without stopping at a match: neither the length of a
 * token nor which one matched shows in the time taken.
 */
export function checkToken(
  authorization: string | undefined,
  tokens: readonly Token[] | undefined,
): Verdict {
  if (!tokens?.length || tokenIndex(authorization, tokens) !== undefined) return undefined;
  return {
    code: Status.UNAUTHENTICATED,
    details: 'expected a valid bearer token in the authorization metadata',
  };
}

/**
 * Which of `tokens` the call's bearer token is (its index), or undefined: compared as
 * digests, in constant time, against every token.
 */
export function tokenIndex(
  authorization: string | undefined,
  tokens: readonly Token[] | undefined,
): number | undefined {
  if (!tokens?.length) return undefined;
  const header = authorization ?? '';
  const given = digest(header.startsWith('Bearer ') ? header.slice(7) : '');
  let found: number | undefined;
  digestsOf(tokens).forEach((d, i) => {
    if (timingSafeEqual(d, given)) found = i;
  });
  return found;
}

/** Each token's digest, made once per token list rather than on every call. */
const digests = new WeakMap<readonly Token[], Buffer[]>();
function digestsOf(tokens: readonly Token[]): Buffer[] {
  let d = digests.get(tokens);
  if (!d) digests.set(tokens, (d = tokens.map((t) => digest(secretOf(t)))));
  return d;
}

/** Whether `instance` may be called at `method` (its name) through the gateway. */
export function checkAllowed(
  instance: string,
  method: string,
  allow: GatewaySecurity['allow'],
): Verdict {
  const list = allow?.[instance];
  const ok = list ? list.includes('*') || list.includes(method) : !ADMIN_METHODS.has(method);
  return ok
    ? undefined
    : {
        code: Status.PERMISSION_DENIED,
        details: `${method} of driver ${JSON.stringify(instance)} is not allowed through this gateway`,
      };
}

/** Refuses a non-loopback address unless it is served with TLS and authentication, or `insecure`. */
export function checkListen(listen: string, s: GatewaySecurity): string | undefined {
  const loopback = isLoopback(listen, true);
  const authenticated = s.tokens?.length || s.tls?.clientCaPem;
  if (loopback || s.insecure || (s.tls && authenticated)) return undefined;
  return `refusing to serve ${listen} (reachable from other machines) without TLS and authentication: give a certificate and key, and tokens or a client CA, or allow it explicitly as insecure`;
}
