import { readFileSync } from 'node:fs';
import type { ClientTls } from '../transport/client.js';
import type { ClientTlsFiles } from './options.js';

/** Reads the PEM files at each call: a new connection gets certificates rotated meanwhile. */
export function clientTls(files: ClientTlsFiles): () => ClientTls {
  const read = (path: string | undefined) => (path ? readFileSync(path, 'utf8') : undefined);
  return () => ({
    caPem: read(files.caFile),
    certPem: read(files.certFile),
    keyPem: read(files.keyFile),
    serverName: files.serverName,
  });
}
