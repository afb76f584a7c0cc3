// What both LDAP drivers do on Configure: check the config whole (a mistake is
// INVALID_ARGUMENT naming the key), open a pool and a directory on it, then put it in place
// of the previous one and say whether the server answers.
import { RpcError, type ServingDriver, Status } from 'driverkit/driver';
import { ConfigError, type LdapConfig, parseConfig } from './config.js';
import { Directory } from './directory.js';
import { Pool } from './pool.js';

/** A configured directory: its config, its pool and what it reads with. */
export interface Opened {
  config: LdapConfig;
  pool: Pool;
  directory: Directory;
}

/**
 * `raw` parsed and a directory opened on it; `extra` reads the keys `extraKeys` names (the
 * auth provider's), throwing ConfigError as parseConfig does.
 */
export function openDirectory<E extends object = object>(
  raw: Record<string, unknown>,
  extraKeys: readonly string[] = [],
  extra: (raw: Record<string, unknown>) => E = () => ({}) as E,
): Opened & E {
  try {
    const config = parseConfig(raw, extraKeys);
    const more = extra(raw);
    const pool = new Pool(config);
    return { config, pool, directory: new Directory(config, pool), ...more };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new RpcError(Status.INVALID_ARGUMENT, `ldap config: ${err.message}`);
  }
}

/**
 * Closes `previous` (calls still on it fail rather than reconnect with old credentials) and
 * sets health by whether `next`'s server answers now; Configure succeeds either way.
 */
export async function replace(
  next: Opened,
  previous: Opened | undefined,
  served: ServingDriver | undefined,
): Promise<boolean> {
  await previous?.pool.close();
  const up = await next.pool.check(Date.now() + next.config.timeoutMs);
  served?.setServing(up);
  return up;
}
