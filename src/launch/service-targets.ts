import { lookup } from 'node:dns/promises';
import { ADDRESS_FORMS, hostPort, parseAddress, type ServiceAddress } from '../protocol/address.js';
import { isLoopback } from '../protocol/loopback.js';
import type { ReplicaTarget } from './replicas.js';

/** Where a service's replicas are, resolved again on each call (DNS may change). */
export interface ServiceTargets {
  resolve: () => Promise<ReplicaTarget[]>;
  /** TLS to every replica: a `tls://` address, or `dns:///` with client TLS given. */
  secure: boolean;
}

/**
 * The replicas an `address` names: one per `unix://`, `tcp://` or `tls://` address, one
 * per A/AAAA record of a `dns:///` name. Plaintext off loopback is refused unless `insecure`.
 * Throws an Error whose message says what is wrong.
 */
export function serviceTargets(
  spec: string | readonly string[],
  o: { insecure?: boolean; tls?: object },
): ServiceTargets {
  const list = typeof spec === 'string' ? [spec] : spec;
  if (list.length === 0) throw new Error(`expected ${ADDRESS_FORMS}, or a list of them`);
  const parsed: ServiceAddress[] = list.map((text) => {
    const a = parseAddress(text);
    if ('error' in a) throw new Error(a.error);
    return a;
  });
  const secure =
    parsed.some((a) => a.scheme === 'tls') ||
    (o.tls !== undefined && parsed.some((a) => a.scheme === 'dns'));
  if (secure && parsed.some((a) => a.scheme === 'tcp'))
    throw new Error('tcp:// (plaintext) and TLS replicas in one address list: use tls:// for all');
  const plain = (where: string) => {
    if (!secure && !o.insecure && !isLoopback(where))
      throw new Error(
        `${where} is plaintext off loopback; use tls:// (or dns:/// with tls), or insecure on purpose`,
      );
  };
  const scheme = secure ? 'tls' : 'tcp';
  for (const a of parsed) if (a.scheme === 'tcp') plain(hostPort(a));
  const resolve = async (): Promise<ReplicaTarget[]> => {
    const out: ReplicaTarget[] = [];
    for (const a of parsed) {
      if (a.scheme === 'unix') {
        out.push({ network: 'unix', address: a.path, label: `unix://${a.path}` });
        continue;
      }
      const hosts =
        a.scheme === 'dns' ? (await lookup(a.host, { all: true })).map((r) => r.address) : [a.host];
      for (const host of hosts) {
        const address = hostPort({ host, port: a.port });
        if (a.scheme === 'dns') plain(address);
        out.push({ network: 'tcp', address, label: `${scheme}://${address}` });
      }
    }
    return out;
  };
  return { resolve, secure };
}
