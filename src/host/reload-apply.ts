// How a host takes a new config, driver by driver (host.reload): the diff from reload.ts,
// applied through what the host lends it, so that host.ts stays about one driver's lifetime.
import type { Config, DriverEntry } from '../config/schema.js';
import type { Logger } from '../launch/logger.js';
import { diffConfigs, liveSettings, type ReloadReport } from './reload.js';

/** What a host lends a reload. */
export interface ReloadTarget {
  /** The running config: changed in place. */
  config: Config;
  /** Drivers found in socket_dir: not the config's, so no reload touches them. */
  found: ReadonlySet<string>;
  logger: Logger;
  /** Forgets a driver; its process stops once its calls in flight have ended. */
  remove(name: string): void;
  /** Swaps a driver's process for one of `entry`; rejects (old one serving) on failure. */
  replace(entry: DriverEntry): Promise<void>;
  start(name: string): Promise<unknown>;
  /** The instances or their types changed: a gateway routes again. */
  routesChanged(): void;
}

/** Applies `next` to `host`: see DriverHost.reload. */
export async function applyReload(next: Config, host: ReloadTarget): Promise<ReloadReport> {
  const configured = host.config.drivers.filter((d) => !host.found.has(d.name));
  const diff = diffConfigs({ ...host.config, drivers: configured }, next);
  Object.assign(host.config, liveSettings(next));
  const report: ReloadReport = { ...diff, failed: [] };
  const entries = new Map(next.drivers.map((d) => [d.name, d]));
  const drivers = host.config.drivers;
  const at = (name: string) => drivers.findIndex((d) => d.name === name);
  for (const name of diff.removed) {
    host.logger.log('info', 'driver removed by a reload; draining', { driver: name });
    host.remove(name);
  }
  for (const name of diff.added) drivers.push(entries.get(name)!);
  // Settings that need no new process (gateway_allow) are taken as they are.
  for (const name of diff.unchanged) drivers[at(name)] = entries.get(name)!;
  const failed = (driver: string, err: unknown) => {
    const error = err instanceof Error ? err.message : String(err);
    report.failed.push({ driver, error });
    host.logger.log('error', 'reload: driver failed to start; the old one keeps serving', {
      driver,
      error,
    });
  };
  host.routesChanged();
  // One swap at a time: each may build, and builds run one at a time.
  for (const name of diff.changed) {
    const old = drivers[at(name)];
    drivers[at(name)] = entries.get(name)!;
    try {
      await host.replace(entries.get(name)!);
      host.logger.log('info', 'driver replaced by a reload', { driver: name });
    } catch (err) {
      // The running config keeps serving: its entry too, so the next reload tries again;
      // unless a newer swap (a --watch rebuild) took over, which runs the new entry.
      const code = (err as { code?: string }).code;
      if (code !== 'RELOAD_CANCELLED' && at(name) >= 0) drivers[at(name)] = old;
      failed(name, err);
    }
  }
  // A changed entry may serve other services (its type) or change readiness (required).
  if (diff.changed.length) host.routesChanged();
  await Promise.all(
    diff.added.map((name) =>
      host.start(name).then(
        () => host.logger.log('info', 'driver added by a reload', { driver: name }),
        (err: unknown) => failed(name, err),
      ),
    ),
  );
  return report;
}
