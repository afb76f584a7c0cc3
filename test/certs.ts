// Test certificates made with openssl: a CA, a server certificate and a client one.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A CA and certificates it signs (server: 127.0.0.1, localhost and `ips`; client), with openssl. */
export function certificates(dir: string, prefix: string, ips: string[] = []) {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const f = (name: string) => join(dir, `${prefix}-${name}`);
  ssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=${prefix} test CA`,
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
  );
  const serverExt = `subjectAltName=${['IP:127.0.0.1', 'DNS:localhost', ...ips.map((a) => `IP:${a}`)].join(',')}`;
  issue(dir, prefix, 'server', serverExt);
  issue(dir, prefix, 'client', 'extendedKeyUsage=clientAuth');
  return {
    ca: f('ca.pem'),
    cert: f('server.pem'),
    key: f('server.key'),
    clientCert: f('client.pem'),
    clientKey: f('client.key'),
  };
}

/** A certificate `name` for `ext`, signed by the CA `certificates(dir, prefix)` made. */
function issue(dir: string, prefix: string, name: string, ext: string) {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const f = (n: string) => join(dir, `${prefix}-${n}`);
  ssl(
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-subj',
    `/CN=${prefix} ${name}`,
    '-keyout',
    f(`${name}.key`),
    '-out',
    f(`${name}.csr`),
  );
  writeFileSync(f(`${name}.ext`), `${ext}\n`);
  ssl(
    'x509',
    '-req',
    '-in',
    f(`${name}.csr`),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    f(`${name}.ext`),
    '-out',
    f(`${name}.pem`),
  );
  return { cert: f(`${name}.pem`), key: f(`${name}.key`) };
}
