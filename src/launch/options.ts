import type { Contract, ServiceDef } from '../contracts/contract.js';
import { DriverkitError } from '../errors.js';
import type { ReattachInfo } from '../protocol/reattach.js';
import type { Logger } from './logger.js';
import type { PromiseClient } from '../rpc/call.js';
import type { Interceptor } from '../rpc/client.js';

/** How a driver process ended: one of the two is set. */
export interface DriverExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The typed client of a contract's service (for a contract with several versions, any of them). */
export type LatestClient<C extends Contract> = C['versions'][keyof C['versions']] extends infer S
  ? S extends ServiceDef
    ? PromiseClient<S>
    : never
  : never;

/**
 * The client of the version a driver negotiated, tagged with that version: narrow on
 * `version` and the compiler knows which methods exist (`if (v.version === 2) v.client.count()`).
 */
export type Versioned<C extends Contract> = {
  [V in keyof C['versions'] & number]: { version: V; client: PromiseClient<C['versions'][V]> };
}[keyof C['versions'] & number];

/** Client TLS for a service address: the CA to trust (default: the system's), our certificate and key (mTLS), the name to check. */
export interface ClientTlsFiles {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  serverName?: string;
}

/** Options of one driver process. */
export interface DriverOptions<C extends Contract = Contract> {
  /** Instance name, used in every log line and error. */
  name: string;
  /** The executable. */
  path: string;
  /** The driver type: handshake values and services. */
  contract: C;
  /** Arguments to the executable. Default: none. */
  args?: readonly string[];
  /** Set in its environment. Default: none. */
  env?: Readonly<Record<string, string>>;
  /**
   * More of the host's variables it sees, besides INHERITED_ENV (PATH, HOME, locale, proxy
   * and CA variables): names, `PREFIX*` patterns, or `"*"` for the whole environment; a
   * pattern after `!` withholds what it matches, whatever else names it. Default: none.
   */
  inheritEnv?: readonly string[];
  /** Working directory. Default: the host's. */
  cwd?: string;
  /** Milliseconds from spawn to a healthy driver. Default 60000, go-plugin's. */
  startTimeout?: number;
  /** Milliseconds a driver has to exit after Shutdown before SIGTERM. Default 2000, go-plugin's. */
  shutdownGrace?: number;
  /** Milliseconds between SIGTERM and SIGKILL. Default 1000. */
  killTimeout?: number;
  /** TCP port range offered to drivers that listen on TCP. Default 10000–25000, go-plugin's. */
  portRange?: { min: number; max: number };
  /** Receives the driver's log lines with a `driver` field. Default: `consoleLogger()`. */
  logger?: Logger;
  /**
   * go-plugin's AutoMTLS: a one-time certificate each way, both verified; a driver that
   * answers without a certificate is refused, never talked to in plaintext. Default false.
   */
  autoMTLS?: boolean;
  /** Hex sha256 the executable must have; checked before every start (go-plugin's SecureConfig). */
  sha256?: string;
  /**
   * Connect to a driver that is already running instead of spawning `path` (go-plugin's
   * reattach): the info an SDK driver prints when started with `--driverkit-reattach`, as
   * an object or that JSON line. No handshake is read.
   */
  reattach?: ReattachInfo | string;
  /** For a reattached driver: stop its process on close (Shutdown, then signals to its pid). Default false. */
  killOnClose?: boolean;
  /** Dial a TCP address off loopback that the driver's handshake names. Default false: refused (HANDSHAKE_INVALID). */
  allowRemote?: boolean;
  /**
   * A driver that runs as a service: dial `unix:///path.sock`, `tls://HOST:PORT` or
   * `tcp://HOST:PORT` (plaintext: loopback, or `insecure`) instead of starting `path`. Its
   * DriverInfo must name the contract's type; the newest version both speak is used. It is
   * never configured (its deployment does that) nor stopped by this host.
   */
  address?: string | readonly string[];
  /** Client TLS for a `tls://` address: PEM files, read at each connect (so rotations apply). */
  tls?: ClientTlsFiles;
  /** Plaintext `tcp://` off loopback. Default false: refused. */
  insecure?: boolean;
  /**
   * With `address`: a replica that answers no DriverInfo (a plain go-plugin service) is sent
   * calls, its type taken on trust. Default false: it is refused (DRIVER_INCOMPATIBLE).
   */
  allowUnverifiedType?: boolean;
  /** Receives what the driver writes to stdout after the handshake. Default: logged at debug. */
  stdout?: (chunk: Buffer) => void;
  /**
   * The connection is PINGed every `intervalMs`; one that leaves a PING unanswered for
   * `timeoutMs` is torn down (its calls fail with UNAVAILABLE) and the driver is killed, so
   * that a supervisor restarts it. Default 10000 and 20000.
   */
  keepalive?: { intervalMs?: number; timeoutMs?: number };
  /**
   * Steps around every call of `client` and `invoke`, the first outermost, such as
   * `new CallMetrics().step(name)` from `driverkit/metrics`. They run inside the call's trace span and see
   * errors as callers do (RpcError). Default: none.
   */
  steps?: readonly Interceptor[];
}

