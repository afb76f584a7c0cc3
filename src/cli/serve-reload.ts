// driverkit serve's config reload (SIGHUP, or a config file change under --watch): the new
// file is checked whole before anything changes, then the host swaps its drivers and the
// gateway takes the settings it can change while serving.
import { GATEWAY_KEYS } from '../config/gateway.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { Gateway } from '../gateway/gateway.js';
import type { DriverHost } from '../host/host.js';
import type { ReloadReport } from '../host/reload.js';
import type { Logger } from '../launch/logger.js';
import { gatewaySecurity } from './gateway-security.js';

/**
 * Gateway settings a serving gateway takes over; tokens only while tokens stay on. Not
 * `tokens_env`: its value cannot change in a running process, and its name is what drivers
 * must never inherit, which a change would let the old name do.
 */
const LIVE_GATEWAY = new Set<string>(['tokensFile', 'drainDelay', 'drainGrace']);

/**
 * Loads the config file again and applies it. An invalid config (or one the mode refuses)
 * changes nothing and is logged; the running config keeps serving. Never throws.
 */
export async function reloadConfig(
  host: DriverHost,
  gateway: () => Gateway | undefined,
  logger: Logger,
): Promise<ReloadReport | undefined> {
  const file = host.config.file;
  logger.log('info', 'reloading config', { file });
  let next: Config;
  let security: Awaited<ReturnType<typeof gatewaySecurity>>;
  try {
    // The mode serve runs in (the command line's, if given) holds across reloads.
    next = { ...(await loadConfig(file)), mode: host.config.mode };
    security = await gatewaySecurity(next, true);
    if (next.mode === 'production')
      await (await import('../host/production.js')).checkProduction(next);
  } catch (err) {
    logger.log('error', 'config reload refused; the running config keeps serving', {
      file,
      error: err instanceof Error ? err.message : String(err),
    });
    return undefined;
  }
  const gatewayRestart = gatewayChanges(host.config, next);
  // Access rules first: a driver added next must not be reachable without its own.
  gateway()?.update({ tokens: security.tokens, allow: security.allow });
  if (security.tokens?.length === 0 && next.gateway.tokensFile)
    logger.log('warn', 'every bearer token revoked: the tokens file has none', {
      file: next.gateway.tokensFile,
    });
  for (const k of LIVE_GATEWAY)
    (host.config.gateway as Record<string, unknown>)[k] = next.gateway[k as never];
  let report: ReloadReport;
  try {
    report = await host.reload(next);
  } catch (err) {
    logger.log('error', 'config reload failed; the running drivers keep serving', {
      file,
      error: err instanceof Error ? err.message : String(err),
    });
    return undefined;
  }
  report.needsRestart.push(...gatewayRestart);
  logger.log(report.failed.length ? 'warn' : 'info', 'config reloaded', {
    added: report.added,
    removed: report.removed,
    changed: report.changed,
    unchanged: report.unchanged.length,
    failed: report.failed.map((f) => f.driver),
    ...(report.needsRestart.length ? { needs_restart: report.needsRestart } : {}),
  });
  if (report.needsRestart.length)
    logger.log('warn', 'changed settings take effect only after a restart of serve', {
      settings: report.needsRestart,
    });
  return report;
}

/** The `[gateway]` settings (TOML names) that changed and need a restart to apply. */
function gatewayChanges(now: Config, next: Config): string[] {
  const out: string[] = [];
  const a = now.gateway as Record<string, unknown>;
  const b = next.gateway as Record<string, unknown>;
  for (const key of GATEWAY_KEYS) {
    if (JSON.stringify(a[key.field]) === JSON.stringify(b[key.field])) continue;
    const tokensToggled = !(a.tokensFile ?? a.tokensEnv) !== !(b.tokensFile ?? b.tokensEnv);
    if (!LIVE_GATEWAY.has(key.field) || (key.field.startsWith('tokens') && tokensToggled))
      out.push(`gateway.${key.toml}`);
  }
  return out;
}
