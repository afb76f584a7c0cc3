// Where a driver that runs as a service is: what `listen` (the driver's side) and
// `address` (the host's) say, as URLs in gRPC's naming style.

/** A parsed service address. `tcp` is plaintext, `tls` TLS; `dns` names replicas by DNS. */
export type ServiceAddress =
  | { scheme: 'unix'; path: string }
  | { scheme: 'tcp' | 'tls' | 'dns'; host: string; port: number };

/** The forms accepted, for error messages. */
export const ADDRESS_FORMS =
  '"unix:///path/to.sock", "tcp://HOST:PORT", "tls://HOST:PORT" or "dns:///NAME:PORT"';

/**
 * Parses `unix:///abs/path`, `tcp://host:port`, `tls://host:port` or `dns:///name:port`
 * (IPv6 hosts in brackets). A reason instead when it is none of them.
 */
export function parseAddress(text: string): ServiceAddress | { error: string } {
  const m = /^([a-z]+):\/\/(.*)$/.exec(text);
  if (!m) return { error: `expected ${ADDRESS_FORMS}, got ${JSON.stringify(text)}` };
  const [, scheme, rest] = m;
  if (scheme === 'unix') {
    if (!rest.startsWith('/'))
      return {
        error: `expected an absolute socket path after unix://, got ${JSON.stringify(text)}`,
      };
    return { scheme, path: rest };
  }
  if (scheme !== 'tcp' && scheme !== 'tls' && scheme !== 'dns')
    return { error: `expected ${ADDRESS_FORMS}, got the scheme ${JSON.stringify(scheme)}` };
  // dns:///name:port has an empty authority (the resolver's); dns://name:port is taken too.
  const hostPort = scheme === 'dns' ? rest.replace(/^\//, '') : rest;
  const hp = /^(\[[0-9a-fA-F:.]+\]|[^:/[\]]+):(\d{1,5})$/.exec(hostPort);
  const port = hp ? Number(hp[2]) : 0;
  // Port 0 is for listening (any free port); dialing it fails on its own.
  if (!hp || port > 65535)
    return { error: `expected HOST:PORT after ${scheme}://, got ${JSON.stringify(text)}` };
  return { scheme, host: hp[1].replace(/^\[|\]$/g, ''), port };
}

/** `host:port` as a dial target writes it (IPv6 in brackets). */
export function hostPort(a: { host: string; port: number }): string {
  return `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}
