import type { CallError } from '../rpc/call.js';
import { RpcError } from '../errors.js';
import { Status, type StatusCode } from '../status.js';
import type { DriverExit } from './options.js';

/** What the host knows of the driver when a call fails. */
export interface CallFailureContext {
  driver: string;
  path: string;
  /** The driver's exit, if it has exited. */
  exit?: DriverExit;
  /** True when the exit was the driver's own doing, not a close() by the host. */
  exitedOnItsOwn: boolean;
  stderrTail: string[];
}

/**
 * The caller's error for a failed call. A call that failed because the driver died says so,
 * with its exit and stderr tail; so does an UNAVAILABLE the transport made up, since that
 * is how a dying driver first shows. A status the driver sent is passed on as it is.
 */
export function callFailure(err: CallError, method: string, at: CallFailureContext): RpcError {
  const { exitedOnItsOwn, exit } = at;
  const rpc = new RpcError(
    err.code as StatusCode,
    exitedOnItsOwn ? `${err.details}; the driver process has exited` : err.details,
    {
      driver: at.driver,
      path: at.path,
      method,
      cause: err,
      ...(exitedOnItsOwn || (err.code === Status.UNAVAILABLE && !err.fromPeer)
        ? { stderrTail: at.stderrTail, exitCode: exit?.code, signal: exit?.signal }
        : {}),
    },
  );
  return withCallerStack(rpc, err);
}

/** A failed call of a server that is no driver of ours (the gateway, say): its status and method. */
export function rpcErrorOf(err: CallError, method: string): RpcError {
  return withCallerStack(
    new RpcError(err.code as StatusCode, err.details, { method, cause: err }),
    err,
  );
}

/** Keeps the transport's "for call at" stack: it points at the caller, not at the transport. */
function withCallerStack(rpc: RpcError, err: CallError): RpcError {
  const stackAt = err.stack?.indexOf('for call at');
  if (stackAt !== undefined && stackAt >= 0)
    rpc.stack = `${rpc.name}: ${rpc.message}\n${err.stack!.slice(stackAt)}`;
  return rpc;
}
