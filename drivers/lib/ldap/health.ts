import type { ServingDriver } from 'driverkit/driver';
import type { LdapConfig } from './config.js';
import type { Pool } from './pool.js';

/** How often health looks at the server (while it is unreachable, or to see it go). */
const EVERY_MS = 1_000;

/** Keeps the driver's health in step with the server: NOT_SERVING while it cannot be reached. */
export function watchHealth(
  current: () => { config: LdapConfig; pool: Pool } | undefined,
  served: () => ServingDriver | undefined,
): void {
  const tick = async () => {
    const c = current();
    const up = c && (await c.pool.check(Date.now() + c.config.timeoutMs));
    // A Configure meanwhile made another pool current: its own check says.
    if (c && current() === c) served()?.setServing(up === true);
    setTimeout(() => void tick(), EVERY_MS).unref();
  };
  setTimeout(() => void tick(), EVERY_MS).unref();
}
