// Production mode's rule: every driver is a binary or an installed, locked package. What a
// config would build, clone or download at run time is refused before anything starts,
// naming the deploy-time command that does it instead.
import { stat } from 'node:fs/promises';
import { relative } from 'node:path';
import { binaryPath } from '../build/build.js';
import type { Config, DriverEntry } from '../config/schema.js';
import { DriverkitError } from '../errors.js';
import { resolveInstalled } from '../packages/installed.js';

/** Why `entry` cannot run in production, or undefined when it can. */
export async function productionRefusal(
  entry: DriverEntry,
  config: Config,
): Promise<string | undefined> {
  if (entry.address || entry.reattach) return undefined;
  if (entry.package) {
    const { name, range } = entry.package;
    const installed = await resolveInstalled(name, range, config.dir).catch(() => undefined);
    return installed
      ? undefined
      : `drivers.${entry.name}: package ${name}${range ? `@${range}` : ''} is not installed, and production mode downloads nothing: run "driverkit install --frozen" at deploy time`;
  }
  const folder = await stat(entry.driver).then(
    (s) => s.isDirectory(),
    () => false,
  );
  return folder
    ? `drivers.${entry.name}.driver: ${relative(config.dir, entry.driver) || '.'} is a source folder, and production mode builds nothing: run "driverkit build" at deploy time and point driver at the binary it makes (${relative(config.dir, binaryPath(config.binDir, entry.type, entry.driver))})`
    : undefined;
}

/** Refuses the whole config (CONFIG_INVALID, every reason) if any entry cannot run in production. */
export async function checkProduction(config: Config): Promise<void> {
  const refusals = (
    await Promise.all(config.drivers.map((d) => productionRefusal(d, config)))
  ).filter((r) => r !== undefined);
  if (refusals.length)
    throw new DriverkitError('CONFIG_INVALID', `${config.file}: ${refusals.join('; ')}`);
}
