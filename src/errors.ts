import { type StatusCode, type StatusName, statusName } from './status.js';

/**
 * Every error driverkit raises has one of these codes; docs/errors.md explains each.
 * The strings are stable: match on `err.code`, not on messages.
 */
export type ErrorCode =
  | 'INVALID_OPTIONS'
  | 'DRIVER_NOT_FOUND'
  | 'DRIVER_NOT_EXECUTABLE'
  | 'SPAWN_FAILED'
  | 'HANDSHAKE_INVALID'
  | 'HANDSHAKE_TIMEOUT'
  | 'EXITED_BEFORE_HANDSHAKE'
  | 'CORE_VERSION_MISMATCH'
  | 'VERSION_MISMATCH'
  | 'PROTOCOL_UNSUPPORTED'
  | 'CONNECT_FAILED'
  | 'BROKER_TIMEOUT'
  | 'DRIVER_CLOSED'
  | 'DRIVER_NOT_READY'
  | 'DRIVER_FAILED'
  | 'RELOAD_CANCELLED'
  | 'CHECKSUM_MISMATCH'
  | 'CONFIG_INVALID'
  | 'BUILD_FAILED'
  | 'DRIVER_INCOMPATIBLE'
  | 'UNKNOWN_DRIVER'
  | 'PROTO_INVALID'
  | 'GEN_FAILED'
  | 'PACKAGE_NOT_FOUND'
  | 'PACKAGE_INVALID'
  | 'PACKAGE_INCOMPATIBLE'
  | 'DOWNLOAD_FAILED'
  | 'ARCHIVE_UNSAFE'
  | 'LOCK_STALE'
  | 'DOWNGRADE_REFUSED'
  | 'SIGNATURE_INVALID'
  | 'USAGE'
  | 'RPC_ERROR';

/** What an error knows about the driver it concerns. */
export interface DriverErrorDetails {
  /** The driver's instance name, as in config. */
  driver?: string;
  /** The executable. */
  path?: string;
  /** The last lines the driver wrote to stderr, oldest first. */
  stderrTail?: readonly string[];
  exitCode?: number | null;
  signal?: string | null;
  cause?: unknown;
  /** What `stderrTail` holds, for the message. Default: "the driver's stderr". */
  tailOf?: string;
}

/**
 * The base of every error driverkit throws, host or driver side. `message` says which
 * driver, what was expected and what came back, then the tail of the driver's stderr;
 * `shortMessage` is the first part alone.
 */
export class DriverkitError extends Error {
  override name = 'DriverkitError';
  readonly code: ErrorCode;
  readonly shortMessage: string;
  readonly driver?: string;
  readonly path?: string;
  readonly stderrTail: readonly string[];
  readonly exitCode?: number | null;
  readonly signal?: string | null;

  constructor(code: ErrorCode, shortMessage: string, details: DriverErrorDetails = {}) {
    super(
      composeMessage(shortMessage, details),
      details.cause === undefined ? undefined : { cause: details.cause },
    );
    this.code = code;
    this.shortMessage = shortMessage;
    this.driver = details.driver;
    this.path = details.path;
    this.stderrTail = details.stderrTail ?? [];
    this.exitCode = details.exitCode;
    this.signal = details.signal;
  }
}

function composeMessage(short: string, d: DriverErrorDetails): string {
  const who =
    d.driver === undefined
      ? ''
      : `driver ${JSON.stringify(d.driver)}${d.path ? ` (${d.path})` : ''}: `;
  const exit =
    d.exitCode != null ? ` (exit code ${d.exitCode})` : d.signal ? ` (killed by ${d.signal})` : '';
  const tail = d.stderrTail?.length
    ? `\n--- last lines of ${d.tailOf ?? "the driver's stderr"} ---\n${d.stderrTail.join('\n')}`
    : '';
  return `${who}${short}${exit}${tail}`;
}

/** Where an RPC error happened, beyond the driver. */
export interface RpcErrorDetails extends DriverErrorDetails {
  /** The gRPC method path, `/package.Service/Method`. */
  method?: string;
}

/**
 * A gRPC call that ended with a status other than OK. Driver handlers throw it to answer
 * with that status; hosts receive it from typed clients, with the caller's stack.
 */
export class RpcError extends DriverkitError {
  override name = 'RpcError';
  /** The gRPC status code. */
  readonly status: StatusCode;
  /** The message the driver sent (without the status and method). */
  readonly details: string;
  readonly method?: string;

  constructor(status: StatusCode, details: string, where: RpcErrorDetails = {}) {
    super(
      'RPC_ERROR',
      `[${statusName(status)}] ${details}${where.method ? ` (${where.method})` : ''}`,
      where,
    );
    this.status = status;
    this.details = details;
    this.method = where.method;
  }

  /** The status as its name, `NOT_FOUND`. */
  get statusName(): StatusName {
    return statusName(this.status);
  }
}
