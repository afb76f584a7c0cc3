/** The go-plugin core protocol version; every go-plugin release so far speaks 1. */
export const CORE_PROTOCOL_VERSION = 1;

/** What the handshake line describes: where and how to dial the driver. */
export interface Handshake {
  core: number;
  app: number;
  network: 'unix' | 'tcp';
  address: string;
  protocol: 'grpc';
  /** AutoMTLS server certificate, DER as unpadded base64; absent when not used. */
  serverCert?: string;
  /** 7th field: the driver agreed to multiplex (only when the host asked). */
  multiplex?: boolean;
}

/** The shape a handshake line must have, for error messages. */
export const HANDSHAKE_SHAPE = 'CORE|APP|NETWORK|ADDR|PROTOCOL[|CERT]';

/**
 * Formats the handshake line a driver prints. go-plugin prints six fields even without a
 * certificate, so the line ends with `|`; we do the same so Go hosts see what they expect.
 */
export function formatHandshake(
  h: Omit<Handshake, 'core' | 'protocol'> & { core?: number },
): string {
  const fields = [
    h.core ?? CORE_PROTOCOL_VERSION,
    h.app,
    h.network,
    h.address,
    'grpc',
    h.serverCert ?? '',
  ];
  return `${fields.join('|')}\n`;
}

export type ParseResult =
  | { ok: true; handshake: Handshake }
  | { ok: false; kind: 'invalid' | 'core-version' | 'protocol' | 'network'; reason: string };

/** go-plugin ignores a cert field of 50 characters or fewer; we apply the same threshold. */
const MIN_CERT_LENGTH = 50;

/**
 * Parses the first stdout line of a driver by go-plugin's rules: 4 to 7 `|`-separated
 * fields, surrounding white space trimmed; core version 1; network `unix` or `tcp`; protocol
 * `grpc` (a missing protocol means go's net/rpc, which driverkit cannot speak).
 */
export function parseHandshake(line: string): ParseResult {
  const trimmed = line.trim();
  const parts = trimmed.split('|');
  const invalid = (reason: string): ParseResult => ({ ok: false, kind: 'invalid', reason });
  if (parts.length < 4 || parts.length > 7) {
    return invalid(`expected ${HANDSHAKE_SHAPE}, got ${JSON.stringify(trimmed)}`);
  }
  const [coreField, appField, network, address, protocol, cert, mux] = parts;
  if (!/^\d+$/.test(coreField))
    return invalid(`core protocol version is not a number: ${JSON.stringify(coreField)}`);
  const core = Number(coreField);
  if (core !== CORE_PROTOCOL_VERSION) {
    return {
      ok: false,
      kind: 'core-version',
      reason: `incompatible core protocol version: driver speaks ${core}, host speaks ${CORE_PROTOCOL_VERSION}`,
    };
  }
  if (!/^\d+$/.test(appField))
    return invalid(`app protocol version is not a number: ${JSON.stringify(appField)}`);
  if (network !== 'unix' && network !== 'tcp') {
    return {
      ok: false,
      kind: 'network',
      reason: `unknown network ${JSON.stringify(network)}: expected "unix" or "tcp"`,
    };
  }
  const addrProblem = network === 'unix' ? checkUnixAddress(address) : checkTcpAddress(address);
  if (addrProblem) return invalid(addrProblem);
  if (protocol === undefined) {
    return {
      ok: false,
      kind: 'protocol',
      reason: 'driver speaks go net/rpc (no protocol field); driverkit speaks only "grpc"',
    };
  }
  if (protocol !== 'grpc') {
    return {
      ok: false,
      kind: 'protocol',
      reason: `unsupported protocol ${JSON.stringify(protocol)}: driverkit speaks only "grpc"`,
    };
  }
  if (mux !== undefined && mux !== 'true' && mux !== 'false') {
    return invalid(`multiplexing field must be "true" or "false", got ${JSON.stringify(mux)}`);
  }
  const handshake: Handshake = { core, app: Number(appField), network, address, protocol: 'grpc' };
  if (cert !== undefined && cert.length > MIN_CERT_LENGTH) {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(cert)) return invalid('server certificate is not base64');
    handshake.serverCert = cert;
  }
  if (mux !== undefined) handshake.multiplex = mux === 'true';
  return { ok: true, handshake };
}

function checkUnixAddress(address: string): string | undefined {
  if (address === '') return 'empty unix socket path';
  return undefined;
}

function checkTcpAddress(address: string): string | undefined {
  const m = /^(.+):(\d{1,5})$/.exec(address);
  if (!m || Number(m[2]) > 65535 || Number(m[2]) === 0)
    return `tcp address must be HOST:PORT, got ${JSON.stringify(address)}`;
  return undefined;
}
