import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DriverkitError } from '../errors.js';
import { VERSION } from '../version.js';
import { sha256 } from './artifact.js';
import { parsePackageManifest, type PackageManifest } from './manifest.js';
import { signManifest } from './signature.js';
import { writeTar, type TarEntry } from './tar.js';

/** What to pack: a built executable, or a folder holding one (named by `entry`). */
export interface PackRequest {
  /** An executable file, or a folder to pack whole. */
  input: string;
  name: string;
  version: string;
  type: string;
  /** Default: `^` this driverkit's version. */
  driverkit?: string;
  /** The executable inside a folder, relative to it; required for a folder. */
  entry?: string;
  /** Where the archive will be served from; default: its file name, relative to the manifest. */
  url?: string;
  description?: string;
  license?: string;
  homepage?: string;
  /** Default: this machine's `process.platform` / `process.arch`. */
  os?: string;
  arch?: string;
  /** An ed25519 private key (PEM) to sign the manifest with; default: unsigned. */
  signingKey?: string | Buffer;
}

/** The archive's bytes, its file name (`<name>-<version>-<os>-<arch>.tar.gz`) and its validated manifest. */
export interface Packed {
  archive: Buffer;
  fileName: string;
  manifest: PackageManifest;
}

/** Turns a driver into a .tar.gz plus its manifest, sha256 filled in, ready for an index. */
export async function packDriver(req: PackRequest): Promise<Packed> {
  const { input, os = process.platform, arch = process.arch } = req;
  const info = await stat(input).catch(() => undefined);
  if (!info) throw new DriverkitError('DRIVER_NOT_FOUND', `nothing to pack at ${input}`);
  let entries: Pick<TarEntry, 'path' | 'type' | 'mode' | 'data'>[];
  let entry: string | undefined;
  if (info.isDirectory()) {
    if (!req.entry)
      throw new DriverkitError('USAGE', `${input} is a folder: name its executable with --entry`);
    entries = await folderEntries(input, input);
    if (!entries.some((e) => e.path === req.entry && e.type === 'file'))
      throw new DriverkitError(
        'PACKAGE_INVALID',
        `--entry ${JSON.stringify(req.entry)} is not a file in ${input}`,
      );
    entry = req.entry;
  } else {
    entries = [{ path: req.name, type: 'file', mode: 0o755, data: await readFile(input) }];
  }
  const archive = gzipSync(writeTar(entries), { level: 9 });
  const fileName = `${req.name}-${req.version}-${os}-${arch}.tar.gz`;
  const artifact = {
    os,
    arch,
    url: req.url ?? fileName,
    sha256: sha256(archive),
    ...(entry ? { entry } : {}),
  };
  const raw = {
    name: req.name,
    type: req.type,
    version: req.version,
    driverkit: req.driverkit ?? `^${VERSION}`,
    ...(req.description ? { description: req.description } : {}),
    ...(req.license ? { license: req.license } : {}),
    ...(req.homepage ? { homepage: req.homepage } : {}),
    artifacts: [artifact],
  };
  const manifest = parsePackageManifest(raw, `the manifest for ${basename(input)}`);
  return {
    archive,
    fileName,
    manifest: req.signingKey ? signManifest(manifest, req.signingKey) : manifest,
  };
}

async function folderEntries(
  root: string,
  dir: string,
): Promise<Pick<TarEntry, 'path' | 'type' | 'mode' | 'data'>[]> {
  const out: Pick<TarEntry, 'path' | 'type' | 'mode' | 'data'>[] = [];
  for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    const p = join(dir, e.name);
    const path = relative(root, p).split('\\').join('/');
    if (e.isDirectory())
      out.push(
        { path, type: 'dir', mode: 0o755, data: Buffer.alloc(0) },
        ...(await folderEntries(root, p)),
      );
    else if (e.isFile())
      out.push({
        path,
        type: 'file',
        mode: (await stat(p)).mode & 0o111 ? 0o755 : 0o644,
        data: await readFile(p),
      });
    else throw new DriverkitError('USAGE', `${p}: only files and folders can be packed (no links)`);
  }
  return out;
}
