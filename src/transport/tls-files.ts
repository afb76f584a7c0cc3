// Server certificates read from files, and read again as the files change (rotation): one
// rule for drivers run as services and for the gateway.
import { type FSWatcher, readFileSync, watch } from 'node:fs';
import { dirname } from 'node:path';
import type { GrpcServer, ServerTls } from './server.js';

/** Where a server's TLS comes from: its certificate and key, and a client CA for mTLS. */
export interface TlsFiles {
  cert: string;
  key: string;
  clientCa?: string;
}

/** Reads the files; the error names the file that could not be read. */
export function readTlsFiles(files: TlsFiles): ServerTls {
  const read = (what: string, path: string) => {
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw new Error(`cannot read the TLS ${what} ${path}: ${(err as Error).message}`);
    }
  };
  return {
    certPem: read('certificate', files.cert),
    keyPem: read('key', files.key),
    peerCertPem: files.clientCa ? read('client CA', files.clientCa) : undefined,
  };
}

/**
 * Reads the certificate files again when their folders change (cert-manager and Kubernetes
 * swap a symbolic link), 100 ms after the last change: new connections get the new ones,
 * open ones keep theirs. A set that does not load is reported and the last good one kept.
 * Returns how to stop watching.
 */
export function watchTlsFiles(
  files: TlsFiles,
  server: GrpcServer,
  report: (err?: Error) => void,
): () => void {
  let timer: NodeJS.Timeout | undefined;
  const reload = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      try {
        server.setTls(readTlsFiles(files));
      } catch (err) {
        return report(err as Error);
      }
      report();
    }, 100);
    timer.unref();
  };
  const dirs = new Set(
    [files.cert, files.key, files.clientCa].filter(Boolean).map((f) => dirname(f!)),
  );
  const watchers: FSWatcher[] = [...dirs].map((dir) => watch(dir, reload).unref());
  return () => {
    clearTimeout(timer);
    for (const w of watchers) w.close();
  };
}
