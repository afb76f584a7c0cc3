// Why a supervised driver does not serve, and what would change that: the words of its
// `status`, of `driverkit ls` and of the error its callers get, in one place.
import { DriverkitError, RpcError } from '../errors.js';

/** What the supervisor knows of a driver that does not serve. */
export interface NotServing {
  name: string;
  state: 'failed' | 'exited';
  restarts: number;
  /** Its last start's error, if a start failed since it last served. */
  lastError?: unknown;
  /** When its next start is due (epoch ms); none once given up. */
  nextStartAt?: number;
}

/** Why it does not serve, and what the operator can change: a key, a fix, a reload. */
export function whyNotServing(d: NotServing): string {
  if (d.state === 'exited')
    return `exited on its own and its restart policy is "never"; set restart = "on-failure" in [drivers.${d.name}] to have it restarted`;
  const last = d.lastError === undefined ? '' : `: ${startError(d.lastError)}`;
  if (d.nextStartAt === undefined)
    return `given up after ${d.restarts} restarts${last}; fix it, then reload the config (or raise max_restarts in [drivers.${d.name}])`;
  const s = Math.max(0, (d.nextStartAt - Date.now()) / 1000).toFixed(1);
  return `its last start failed${last}; the next start is in ${s} s`;
}

/** A start's error as a reason: a Configure status says it was the driver's own config. */
export function startError(err: unknown): string {
  if (err instanceof RpcError) return `its Configure answered ${err.shortMessage}`;
  if (err instanceof DriverkitError) return err.shortMessage;
  return err instanceof Error ? err.message : String(err);
}
