// `[gateway]`: who may reach `driverkit serve`, over what, and how much.
import { isAbsolute, resolve } from 'node:path';
import { duration, fail, flag, isTable, ok, positive, type Parsed } from './parsers.js';
import { parseTable, type Fields, type Key } from './table.js';
import { isLoopback } from '../protocol/loopback.js';

interface GatewayContext {
  dir: string;
}

const file = (v: unknown, ctx: GatewayContext) =>
  typeof v === 'string' && v !== ''
    ? ok(isAbsolute(v) ? v : resolve(ctx.dir, v))
    : fail('a file path (string)', v);
const envName = (v: unknown) =>
  typeof v === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(v)
    ? ok(v)
    : fail('an environment variable name', v);

/** `HOST:PORT` with a port from 0 (any free one) to 65535. */
const hostPort = (v: unknown) =>
  typeof v === 'string' &&
  /^.+:\d{1,5}$/.test(v) &&
  Number(v.slice(v.lastIndexOf(':') + 1)) <= 65535
    ? ok(v)
    : fail('an address "HOST:PORT" (port 0 to 65535)', v);

/** The keys of the `[gateway]` table. */
export const GATEWAY_KEYS = [
  {
    toml: 'tls_cert',
    field: 'tlsCert',
    parse: file,
    defaultDoc: 'none (plaintext)',
    doc: "The gateway's TLS certificate (PEM file); with `tls_key`.",
  },
  {
    toml: 'tls_key',
    field: 'tlsKey',
    parse: file,
    defaultDoc: 'none',
    doc: 'Its private key (PEM file).',
  },
  {
    toml: 'client_ca',
    field: 'clientCa',
    parse: file,
    defaultDoc: 'none',
    doc: 'Clients must present a certificate this CA (PEM file) signed: mTLS.',
  },
  {
    toml: 'tokens_file',
    field: 'tokensFile',
    parse: file,
    defaultDoc: 'none',
    doc: 'Bearer tokens a client must send (`authorization: Bearer T`), one per line as `TOKEN` or `NAME TOKEN`; drivers see NAME (else `token-N`) as the caller, `ctx.context.user`.',
  },
  {
    toml: 'tokens_env',
    field: 'tokensEnv',
    parse: envName,
    defaultDoc: 'none',
    doc: 'An environment variable holding bearer tokens, comma-separated.',
  },
  {
    toml: 'max_concurrent_calls',
    field: 'maxConcurrentCalls',
    parse: positive,
    defaultDoc: '`256`',
    doc: 'Calls relayed at once; past it, RESOURCE_EXHAUSTED.',
  },
  {
    toml: 'max_calls_per_client',
    field: 'maxCallsPerClient',
    parse: positive,
    defaultDoc: '`100`',
    doc: 'Calls one client connection may have open at once (it queues past that).',
  },
  {
    toml: 'max_client_calls',
    field: 'maxClientCalls',
    parse: positive,
    defaultDoc: 'half of `max_concurrent_calls`',
    doc: 'Calls one client (its bearer token, else its certificate, else its connection) may have relayed at once, across connections; past it, RESOURCE_EXHAUSTED.',
  },
  {
    toml: 'max_driver_calls',
    field: 'maxDriverCalls',
    parse: positive,
    defaultDoc: 'half of `max_concurrent_calls`',
    doc: 'Calls relayed to one driver at once, so that a slow driver cannot take every slot; past it, RESOURCE_EXHAUSTED.',
  },
  {
    toml: 'max_client_driver_calls',
    field: 'maxClientDriverCalls',
    parse: positive,
    defaultDoc: 'half of `max_driver_calls`',
    doc: "Calls one client (as for `max_client_calls`) may have relayed to one driver at once, so that one client cannot take all of a driver's slots from the others; past it, RESOURCE_EXHAUSTED.",
  },
  {
    toml: 'max_message_size',
    field: 'maxMessageBytes',
    parse: positive,
    defaultDoc: '`16777216`',
    doc: 'The largest request message, in bytes.',
  },
  {
    toml: 'max_client_memory',
    field: 'maxClientMemory',
    parse: positive,
    defaultDoc: '`67108864`',
    doc: 'Request bytes one client (as for `max_client_calls`), and one connection, may have the gateway hold at once: counted as they arrive, from a message still coming in to the end of its call; a call past it is RESOURCE_EXHAUSTED and its stream reset.',
  },
  {
    toml: 'max_memory',
    field: 'maxMemory',
    parse: positive,
    defaultDoc: '`134217728`',
    doc: 'Request bytes the gateway holds at once across all clients, counted the same way. A flood of unfinished messages makes it touch about three times what it holds: 128 MiB keeps it under the shipped 512Mi.',
  },
  {
    toml: 'insecure',
    field: 'insecure',
    parse: flag,
    default: false,
    doc: 'Serve an address off loopback without TLS and authentication (refused otherwise).',
  },
  {
    toml: 'health_listen',
    field: 'healthListen',
    parse: hostPort,
    defaultDoc: 'none',
    doc: "A second, plaintext address serving only grpc.health.v1 (Kubernetes' gRPC probes speak no TLS).",
  },
  {
    toml: 'drain_delay',
    field: 'drainDelay',
    parse: duration,
    defaultDoc: '`"0s"`',
    doc: 'On SIGTERM: how long health answers NOT_SERVING while calls are still served (a load balancer stops sending), before the gateway stops taking calls.',
  },
  {
    toml: 'drain_grace',
    field: 'drainGrace',
    parse: duration,
    defaultDoc: '`"10s"`',
    doc: 'Then: how long calls in flight have to finish before they are cut.',
  },
  {
    toml: 'admin_listen',
    field: 'adminListen',
    parse: hostPort,
    defaultDoc: 'none (off)',
    doc: 'An HTTP address serving `/metrics` (Prometheus) and `/status` (`driverkit status`). Off loopback only with `admin_token_file`.',
  },
  {
    toml: 'admin_token_file',
    field: 'adminTokenFile',
    parse: file,
    defaultDoc: 'none',
    doc: 'A bearer token (the first line of this file) that `/metrics` and `/status` require: `authorization: Bearer T`, as Prometheus sends with `authorization.credentials_file`.',
  },
] as const satisfies readonly Key<GatewayContext>[];

