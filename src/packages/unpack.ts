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
  const links = new Set<string>();
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
    if (e.type === 'symlink') {
      const target = posix.normalize(posix.join(posix.dirname(path), e.linkname));
      if (isAbsolute(e.linkname) || target === '..' || target.startsWith('../'))
        refuse(e, `is a symbolic link out of the archive (to ${JSON.stringify(e.linkname)})`);
      links.add(path);
    }
    kept.push({ ...e, path });
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
