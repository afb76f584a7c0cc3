import { readFile } from 'node:fs/promises';
import type { Config } from '../config/schema.js';
import { DriverkitError } from '../errors.js';

/** The admin endpoint's bearer token: the first line of `[gateway] admin_token_file`, if set. */
export async function adminToken(config: Config): Promise<string | undefined> {
  const file = config.gateway.adminTokenFile;
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new DriverkitError(
      'CONFIG_INVALID',
      `${config.file}: gateway.admin_token_file: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`,
    );
  }
  const token = text.split('\n')[0].trim();
  if (!token)
    throw new DriverkitError(
      'CONFIG_INVALID',
      `${config.file}: gateway.admin_token_file: expected a token on the first line of ${file}, found none`,
    );
  return token;
}
