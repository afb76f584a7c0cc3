// A config entry as the options of the Driver that runs it: every process of an entry (a
// first start, a restart, a swap) is started from the same translation.
import type { Config, DriverEntry } from '../config/schema.js';
import type { Logger } from '../launch/logger.js';
import type { DriverOptions } from '../launch/options.js';

/** The Driver options of `entry`, for the executable at `path` (built, installed or as given). */
export function driverOptions(
  entry: DriverEntry,
  config: Config,
  run: { path: string; sha256?: string; logger: Logger },
): DriverOptions {
  const tokensEnv = config.gateway.tokensEnv;
  const tls = entry.tlsCa ?? entry.tlsCert ?? entry.tlsKey ?? entry.tlsServerName;
  return {
    name: entry.name,
    path: run.path,
    contract: entry.contract,
    args: entry.args,
    env: entry.env,
    // The gateway's bearer tokens are the gateway's: no driver sees them, whatever it inherits.
    inheritEnv: tokensEnv ? [...entry.inheritEnv, `!${tokensEnv}`] : entry.inheritEnv,
    // Drivers run in the config's folder, so relative paths in their config work.
    cwd: config.dir,
    startTimeout: entry.startTimeout,
    shutdownGrace: entry.shutdownGrace,
    sha256: entry.sha256 ?? run.sha256,
    reattach: entry.reattach,
    killOnClose: entry.killOnClose,
    address: entry.address,
    tls: tls
      ? {
          caFile: entry.tlsCa,
          certFile: entry.tlsCert,
          keyFile: entry.tlsKey,
          serverName: entry.tlsServerName,
        }
      : undefined,
    insecure: entry.insecure,
    allowUnverifiedType: entry.allowUnverifiedType,
    autoMTLS: entry.autoMTLS,
    allowRemote: entry.allowRemote,
    keepalive: { intervalMs: entry.pingInterval, timeoutMs: entry.pingTimeout },
    logger: run.logger,
  };
}
