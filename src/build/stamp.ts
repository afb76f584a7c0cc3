import { createHash } from 'node:crypto';
import { readFile, readdir, rename, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

/** One input file as last built: size, mtime and content hash. */
type InputRecord = [size: number, mtimeMs: number, sha256: string];

/**
 * What the last successful build of a driver was made from. The check is cheap: a stat per
 * input, and a hash only for a file whose size or mtime moved.
 */
export interface Stamp {
  /** Toolchain, its version, the build command, the entry: anything else that shapes the binary. */
  key: string;
  inputs: Record<string, InputRecord>;
  /** For toolchains that take a whole folder: its file list, so an added file rebuilds too. */
  listing?: string[];
  binary: [size: number, mtimeMs: number];
}

async function sha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

export async function readStamp(path: string): Promise<Stamp | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Stamp;
  } catch {
    return undefined;
  }
}

export async function writeStamp(path: string, stamp: Stamp): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify(stamp));
  await rename(tmp, path);
}

/** Records the inputs and the binary as they are now. */
export async function makeStamp(
  key: string,
  inputs: readonly string[],
  binary: string,
  listing?: string[],
): Promise<Stamp> {
  const records: Record<string, InputRecord> = {};
  await Promise.all(
    inputs.map(async (p) => {
      const s = await stat(p);
      records[p] = [s.size, s.mtimeMs, await sha256(p)];
    }),
  );
  const b = await stat(binary);
  return { key, inputs: records, listing, binary: [b.size, b.mtimeMs] };
}

/** True when the binary is the one the stamp describes and no input changed. */
export async function isFresh(
  stamp: Stamp | undefined,
  key: string,
  binary: string,
  listing?: string[],
): Promise<boolean> {
  if (!stamp || stamp.key !== key) return false;
  if (listing && JSON.stringify(listing) !== JSON.stringify(stamp.listing)) return false;
  try {
    const b = await stat(binary);
    if (b.size !== stamp.binary[0] || b.mtimeMs !== stamp.binary[1]) return false;
    const checks = Object.entries(stamp.inputs).map(async ([path, [size, mtimeMs, hash]]) => {
      const s = await stat(path);
      if (s.size === size && s.mtimeMs === mtimeMs) return true;
      // Touched (a checkout, a save without edits): only different content counts.
      return s.size === size && (await sha256(path)) === hash;
    });
    return (await Promise.all(checks)).every(Boolean);
  } catch {
    return false;
  }
}

const SKIP = new Set(['node_modules', '.git', 'vendor']);

/**
 * Every file below `folder` (absolute, sorted), skipping hidden entries and dependency
 * folders. A symlink to a file counts: the stamp records its target (stat follows it), so
 * changing the target rebuilds.
 */
export async function listFiles(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  const paths = entries
    .filter((e) => e.isFile() || e.isSymbolicLink())
    .map((e) => join(e.parentPath, e.name))
    .filter(
      (p) =>
        !relative(folder, p)
          .split('/')
          .some((part) => part.startsWith('.') || SKIP.has(part)),
    );
  const files = await Promise.all(
    paths.map(async (p) =>
      (await stat(p).then(
        (s) => s.isFile(),
        () => false,
      ))
        ? p
        : undefined,
    ),
  );
  return files.filter((p): p is string => p !== undefined).sort();
}
