import { type Contract, contractVersions } from '../contracts/contract.js';
import type { ErrorCode } from '../errors.js';
import type { GetInfoResponse } from '../gen/driverkit/info/v1/info.js';

/**
 * What a host makes of a running driver's DriverInfo: its type must be the contract's, and
 * it must serve `want` (reattach info's version, or the one a service's first replica
 * gave), else the newest version both speak is taken.
 */
export function checkInfo(
  info: GetInfoResponse,
  contract: Contract,
  where: string,
  want?: number,
): { ok: true; version: number } | { ok: false; code: ErrorCode; message: string } {
  if (info.type !== contract.type)
    return {
      ok: false,
      code: 'DRIVER_INCOMPATIBLE',
      message: `expected a driver of type "${contract.type}" at ${where}, got one of type "${info.type}"`,
    };
  const served = info.versions.map((v) => v.version);
  if (want !== undefined)
    return served.includes(want)
      ? { ok: true, version: want }
      : {
          ok: false,
          code: 'VERSION_MISMATCH',
          message: `expected the driver at ${where} to serve app protocol version ${want}; it serves ${served.join(', ') || 'none'}`,
        };
  const common = contractVersions(contract).filter((v) => served.includes(v));
  if (common.length === 0)
    return {
      ok: false,
      code: 'VERSION_MISMATCH',
      message: `no common app protocol version: the host speaks ${contractVersions(contract).join(', ')} of "${contract.type}", the driver at ${where} serves ${served.join(', ') || 'none'}`,
    };
  return { ok: true, version: Math.max(...common) };
}
