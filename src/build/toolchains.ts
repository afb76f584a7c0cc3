import { access, chmod, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { version as esbuildVersion } from 'esbuild';
import { VERSION } from '../version.js';
import type { Manifest } from './manifest.js';
import { runTool } from './output.js';
import { listFiles } from './stamp.js';
import { bundleTypeScript } from './typescript.js';

/** How a folder is built, and what its cache key and inputs are. */
export interface Toolchain {
  name: 'node' | 'go' | 'custom';
  /** Everything besides input files that shapes the binary. */
  key(): Promise<string>;
  /** The folder's file list when every file is an input (so added files count); else undefined. */
  listing(): Promise<string[] | undefined>;
  /** Builds into `out` and returns the input files. */
  build(out: string, signal?: AbortSignal): Promise<string[]>;
}

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );
const NODE_ENTRIES = ['main.ts', 'index.ts', 'main.mts', 'main.js', 'index.js', 'main.mjs'];
const MANIFEST_FILES = ['driverkit.json', 'package.json', 'package-lock.json'];

let goVersion: Promise<string> | undefined;

/** Picks the toolchain: the manifest's command, else Go (go.mod or *.go), else TypeScript/JavaScript. */
export async function detectToolchain(folder: string, manifest: Manifest): Promise<Toolchain> {
  // Files outside the folder that the manifest says the build reads count as inputs too.
  const extra = async () =>
    (await Promise.all((manifest.inputs ?? []).map((p) => expand(resolve(folder, p))))).flat();
  const folderWide = async () => [...(await listFiles(folder)), ...(await extra())];
  const manifestInputs = async () => {
    const found = await Promise.all(
      MANIFEST_FILES.map(async (f) =>
        (await exists(join(folder, f))) ? join(folder, f) : undefined,
      ),
    );
    return found.filter((f): f is string => f !== undefined);
  };
  if (manifest.build) {
    const command = manifest.build;
    return {
      name: 'custom',
      key: async () => JSON.stringify({ custom: command, driverkit: VERSION }),
      listing: folderWide,
      build: async (out, signal) => {
        await runTool(command, [], { cwd: folder, env: { OUT: out }, shell: true, signal });
        if (!(await exists(out)))
          throw Object.assign(new Error(`the build command did not write "$OUT"`), {
            output: `command: ${command}`,
          });
        await chmod(out, 0o755);
        return folderWide();
      },
    };
  }
  const files = await listFiles(folder);
  const isModule = files.includes(join(folder, 'go.mod'));
  if (isModule || files.some((f) => f.endsWith('.go'))) {
    // Without go.mod, build in GOPATH mode against Debian's packaged Go libraries.
    const env: Record<string, string> = isModule
      ? {}
      : {
          GO111MODULE: 'off',
          GOPATH: `${process.env.GOPATH || join(homedir(), 'go')}:/usr/share/gocode`,
        };
    return {
      name: 'go',
      key: async () =>
        JSON.stringify({
          go: await (goVersion ??= runTool('go', ['version'], { cwd: folder }).catch(
            () => 'go: not installed',
          )),
          env,
          flags: ['-trimpath'],
          driverkit: VERSION,
        }),
      listing: folderWide,
      build: async (out, signal) => {
        // -trimpath: no build folder in the binary, so one commit builds the same bytes in any checkout.
        const args = ['build', '-trimpath', '-o', out, '.'];
        await runTool('go', args, { cwd: folder, env, signal }).catch((err) => {
          // A missing tool: the shell that starts it says "not found" and exits 127.
          if ((err as { output?: string }).output === '' || /exit code 127/.test(String(err))) {
            throw Object.assign(
              new Error('the Go toolchain is not installed (Debian: apt-get install golang-go)'),
              { output: '' },
            );
          }
          throw err;
        });
        return folderWide();
      },
    };
  }
  const entry = manifest.entry
    ? join(folder, manifest.entry)
    : await firstExisting(NODE_ENTRIES.map((f) => join(folder, f)));
  if (!entry) {
    throw Object.assign(
      new Error(
        `no entry file: expected one of ${NODE_ENTRIES.join(', ')}, a manifest "entry", *.go files, or a manifest "build" command`,
      ),
      { output: '' },
    );
  }
  return {
    name: 'node',
    key: async () => JSON.stringify({ esbuild: esbuildVersion, entry, driverkit: VERSION }),
    listing: async () => undefined,
    build: async (out, signal) => {
      const { inputs } = await bundleTypeScript(entry, out, folder);
      // esbuild cannot stop midway; a cancelled bundle is thrown away instead.
      signal?.throwIfAborted();
      return [...inputs, ...(await manifestInputs()), ...(await extra())];
    },
  };
}

/** A path as input files: a folder's files, or the file itself. */
async function expand(path: string): Promise<string[]> {
  return (await stat(path)).isDirectory() ? listFiles(path) : [path];
}

async function firstExisting(paths: string[]): Promise<string | undefined> {
  for (const p of paths) if (await exists(p)) return p;
  return undefined;
}