const DEFAULTS = { startTimeout: 60_000, shutdownGrace: 2_000, killTimeout: 1_000 };

function describe(value: unknown): string {
  return `\`${typeof value === 'string' ? JSON.stringify(value) : String(value)}\` (${value === null ? 'null' : typeof value})`;
}

/** Checks options at the boundary and fills in defaults; a bad value is quoted in the error. */
export function validateOptions<C extends Contract>(
  options: DriverOptions<C>,
): DriverOptions<C> & typeof DEFAULTS {
  const bad = (what: string, expected: string, value: unknown) =>
    new DriverkitError(
      'INVALID_OPTIONS',
      `expected ${what} to be ${expected}, got ${describe(value)}`,
      {
        driver: typeof options?.name === 'string' ? options.name : undefined,
      },
    );
  if (typeof options !== 'object' || options === null)
    throw bad('driver options', 'an object', options);
  if (typeof options.name !== 'string' || options.name === '')
    throw bad('`name`', 'a non-empty string', options.name);
  if (typeof options.path !== 'string' || options.path === '')
    throw bad('`path`', 'a non-empty string', options.path);
  const c = options.contract as Contract | undefined;
  if (!c || typeof c.cookieKey !== 'string' || typeof c.versions !== 'object')
    throw bad('`contract`', 'a driver contract such as `userprovider`', c);
  for (const key of ['startTimeout', 'shutdownGrace', 'killTimeout'] as const) {
    const v = options[key];
    if (v !== undefined && !(Number.isFinite(v) && v >= 0))
      throw bad(`\`${key}\``, 'a non-negative number of milliseconds', v);
  }
  for (const key of ['intervalMs', 'timeoutMs'] as const) {
    const v = options.keepalive?.[key];
    if (v !== undefined && !(Number.isFinite(v) && v > 0))
      throw bad(`\`keepalive.${key}\``, 'a positive number of milliseconds', v);
  }
  if (options.address !== undefined && (options.reattach !== undefined || options.autoMTLS))
    throw bad(
      '`address`',
      'alone: a service is dialed, not reattached, and its TLS is `tls`, not `autoMTLS`',
      options.address,
    );
  if (options.reattach !== undefined && options.autoMTLS)
    throw bad(
      '`autoMTLS`',
      "off with `reattach` (reattach info carries no certificate, as go-plugin's has none: the connection would be plaintext)",
      options.autoMTLS,
    );
  for (const key of ['args', 'inheritEnv'] as const) {
    const v = options[key];
    if (v !== undefined && !(Array.isArray(v) && v.every((a) => typeof a === 'string')))
      throw bad(`\`${key}\``, 'an array of strings', v);
  }
  return { ...DEFAULTS, ...stripUndefined(options) };
}

/** `o` without its undefined entries, so that spreading it over defaults keeps them. */
export function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
