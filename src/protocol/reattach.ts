/**
 * Where a driver that is already running (started by hand, say under a debugger) listens:
 * go-plugin's ReattachConfig, in JSON. There is no handshake on reattach.
 */
export interface ReattachInfo {
  protocol: 'grpc';
  /** The app protocol version it serves. */
  version: number;
  network: 'unix' | 'tcp';
  address: string;
  /** Its process id, for killing it on close when asked. */
  pid?: number;
}

/** The argument that makes an SDK driver, started by hand, print its reattach info. */
export const REATTACH_FLAG = '--driverkit-reattach';

/** The line such a driver prints, for the operator to copy into config or code. */
export function formatReattachLine(info: ReattachInfo): string {
  return `DRIVERKIT_REATTACH=${JSON.stringify(info)}\n`;
}

/** Reads reattach info from its JSON text (with or without the `DRIVERKIT_REATTACH=` prefix) or an object. */
export function parseReattach(
  value: unknown,
): { ok: true; info: ReattachInfo } | { ok: false; reason: string } {
  let v = value;
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v.replace(/^\s*DRIVERKIT_REATTACH=/, ''));
    } catch {
      return { ok: false, reason: 'not JSON' };
    }
  }
  if (typeof v !== 'object' || v === null) return { ok: false, reason: 'expected an object' };
  const r = v as Record<string, unknown>;
  if ((r.protocol ?? 'grpc') !== 'grpc')
    return { ok: false, reason: `protocol must be "grpc", got ${JSON.stringify(r.protocol)}` };
  if (!Number.isInteger(r.version))
    return { ok: false, reason: `version must be an integer, got ${JSON.stringify(r.version)}` };
  if (r.network !== 'unix' && r.network !== 'tcp')
    return {
      ok: false,
      reason: `network must be "unix" or "tcp", got ${JSON.stringify(r.network)}`,
    };
  if (typeof r.address !== 'string' || !r.address)
    return { ok: false, reason: 'address must be a non-empty string' };
  if (r.pid !== undefined && !(Number.isInteger(r.pid) && (r.pid as number) > 0))
    return { ok: false, reason: `pid must be a positive integer, got ${JSON.stringify(r.pid)}` };
  return {
    ok: true,
    info: {
      protocol: 'grpc',
      version: r.version as number,
      network: r.network,
      address: r.address,
      pid: r.pid as number | undefined,
    },
  };
}