/** The `[gateway]` table, parsed. */
export type GatewayConfig = Fields<typeof GATEWAY_KEYS>;

/** Parses the `[gateway]` table; a key without its partner (`tls_cert` without `tls_key`) is refused. */
export function gatewayTable(v: unknown, ctx: GatewayContext): Parsed<GatewayConfig> {
  if (!isTable(v)) return fail('a table', v);
  const parsed = parseTable(GATEWAY_KEYS, v, ctx);
  if (!parsed.ok) return parsed;
  const g = parsed.value;
  if ((g.tlsCert === undefined) !== (g.tlsKey === undefined))
    return {
      ...fail('tls_cert and tls_key together'),
      key: g.tlsCert === undefined ? 'tls_cert' : 'tls_key',
    };
  if (g.clientCa !== undefined && g.tlsCert === undefined)
    return { ...fail('tls_cert and tls_key: client certificates need TLS'), key: 'client_ca' };
  if (g.adminListen && !isLoopback(g.adminListen, true) && g.adminTokenFile === undefined)
    return {
      ...fail(
        'a loopback address (127.0.0.1:PORT), or admin_token_file set: the admin endpoint shows every driver',
        g.adminListen,
      ),
      key: 'admin_listen',
    };
  return ok(g);
}

/** `gateway_allow` of a driver: method names, or `["*"]` for all. */
export function methodList(v: unknown): Parsed<string[]> {
  return Array.isArray(v) &&
    v.every((m) => typeof m === 'string' && /^(\*|[A-Za-z_][A-Za-z0-9_]*)$/.test(m))
    ? ok([...v])
    : fail('an array of method names such as ["GetUser"], or ["*"]', v);
}
