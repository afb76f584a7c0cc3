import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, posix } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DriverkitError } from '../errors.js';
import { readTar, type TarEntry } from './tar.js';

/**
 * Unpacks a .tar.gz into `folder` (which must exist and be empty), refusing the whole
 * archive, before writing anything, when an entry would land outside the folder: `..`,
 * an absolute path, a symlink pointing out or any entry through a symlink, a hard link or
 * a device (ARCHIVE_UNSAFE). Returns the files and folders unpacked, by relative path.
 */
export async function unpackTarGz(
  archive: Buffer,
  folder: string,
  what: string,
): Promise<TarEntry[]> {
  let entries: TarEntry[];
  try {
    entries = readTar(gunzipSync(archive));
  } catch (err) {
    throw new DriverkitError(
      'ARCHIVE_UNSAFE',
      `${what}: not a .tar.gz archive: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const links = new Map<string, string>();
  const refuse = (e: TarEntry, why: string): never => {
    throw new DriverkitError(
      'ARCHIVE_UNSAFE',
      `${what}: refused: entry ${JSON.stringify(e.path)} ${why}; nothing was installed`,
    );
  };
  const kept: TarEntry[] = [];
  for (const e of entries) {
    const path = posix.normalize(e.path).replace(/\/$/, '');
    if (isAbsolute(e.path) || e.path.split('/').includes('..') || path.startsWith('..'))
      refuse(e, 'leaves the archive folder');
    if (path === '.' || path === '') continue;
    const parts = path.split('/');
    if (parts.some((_, i) => links.has(parts.slice(0, i).join('/'))))
      refuse(e, 'goes through a symbolic link');
    if (e.type === 'hardlink' || e.type === 'other')
      refuse(e, `is a ${e.type === 'other' ? 'special file' : 'hard link'}`);
    if (e.type === 'symlink') links.set(path, e.linkname);
    kept.push({ ...e, path });
  }
  // Checked once every link is known: a link's meaning depends on links listed after it
  // (`root -> d/d/../..` is harmless text until `d -> .` appears).
  for (const e of kept) {
    if (e.type !== 'symlink') continue;
    if (resolveLink(posix.dirname(e.path), e.linkname, links) === undefined)
      refuse(e, `is a symbolic link out of the archive (to ${JSON.stringify(e.linkname)})`);
  }
  for (const e of kept) {
    const to = join(folder, e.path);
    if (e.type === 'dir') {
      await mkdir(to, { recursive: true });
      continue;
    }
    await mkdir(dirname(to), { recursive: true });
    if (e.type === 'symlink') await symlink(e.linkname, to);
    else {
      await writeFile(to, e.data, { flag: 'wx' });
      await chmod(to, e.mode & 0o755);
    }
  }
  return kept;
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
