import { readFile } from 'node:fs/promises';
import type { Config } from '../config/schema.js';
import { DriverkitError } from '../errors.js';
import { type GatewaySecurity, parseTokens } from '../gateway/security.js';

/**
 * The gateway's security from the config's `[gateway]` table and `gateway_allow` keys, its
 * files read. A tokens file with no token fails a start; on a reload (`reloading`) it
 * revokes every token: tokens stay on, and no call gets through until one is added.
 */
export async function gatewaySecurity(config: Config, reloading = false): Promise<GatewaySecurity> {
  const g = config.gateway;
  const read = async (path: string | undefined, key: string) => {
    if (path === undefined) return undefined;
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      throw new DriverkitError(
        'CONFIG_INVALID',
        `${config.file}: gateway.${key}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`,
      );
    }
  };
  const [certPem, keyPem, clientCaPem, tokenFile] = await Promise.all([
    read(g.tlsCert, 'tls_cert'),
    read(g.tlsKey, 'tls_key'),
    read(g.clientCa, 'client_ca'),
    read(g.tokensFile, 'tokens_file'),
  ]);
  const tokens = [
    ...parseTokens(tokenFile ?? ''),
    ...(g.tokensEnv ? (process.env[g.tokensEnv] ?? '').split(',') : [])
      .map((t) => t.trim())
      .filter(Boolean),
  ];
  const tokensOn = Boolean(g.tokensFile || g.tokensEnv);
  if (tokensOn && tokens.length === 0 && !reloading) {
    throw new DriverkitError(
      'CONFIG_INVALID',
      `${config.file}: gateway: expected at least one bearer token in ${g.tokensFile ?? `$${g.tokensEnv}`}, found none`,
    );
  }
  const allow = Object.fromEntries(
    config.drivers.filter((d) => d.gatewayAllow).map((d) => [d.name, d.gatewayAllow!]),
  );
  return {
    tls: certPem && keyPem ? { certPem, keyPem, clientCaPem } : undefined,
    tlsFiles:
      g.tlsCert && g.tlsKey ? { cert: g.tlsCert, key: g.tlsKey, clientCa: g.clientCa } : undefined,
    tokens: tokensOn ? tokens : undefined,
    allow,
    maxConcurrentCalls: g.maxConcurrentCalls,
    maxCallsPerClient: g.maxCallsPerClient,
    maxClientCalls: g.maxClientCalls,
    maxDriverCalls: g.maxDriverCalls,
    maxClientDriverCalls: g.maxClientDriverCalls,
    maxMessageBytes: g.maxMessageBytes,
    maxClientMemory: g.maxClientMemory,
    maxMemory: g.maxMemory,
    insecure: g.insecure,
    healthListen: g.healthListen,
  };
}
