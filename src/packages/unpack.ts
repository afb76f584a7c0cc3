import { createReadStream } from 'node:fs';
import { chmod, mkdir, open, symlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { DriverkitError } from '../errors.js';
import { type TarHead, TarParser, type TarSink } from './tar.js';

/** Bounds on what one archive may unpack to: its files' bytes and its entries. */
export interface UnpackLimits {
  maxBytes?: number;
  maxEntries?: number;
}

/** The defaults: 1 GiB of files, 10,000 entries. */
export const UNPACK_LIMITS = { maxBytes: 1024 * 1024 * 1024, maxEntries: 10_000 } as const;

/**
 * Unpacks a .tar.gz (a file path, or its bytes) into `folder` (which must exist and be
 * empty), refusing the whole archive, before writing anything, when an entry would land
 * outside the folder: `..`, an absolute path, a symlink pointing out or any entry through a
 * symlink, a hard link or a device; or when it holds more than `limits` allow
 * (ARCHIVE_UNSAFE). It is read twice, in pieces, so memory stays small whatever it holds.
 * Returns the files and folders unpacked, by relative path.
 */
export async function unpackTarGz(
  archive: Buffer | string,
  folder: string,
  what: string,
  limits: UnpackLimits = {},
): Promise<TarHead[]> {
  const { maxBytes = UNPACK_LIMITS.maxBytes, maxEntries = UNPACK_LIMITS.maxEntries } = limits;
  const refuse = (e: TarHead, why: string): never => {
    throw new DriverkitError(
      'ARCHIVE_UNSAFE',
      `${what}: refused: entry ${JSON.stringify(e.path)} ${why}; nothing was installed`,
    );
  };
  const links = new Map<string, string>();
  const kept: TarHead[] = [];
  let [entries, bytes] = [0, 0];
  await walk(
    archive,
    what,
    async () => {},
    (e) => {
      if (++entries > maxEntries)
        refuse(e, `is one more than the ${maxEntries} entries an archive may hold`);
      bytes += e.size;
      if (bytes > maxBytes) refuse(e, `takes the files past the ${maxBytes}-byte limit`);
      const path = posix.normalize(e.path).replace(/\/$/, '');
      if (isAbsolute(e.path) || e.path.split('/').includes('..') || path.startsWith('..'))
        refuse(e, 'leaves the archive folder');
      if (path === '.' || path === '') return undefined;
      const parts = path.split('/');
      if (parts.some((_, i) => links.has(parts.slice(0, i).join('/'))))
        refuse(e, 'goes through a symbolic link');
      if (e.type === 'hardlink' || e.type === 'other')
        refuse(e, `is a ${e.type === 'other' ? 'special file' : 'hard link'}`);
      if (e.type === 'symlink') links.set(path, e.linkname);
      kept.push({ ...e, path });
      return undefined;
    },
  );
  // Checked once every link is known: a link's meaning depends on links listed after it
  // (`root -> d/d/../..` is harmless text until `d -> .` appears).
  for (const e of kept) {
    if (e.type !== 'symlink') continue;
    if (resolveLink(posix.dirname(e.path), e.linkname, links) === undefined)
      refuse(e, `is a symbolic link out of the archive (to ${JSON.stringify(e.linkname)})`);
  }
  // The second reading writes what the first one checked, entry for entry.
  const toWrite = kept.values();
  const pending: Promise<void>[] = [];
  const last = { write: Promise.resolve() as Promise<unknown> };
  const drain = () => last.write;
  await walk(archive, what, drain, (e) => {
    const path = posix.normalize(e.path).replace(/\/$/, '');
    if (path === '.' || path === '') return undefined;
    const k = toWrite.next().value!;
    const to = join(folder, k.path);
    if (k.type === 'dir') {
      pending.push(mkdir(to, { recursive: true }).then(() => {}));
      return undefined;
    }
    if (k.type === 'symlink') {
      pending.push(mkdir(dirname(to), { recursive: true }).then(() => symlink(k.linkname, to)));
      return undefined;
    }
    return fileSink(to, k.mode, last, pending);
  });
  await Promise.all(pending);
  return kept;
}

/**
 * A file written in the order its pieces come, each write chained on the last; `last`
 * holds the newest, which the reader waits for before it reads on (back-pressure), and
 * `pending` gets the file's end.
 */
function fileSink(
  path: string,
  mode: number,
  last: { write: Promise<unknown> },
  pending: Promise<void>[],
): TarSink {
  let chain = mkdir(dirname(path), { recursive: true }).then(() => open(path, 'wx', 0o600));
  last.write = chain;
  return {
    write(chunk) {
      const copy = Buffer.from(chunk);
      chain = chain.then(async (fd) => {
        await fd.write(copy);
        return fd;
      });
      last.write = chain;
    },
    end() {
      pending.push(
        chain.then(async (fd) => {
          await fd.close();
          await chmod(path, mode & 0o755);
        }),
      );
    },
  };
}

/** Reads a .tar.gz through a TarParser, refusing a gzip or tar that is not well formed. */
async function walk(
  archive: Buffer | string,
  what: string,
  drain: () => Promise<unknown>,
  onEntry: (head: TarHead) => TarSink | undefined,
): Promise<void> {
  const parser = new TarParser(onEntry);
  const source = typeof archive === 'string' ? createReadStream(archive) : Readable.from([archive]);
  const gunzip = source.pipe(createGunzip());
  try {
    for await (const chunk of gunzip) {
      parser.push(chunk as Buffer);
      await drain();
      if (parser.done) break;
    }
    if (!parser.done) parser.finish();
  } catch (err) {
    if (err instanceof DriverkitError) throw err;
    throw new DriverkitError(
      'ARCHIVE_UNSAFE',
      `${what}: not a .tar.gz archive: ${(err as Error).message}`,
      { cause: err },
    );
  } finally {
    gunzip.destroy();
    source.destroy();
  }
}

/**
 * Where `target`, read from folder `from`, lands once every link in the archive is
 * followed, as path parts under the archive's root; undefined when it climbs out (or loops).
 */
function resolveLink(
  from: string,
  target: string,
  links: ReadonlyMap<string, string>,
  depth = 0,
): string[] | undefined {
  if (depth > 40 || isAbsolute(target)) return undefined;
  let at = from === '.' ? [] : from.split('/');
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (at.length === 0) return undefined;
      at.pop();
      continue;
    }
    const link = links.get([...at, part].join('/'));
    if (link === undefined) at.push(part);
    else {
      const next = resolveLink(at.join('/') || '.', link, links, depth + 1);
      if (next === undefined) return undefined;
      at = next;
    }
  }
  return at;
}
