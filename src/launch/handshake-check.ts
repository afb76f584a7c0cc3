import { type Contract, contractVersions } from '../contracts/contract.js';
import type { ErrorCode } from '../errors.js';
import { type Handshake, parseHandshake } from '../protocol/handshake.js';
import { isLoopback } from '../protocol/loopback.js';

/** What the host makes of a driver's first line: a handshake to use, or why not (and the handshake, if one parsed). */
export type HandshakeVerdict =
  | { ok: true; handshake: Handshake }
  | { ok: false; code: ErrorCode; message: string; handshake?: Handshake };

const PARSE_CODES: Record<string, ErrorCode> = {
  invalid: 'HANDSHAKE_INVALID',
  'core-version': 'CORE_VERSION_MISMATCH',
  protocol: 'PROTOCOL_UNSUPPORTED',
  network: 'HANDSHAKE_INVALID',
};

/**
 * Parses the handshake line and applies this host's rules: a common app version, no
 * multiplexing, a certificate exactly when AutoMTLS was asked for (`askedTls`), and a TCP
 * address on loopback unless `allowRemote`.
 */
export function checkHandshake(
  line: string,
  contract: Contract,
  askedTls: boolean,
  allowRemote = false,
): HandshakeVerdict {
  const parsed = parseHandshake(line);
  if (!parsed.ok) {
    const detail =
      parsed.kind === 'invalid' && parsed.reason.startsWith('expected')
        ? parsed.reason
        : `${parsed.reason}, in ${JSON.stringify(line)}`;
    return {
      ok: false,
      code: PARSE_CODES[parsed.kind],
      message: `handshake line not understood: ${detail}`,
    };
  }
  const handshake = parsed.handshake;
  const refuse = (code: ErrorCode, message: string): HandshakeVerdict => ({
    ok: false,
    code,
    message,
    handshake,
  });
  const offered = contractVersions(contract);
  if (!offered.includes(handshake.app)) {
    return refuse(
      'VERSION_MISMATCH',
      `no common app protocol version: the host speaks ${offered.join(', ')} of "${contract.type}", the driver answered ${handshake.app}`,
    );
  }
  const remote = remoteRefusal(handshake, allowRemote);
  if (remote) return refuse('HANDSHAKE_INVALID', remote);
  if (handshake.multiplex)
    return refuse(
      'PROTOCOL_UNSUPPORTED',
      'the driver asked for multiplexed gRPC, which driverkit hosts never request',
    );
  if (handshake.serverCert && !askedTls)
    return refuse(
      'PROTOCOL_UNSUPPORTED',
      'the driver sent a TLS certificate, but this host did not ask for AutoMTLS',
    );
  if (!handshake.serverCert && askedTls) {
    return refuse(
      'PROTOCOL_UNSUPPORTED',
      'AutoMTLS was asked for, but the driver sent no certificate in its handshake; refusing to talk to it in plaintext',
    );
  }
  return { ok: true, handshake };
}

/** Why the host will not dial `target` (a TCP address off loopback without allowRemote), if so. */
export function remoteRefusal(
  target: { network: string; address: string },
  allowRemote = false,
): string | undefined {
  if (target.network !== 'tcp' || allowRemote || isLoopback(target.address)) return undefined;
  return `expected a loopback TCP address (127.0.0.0/8 or [::1]), got ${JSON.stringify(target.address)}: a driver is a local process, and the host dials no other machine for it unless allowRemote (config allow_remote_address) says so`;
}
