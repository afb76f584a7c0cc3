import { chmod, mkdir, rename, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { build } from 'esbuild';

/**
 * Bundles a TypeScript or JavaScript entry into one executable file. ESM output runs under
 * Node 20.19+ wherever it lands; the banner gives bundled CommonJS packages (grpc-js) the
 * `require` they expect.
 */
const BANNER = [
  '#!/usr/bin/env node',
  "import { createRequire as __driverkitCreateRequire } from 'node:module';",
  'const require = __driverkitCreateRequire(import.meta.url);',
].join('\n');

export interface BundleResult {
  /** Every source file that went into the bundle, as an absolute path. */
  inputs: string[];
}

/**
 * Writes `outfile` atomically: the bundle goes to a temporary file beside it and is renamed
 * over the old one, so a running or concurrent reader never sees half a binary. The paths
 * esbuild writes into the bundle are relative to `folder` (default: the entry's), so one
 * source builds to the same bytes wherever it is checked out.
 */
export async function bundleTypeScript(
  entry: string,
  outfile: string,
  folder: string = dirname(entry),
): Promise<BundleResult> {
  await mkdir(dirname(outfile), { recursive: true });
  const tmp = `${outfile}.tmp-${process.pid}-${Date.now()}`;
  try {
    const result = await build({
      entryPoints: [entry],
      outfile: tmp,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      banner: { js: BANNER },
      metafile: true,
      logLevel: 'silent',
      legalComments: 'none',
      absWorkingDir: resolve(folder),
    });
    await chmod(tmp, 0o755);
    await rename(tmp, outfile);
    return { inputs: Object.keys(result.metafile.inputs).map((p) => resolve(folder, p)) };
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
