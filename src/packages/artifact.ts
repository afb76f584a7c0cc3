import { createHash } from 'node:crypto';
import { chmod, type FileHandle, mkdir, open, rename, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { DriverkitError } from '../errors.js';
import { type FetchLimits, fetchToFile, type Progress } from './download.js';
import { versionFolder, type Store } from './store.js';
import { type UnpackLimits, unpackTarGz } from './unpack.js';

/** What to download and check. */
export interface ArtifactRequest {
  name: string;
  version: string;
  /** The archive's absolute URL. */
  url: string;
  /** Its expected sha256, checked before anything is unpacked. */
  sha256: string;
  /** The executable inside the archive; default: its only file. */
  entry?: string;
  /** Told before the download starts; what it returns hears how the download goes (the CLI shows it). */
  onDownload?: (url: string) => Progress | void;
  /** Bounds on the download (and its cancellation) and on what it unpacks to. */
  limits?: FetchLimits;
  unpack?: UnpackLimits;
}

/** An unpacked, checked version: the executable relative to the store's root, and its sha256. */
export interface Unpacked {
  binary: string;
  binarySha256: string;
}

/** The lowercase hex sha256 of some bytes. */
export const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/**
 * The sha256 of a file, read a piece at a time (an executable may be as large as an archive
 * unpacks to), or undefined when it cannot be read.
 */
export async function fileSha256(path: string): Promise<string | undefined> {
  const hash = createHash('sha256');
  // One buffer, read into again and again: a gigabyte leaves no garbage behind.
  const piece = Buffer.allocUnsafe(1 << 20);
  let file: FileHandle | undefined;
  try {
    file = await open(path, 'r');
    for (;;) {
      const { bytesRead } = await file.read(piece, 0, piece.length, null);
      if (bytesRead === 0) break;
      hash.update(piece.subarray(0, bytesRead));
    }
  } catch {
    return undefined;
  } finally {
    await file?.close();
  }
  return hash.digest('hex');
}

/**
 * Downloads an artifact, checks its sha256, unpacks it into a temp folder beside its final
 * place and renames it into `<drivers>/<name>/<version>/`. Any failure leaves the store as
 * it was: the previous version keeps working. The caller holds the name's lock.
 */
export async function installArtifact(store: Store, req: ArtifactRequest): Promise<Unpacked> {
  const final = versionFolder(store, req.name, req.version);
  const tmp = join(store.drivers, req.name, `.tmp-${req.version}-${process.pid}`);
  // The archive goes to disk as it arrives, hashed on the way, never whole in memory.
  const archive = join(store.drivers, `.download-${req.name}-${req.version}-${process.pid}`);
  await mkdir(store.drivers, { recursive: true });
  await rm(archive, { force: true });
  try {
    const progress = req.onDownload?.(req.url) ?? undefined;
    const got = (await fetchToFile(new URL(req.url), archive, { ...req.limits, progress })).sha256;
    if (got !== req.sha256) {
      throw new DriverkitError(
        'CHECKSUM_MISMATCH',
        `${req.name} ${req.version}: ${req.url} has sha256 ${got}, but the index says ${req.sha256}; nothing was installed`,
      );
    }
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true });
    const entries = await unpackTarGz(archive, tmp, req.url, req.unpack);
    const files = entries.filter((e) => e.type === 'file').map((e) => e.path);
    const entry = req.entry ?? (files.length === 1 ? files[0] : undefined);
    if (entry === undefined) {
      throw new DriverkitError(
        'PACKAGE_INVALID',
        `${req.url}: the archive holds ${files.length} files, so the artifact must name its "entry" (one of: ${files.slice(0, 5).join(', ')})`,
      );
    }
    if (!files.includes(entry))
      throw new DriverkitError(
        'PACKAGE_INVALID',
        `${req.url}: the artifact's entry ${JSON.stringify(entry)} is not a file in the archive`,
      );
    await chmod(join(tmp, entry), 0o755);
    const binarySha256 = (await fileSha256(join(tmp, entry)))!;
    const old = `${final}.old-${process.pid}`;
    const hadOld = await rename(final, old).then(
      () => true,
      () => false,
    );
    await rename(tmp, final);
    if (hadOld) await rm(old, { recursive: true, force: true });
    return { binary: relative(store.root, join(final, entry)), binarySha256 };
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  } finally {
    await rm(archive, { force: true });
  }
}
