// Every fetch of an install is bounded (bytes after decoding, time, time without a byte)
// and cancellable, and a cut install leaves no temp file: what a hostile or broken index
// would otherwise use to fill memory or hang `driverkit serve`.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { describe, expect, it, onTestFinished } from 'vitest';
import { DriverkitError } from '../src/errors.js';
import { installPackage } from '../src/packages/install.js';
import { projectStore } from '../src/packages/store.js';
import { openHost } from '../src/host/host.js';
import { captureLogger, expectRejection } from './helpers.js';
import { editManifest, publish, tempDir } from './packages-helpers.js';

/**
 * An index served from `folder`, except what `special` answers itself (by path); it emits
 * `asked` with each path requested.
 */
async function indexServer(
  folder: string,
  special: Record<string, (res: ServerResponse) => void> = {},
) {
  const server = createServer((req, res) => {
    const path = new URL(req.url!, 'http://x').pathname;
    server.emit('asked', path);
    if (special[path]) return special[path](res);
    try {
      res.end(readFileSync(join(folder, path)));
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  onTestFinished(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

/** Sends headers and one byte, then nothing more, until the client gives up. */
const stall = (res: ServerResponse) => {
  res.writeHead(200, { 'content-length': '1000000' });
  res.write('x');
};

/** The archive's file name of `demo@1.0.0` in an index made by publish. */
const archiveName = (index: string) =>
  JSON.parse(readFileSync(join(index, 'demo', '1.0.0.json'), 'utf8')).artifacts[0].url;

/** What the project's store holds besides lock files: temp files left behind would show here. */
const leftovers = (project: string) => {
  const drivers = projectStore(project).drivers;
  return existsSync(drivers) ? readdirSync(drivers).filter((f) => !f.endsWith('.lock')) : [];
};

describe('bounded downloads', () => {
  it.each([
    { what: '/dev/zero', url: () => 'file:///dev/zero' },
    {
      what: 'a FIFO',
      url: (dir: string) => {
        execFileSync('mkfifo', [join(dir, 'fifo')]);
        return `file://${join(dir, 'fifo')}`;
      },
    },
  ])('an artifact URL naming $what is refused before it is read', async ({ url }) => {
    const [index, project] = [tempDir('idx'), tempDir('proj')];
    await publish(index, '1.0.0');
    const target = url(index);
    editManifest(index, '1.0.0', (m) => (m.artifacts[0].url = target));
    const err = await expectRejection(
      installPackage({ store: projectStore(project), name: 'demo', indexes: [index] }),
      DriverkitError,
    );
    expect(err.code).toBe('DOWNLOAD_FAILED');
    expect(err.message).toBe(`could not download ${target}: not a regular file`);
    expect(leftovers(project)).toEqual([]);
  });

  it('a gzip-encoded versions.json is cut at 4 MiB of decoded JSON, however far it inflates', async () => {
    const index = tempDir('idx');
    const { url } = await indexServer(index, {
      // Spaces, gzip-encoded on the fly: about 1 MiB on the wire would be 1 GiB decoded.
      '/demo/versions.json': (res) => {
        res.writeHead(200, { 'content-encoding': 'gzip' });
        const gzip = createGzip();
        gzip.pipe(res);
        const spaces = Buffer.alloc(1 << 20, 0x20);
        let sent = 0;
        const pump = () => {
          while (sent < 1024 && !res.destroyed && gzip.write(spaces)) sent++;
          if (sent < 1024 && !res.destroyed) gzip.once('drain', pump);
          else gzip.end();
        };
        res.once('close', () => gzip.destroy());
        pump();
      },
    });
    const err = await expectRejection(
      installPackage({ store: projectStore(tempDir('proj')), name: 'demo', indexes: [url] }),
      DriverkitError,
    );
    expect(err.message).toBe(
      `could not download ${url}demo/versions.json: larger than the 4194304-byte limit`,
    );
  });

  it('a download that stops sending ends after the stall time, and leaves no temp file', async () => {
    const [index, project] = [tempDir('idx'), tempDir('proj')];
    await publish(index, '1.0.0');
    const { url } = await indexServer(index, { [`/demo/${archiveName(index)}`]: stall });
    const err = await expectRejection(
      installPackage({
        store: projectStore(project),
        name: 'demo',
        indexes: [url],
        downloadLimits: { stallMs: 300 },
      }),
      DriverkitError,
    );
    expect(err.message).toBe(
      `could not download ${url}demo/${archiveName(index)}: no data for 0.3 s`,
    );
    expect(leftovers(project)).toEqual([]);
  });

  it('a download larger than max_download_size is cut there', async () => {
    const [index, project] = [tempDir('idx'), tempDir('proj')];
    await publish(index, '1.0.0');
    const { url } = await indexServer(index);
    const err = await expectRejection(
      installPackage({
        store: projectStore(project),
        name: 'demo',
        indexes: [url],
        downloadLimits: { maxBytes: 1000 },
      }),
      DriverkitError,
    );
    expect(err.message).toMatch(/larger than the 1000-byte limit \(content-length \d+\)$/);
    expect(leftovers(project)).toEqual([]);
  });
});

describe("a config's first-use install", () => {
  const config = (url: string, startTimeout = '60s') => ({
    indexes: [url],
    drivers: {
      users: { type: 'userprovider', package: 'demo', start_timeout: startTimeout },
    },
  });

  it('is ended by start_timeout, clearly, with nothing left behind', async () => {
    const [index, project] = [tempDir('idx'), tempDir('proj')];
    await publish(index, '1.0.0');
    const { url } = await indexServer(index, { [`/demo/${archiveName(index)}`]: stall });
    const host = await openHost({
      config: config(url, '1s'),
      dir: project,
      logger: captureLogger(),
    });
    onTestFinished(() => host.close());
    const err = await expectRejection(host.driver('users'), DriverkitError);
    expect(err.message).toContain('cancelled: start_timeout (1000 ms) passed during its install');
    expect(leftovers(project)).toEqual([]);
  });

  it("is cancelled by the host's close(), at once", async () => {
    const [index, project] = [tempDir('idx'), tempDir('proj')];
    await publish(index, '1.0.0');
    const archive = `/demo/${archiveName(index)}`;
    const { server, url } = await indexServer(index, { [archive]: stall });
    const host = await openHost({
      config: config(url),
      dir: project,
      logger: captureLogger(),
    });
    const asked = new Promise<void>((resolve) =>
      server.on('asked', (path: string) => path === archive && resolve()),
    );
    const starting = expectRejection(host.driver('users'), DriverkitError);
    await asked;
    await host.close();
    expect((await starting).message).toContain('cancelled: the host is closing');
    expect(leftovers(project)).toEqual([]);
  });
});
