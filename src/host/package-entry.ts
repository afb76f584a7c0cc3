import type { Config, DriverEntry } from '../config/schema.js';
import { DriverkitError } from '../errors.js';
import { installPackage } from '../packages/install.js';
import { resolveInstalled } from '../packages/installed.js';
import { keyId, loadTrustedKeys } from '../packages/signature.js';
import { projectStore } from '../packages/store.js';

/** A `package` entry's executable: installed from the config's indexes on first use, then pinned by the lock. */
export async function installedPackage(
  entry: DriverEntry,
  config: Config,
  signal: AbortSignal,
): Promise<{ path: string; sha256: string }> {
  const { name, range } = entry.package!;
  const trustedKeys = await loadTrustedKeys(config.trustedKeys);
  let found = await resolveInstalled(name, range, config.dir).catch((err: DriverkitError) =>
    err.code === 'PACKAGE_NOT_FOUND' ? undefined : Promise.reject(err),
  );
  if (!found) {
    await installPackage({
      store: projectStore(config.dir),
      name,
      range,
      indexes: config.indexes.length ? config.indexes : undefined,
      trustedKeys,
      buildSources: config.buildPackages,
      signal,
      downloadLimits: { maxBytes: config.maxDownloadBytes, timeoutMs: config.downloadTimeout },
      unpackLimits: { maxBytes: config.maxUnpackedBytes },
    });
    found = await resolveInstalled(name, range, config.dir);
  }
  // Installed earlier, perhaps by a command that was not given these keys: the lock says who signed it.
  const ids = trustedKeys.map(keyId);
  if (ids.length && !(found.signedBy && ids.includes(found.signedBy))) {
    throw new DriverkitError(
      'SIGNATURE_INVALID',
      `${name} ${found.version} in ${found.lockFile} was not installed from a manifest signed by a trusted key (trusted_keys, DRIVERKIT_TRUSTED_KEYS): reinstall it with driverkit install ${name} --force --trusted-key KEY`,
    );
  }
  return found;
}
