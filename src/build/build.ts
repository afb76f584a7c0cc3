import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { pidAlive } from '../pid.js';
import { basename, dirname, join } from 'node:path';
import { DriverkitError } from '../errors.js';
import { withLock } from './lock.js';
import { checkCompatible, readManifest } from './manifest.js';
import { tailLines } from './output.js';
import { isFresh, makeStamp, readStamp, writeStamp } from './stamp.js';
import { detectToolchain } from './toolchains.js';

/** What to build. */
export interface BuildRequest {
  /** The source folder. */
  folder: string;
  /** The driver type; the binary goes to `<binDir>/<type>/<basename(folder)>`. */
  type: string;
  binDir: string;
  /** The instance name, for error messages. Default: the folder's base name. */
  driver?: string;
  /** Called before a real (not cached) build starts, for progress output. */
  onBuild?: (folder: string) => void;
  /** Stops the build (its tool's process group is killed); the previous binary is kept. */
  signal?: AbortSignal;
}

/** A built (or up-to-date) driver. */
export interface BuildResult {
  binary: string;
  /** True when the binary was up to date and nothing was built. */
  cached: boolean;
  toolchain: 'node' | 'go' | 'custom';
}

/** Whether a source folder's binary is up to date, without building. */
export async function buildStatus(
  req: Pick<BuildRequest, 'folder' | 'type' | 'binDir'>,
): Promise<'built' | 'stale' | 'not built'> {
  const binary = binaryPath(req.binDir, req.type, req.folder);
  const stamp = await readStamp(join(dirname(binary), `.${basename(binary)}.stamp.json`));
  if (!stamp) return 'not built';
  try {
    const toolchain = await detectToolchain(req.folder, await readManifest(req.folder));
    const [key, listing] = await Promise.all([toolchain.key(), toolchain.listing()]);
    return (await isFresh(stamp, key, binary, listing)) ? 'built' : 'stale';
  } catch {
    return 'stale';
  }
}

/** The files the last build of a source folder read (its stamp's inputs); none before one. */
export async function builtInputs(
  req: Pick<BuildRequest, 'folder' | 'type' | 'binDir'>,
): Promise<string[]> {
  const binary = binaryPath(req.binDir, req.type, req.folder);
  const stamp = await readStamp(join(dirname(binary), `.${basename(binary)}.stamp.json`));
  return stamp ? Object.keys(stamp.inputs) : [];
}

/** Where a source folder's binary goes. */
export function binaryPath(binDir: string, type: string, folder: string): string {
  return join(binDir, type, basename(folder));
}

/**
 * Builds a driver's source folder into `<binDir>/<type>/<name>` unless the binary is up to
 * date. Builds of one binary are serialised by a lock file; the binary is replaced by a
 * rename, so it is never half-written; a failed build leaves the previous binary in place.
 */
export async function buildDriver(req: BuildRequest): Promise<BuildResult> {
  const binary = binaryPath(req.binDir, req.type, req.folder);
  const who = { driver: req.driver ?? basename(req.folder), path: req.folder };
  const manifest = await readManifest(req.folder);
  checkCompatible(manifest, req.type, who);
  const toolchain = await detectToolchain(req.folder, manifest).catch((err) => {
    throw new DriverkitError('BUILD_FAILED', `cannot build: ${err.message}`, who);
  });
  const stampPath = join(dirname(binary), `.${basename(binary)}.stamp.json`);
  const [key, listing] = await Promise.all([toolchain.key(), toolchain.listing()]);
  if (await isFresh(await readStamp(stampPath), key, binary, listing))
    return { binary, cached: true, toolchain: toolchain.name };

  await mkdir(dirname(binary), { recursive: true });
  return withLock(`${binary}.lock`, async () => {
    // Another process may have built it while we waited for the lock.
    if (await isFresh(await readStamp(stampPath), key, binary, listing))
      return { binary, cached: true, toolchain: toolchain.name };
    req.onBuild?.(req.folder);
    await removeStaleTemps(binary);
    const tmp = join(dirname(binary), `.${basename(binary)}.build-${process.pid}`);
    try {
      const inputs = await toolchain.build(tmp, req.signal);
      await rename(tmp, binary);
      await writeStamp(stampPath, await makeStamp(key, inputs, binary, listing));
    } catch (err) {
      await rm(tmp, { force: true });
      throw new DriverkitError(
        'BUILD_FAILED',
        `${toolchain.name} build failed: ${(err as Error).message}; the previous binary, if any, is kept`,
        {
          ...who,
          stderrTail: tailLines(buildOutput(err)),
          tailOf: 'the build output',
          cause: err,
        },
      );
    }
    return { binary, cached: false, toolchain: toolchain.name };
  });
}

/** Temp files of builds whose process was killed (their pid is gone): nothing else removes them. */
async function removeStaleTemps(binary: string): Promise<void> {
  const prefix = `.${basename(binary)}.build-`;
  for (const name of await readdir(dirname(binary)).catch(() => [] as string[])) {
    const pid = Number(name.slice(prefix.length));
    if (name.startsWith(prefix) && pid > 0 && !pidAlive(pid))
      await rm(join(dirname(binary), name), { force: true });
  }
}

/** The compiler output of a failed build: esbuild's messages, or a tool's combined output. */
function buildOutput(err: unknown): string {
  const e = err as {
    errors?: Array<{
      text: string;
      location?: { file: string; line: number; column: number } | null;
    }>;
    output?: string;
  };
  if (Array.isArray(e.errors)) {
    return e.errors
      .map((m) =>
        m.location
          ? `${m.location.file}:${m.location.line}:${m.location.column}: ${m.text}`
          : m.text,
      )
      .join('\n');
  }
  return e.output ?? String(err);
}
