import { createReadStream } from 'node:fs';
import { chmod, type FileHandle, mkdir, open, symlink } from 'node:fs/promises';
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
    const parts = e.path.split('/');
    if (parts.some((_, i) => i > 0 && links.has(parts.slice(0, i).join('/'))))
      refuse(e, 'goes through a symbolic link');
    if (e.type !== 'symlink') continue;
    if (resolveLink(posix.dirname(e.path), e.linkname, links) === undefined)
      refuse(e, `is a symbolic link out of the archive (to ${JSON.stringify(e.linkname)})`);
  }
  // The second reading writes what the first one checked, entry for entry, one operation
  // after the other: the reader waits for the disk, and the first failure stops it.
  const toWrite = kept.values();
  const disk = new DiskQueue();
  try {
    await walk(
      archive,
      what,
      () => disk.idle(),
      (e) => {
        const path = posix.normalize(e.path).replace(/\/$/, '');
        if (path === '.' || path === '') return undefined;
        const k = toWrite.next().value!;
        const to = join(folder, k.path);
        if (k.type === 'dir') disk.run(() => mkdir(to, { recursive: true }));
        else if (k.type === 'symlink')
          disk.run(async () => {
            await mkdir(dirname(to), { recursive: true });
            await symlink(k.linkname, to);
          });
        else return fileSink(to, k.mode, disk);
        return undefined;
      },
    );
    await disk.idle();
  } finally {
    await disk.closeAll();
  }
  return kept;
}

/**
 * Disk operations run one after the other. A failure skips the rest and is what `idle`
 * throws; no operation's failure goes unhandled, and `closeAll` closes files left open.
 */
class DiskQueue {
  #tail: Promise<void> = Promise.resolve();
  #failed: { err: unknown } | undefined;
  readonly open = new Set<FileHandle>();

  run(op: () => Promise<unknown>): void {
    this.#tail = this.#tail
      .then(async () => {
        if (!this.#failed) await op();
      })
      .catch((err: unknown) => void (this.#failed ??= { err }));
  }

  async idle(): Promise<void> {
    await this.#tail;
    if (this.#failed) throw this.#failed.err;
  }

  async closeAll(): Promise<void> {
    await this.#tail;
    await Promise.all([...this.open].map((fd) => fd.close().catch(() => {})));
  }
}

/** A file written through the disk queue, in the order its pieces come. */
function fileSink(path: string, mode: number, disk: DiskQueue): TarSink {
  let fd: FileHandle | undefined;
  disk.run(async () => {
    await mkdir(dirname(path), { recursive: true });
    fd = await open(path, 'wx', 0o600);
    disk.open.add(fd);
  });
  return {
    write(chunk) {
      const copy = Buffer.from(chunk);
      disk.run(() => fd!.write(copy));
    },
    end() {
      disk.run(async () => {
        disk.open.delete(fd!);
        await fd!.close();
        await chmod(path, mode & 0o755);
      });
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
  let diskError: { err: unknown } | undefined;
  try {
    for await (const chunk of gunzip) {
      parser.push(chunk as Buffer);
      await drain().catch((err: unknown) => {
        diskError = { err };
        throw err;
      });
      if (parser.done) break;
    }
    if (!parser.done) parser.finish();
  } catch (err) {
    // The disk's own errors (ENOSPC) are what they are, not a malformed archive.
    if (err instanceof DriverkitError || diskError) throw err;
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
