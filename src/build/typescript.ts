import { chmod, mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
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
  /** Every source file that went into the bundle, relative to the working directory. */
  inputs: string[];
}

/**
 * Writes `outfile` atomically: the bundle goes to a temporary file beside it and is renamed
 * over the old one, so a running or concurrent reader never sees half a binary.
 */
export async function bundleTypeScript(entry: string, outfile: string): Promise<BundleResult> {
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
    });
    await chmod(tmp, 0o755);
    await rename(tmp, outfile);
    return { inputs: Object.keys(result.metafile.inputs) };
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
