// The typed client a supervisor hands out: each call picks the process that is current when
// it is made (waiting through a restart up to its deadline) and speaks the app protocol
// version that process negotiated, so a client outlives restarts and swaps.
import type { DriverEntry } from '../config/schema.js';
import type { Contract } from '../contracts/contract.js';
import { RpcError } from '../errors.js';
import type { Driver } from '../launch/driver.js';
import type { CallOptions } from '../rpc/call.js';
import { fixDeadline, lazyResponses } from '../rpc/client.js';
import { Status } from '../status.js';

/**
 * The deadline of a call that sets none (config `call_timeout`), so that every call ends.
 * Streamed responses have none by default: they may rightly last as long as the driver,
 * and end by cancel, close, the driver's exit or a stalled connection.
 */
export const DEFAULT_CALL_TIMEOUT_MS = 30_000;

/** `call_timeout`, else 30 s for a call whose responses do not stream. */
export function defaultTimeout(entry: DriverEntry, responseStream: boolean): number | undefined {
  return entry.callTimeout ?? (responseStream ? undefined : DEFAULT_CALL_TIMEOUT_MS);
}

/** What the client needs of its supervisor. */
export interface Supervised {
  readonly entry: DriverEntry;
  /** A ready process, waiting through a restart up to `deadline`. */
  get(deadline?: number): Promise<Driver>;
  /** The client of one version of a contract, over the supervisor's calls. */
  clientOf(contract: Contract, version: number): Record<string, unknown>;
}

/** Every method of every version of `contract`, each sent at the current process's version. */
export function versionedClient(s: Supervised, contract: Contract): Record<string, unknown> {
  const byVersion = new Map<number, Record<string, unknown>>();
  const forVersion = (v: number) => {
    let c = byVersion.get(v);
    if (!c) byVersion.set(v, (c = s.clientOf(contract, v)));
    return c;
  };
  const out: Record<string, unknown> = {};
  for (const service of Object.values(contract.versions)) {
    for (const [key, method] of Object.entries(service.methods)) {
      if (key in out) continue;
      out[key] = (request: unknown, options: CallOptions = {}) => {
        const pick = async () => {
          // The deadline is fixed once, before the wait for a ready process counts against it.
          const fixed = fixDeadline(options, () => defaultTimeout(s.entry, method.responseStream));
          const driver = await s.get(fixed.deadline?.getTime());
          const fn = forVersion(driver.version!)[key] as
            | ((r: unknown, o: CallOptions) => unknown)
            | undefined;
          if (!fn) throw unimplemented(s.entry, contract, key, driver.version!);
          return fn(request, fixed);
        };
        return method.responseStream ? lazyResponses(pick) : pick();
      };
    }
  }
  return out;
}

function unimplemented(
  entry: DriverEntry,
  contract: Contract,
  method: string,
  version: number,
): RpcError {
  return new RpcError(
    Status.UNIMPLEMENTED,
    `${method} is not in version ${version} of "${contract.type}", the version this driver negotiated`,
    { driver: entry.name, path: entry.driver, method },
  );
}
