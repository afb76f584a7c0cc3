// A package index on disk, served by a local HTTP server the test starts (127.0.0.1 only),
// and the CLI run in a project folder.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { spawnCollect } from './helpers.js';
import { BIN, CLI, ROOT } from './paths.js';

/** A temp folder removed when the test ends. */
export function tempDir(prefix: string): string {
  mkdirSync(join(ROOT, '.cache'), { recursive: true });
  const dir = mkdtempSync(join(ROOT, '.cache', `${prefix}-`));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs the shipped CLI in `cwd`, with a private per-user store, no default index and no trusted keys. */
export const cli = (cwd: string, ...args: string[]) => cliWith({}, cwd, ...args);

/** `cli` with extra environment variables. */
export const cliWith = (env: Record<string, string>, cwd: string, ...args: string[]) =>
  spawnCollect(process.execPath, [CLI, ...args], {
    cwd,
    env: {
      ...process.env,
      DRIVERKIT_HOME: join(cwd, '.home'),
      DRIVERKIT_INDEX: '',
      DRIVERKIT_TRUSTED_KEYS: '',
      ...env,
    },
  });

/** Packs the demo driver as `demo@version` into the folder index `index` with `driverkit pack --index`; `extra` are more pack options. */
export async function publish(
  index: string,
  version: string,
  driverkit = '^0.1.0',
  ...extra: string[]
): Promise<void> {
  const r = await cli(
    index,
    'pack',
    BIN.demo,
    '--name',
    'demo',
    '--type',
    'userprovider',
    '--version',
    version,
    '--driverkit',
    driverkit,
    '--index',
    index,
    ...extra,
  );
  if (r.code !== 0) throw new Error(`pack failed: ${r.stderr}`);
}

/** How the server treats one path: `cut` sends half of the body then closes; `delayMs` holds the answer; `trickleMs` sends the body in ten parts this far apart. */
export interface Rule {
  cut?: boolean;
  delayMs?: number;
  trickleMs?: number;
}

/** A local HTTP server of a folder: its base URL, per-path rules, and counts of archive downloads. */
export interface IndexServer {
  url: string;
  rules: Map<string, Rule>;
  downloads: number;
  maxConcurrent: number;
}

/** Serves `folder` over HTTP, or over HTTPS with `tls` (a certificate for `localhost`). */
export async function serveFolder(
  folder: string,
  tls?: { certPem: string; keyPem: string },
): Promise<IndexServer> {
  const state: IndexServer = { url: '', rules: new Map(), downloads: 0, maxConcurrent: 0 };
  let inFlight = 0;
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = decodeURIComponent(new URL(req.url!, 'http://x').pathname);
    const rule = state.rules.get(path) ?? {};
    let body: Buffer;
    try {
      body = readFileSync(join(folder, path));
    } catch {
      res.writeHead(404).end();
      return;
    }
    const archive = path.endsWith('.tar.gz');
    if (archive) state.maxConcurrent = Math.max(state.maxConcurrent, ++inFlight);
    if (rule.delayMs) await new Promise((r) => setTimeout(r, rule.delayMs));
    res.writeHead(200, { 'content-length': body.length });
    if (rule.cut) {
      res.write(body.subarray(0, body.length >> 1), () => res.destroy());
    } else if (rule.trickleMs) {
      const part = Math.ceil(body.length / 10);
      for (let at = 0; at < body.length; at += part) {
        res.write(body.subarray(at, at + part));
        await new Promise((r) => setTimeout(r, rule.trickleMs));
      }
      res.end();
    } else {
      res.end(body);
    }
    if (archive) {
      state.downloads++;
      inFlight--;
    }
  };
  const server = tls
    ? createHttpsServer({ cert: tls.certPem, key: tls.keyPem }, handle)
    : createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  onTestFinished(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as AddressInfo).port;
  state.url = tls ? `https://localhost:${port}/` : `http://127.0.0.1:${port}/`;
  return state;
}

/** The lock file of a project, parsed. */
export const readLockFile = (project: string) =>
  JSON.parse(readFileSync(join(project, 'driverkit.lock'), 'utf8'));

/** Rewrites one field of a manifest in a folder index. */
export function editManifest(
  index: string,
  version: string,
  edit: (m: Record<string, any>) => void,
): void {
  const file = join(index, 'demo', `${version}.json`);
  const m = JSON.parse(readFileSync(file, 'utf8'));
  edit(m);
  writeFileSync(file, JSON.stringify(m));
}
