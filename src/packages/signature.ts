import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { DriverkitError } from '../errors.js';
import type { PackageManifest } from './manifest.js';

/**
 * A value as canonical JSON: object keys sorted at every depth, no whitespace, arrays in
 * order. What a signature covers, so that reformatting a manifest does not break it.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The bytes a manifest's signature covers: its canonical JSON without the `signature` field. */
const signedBytes = (manifest: PackageManifest) => {
  const { signature: _omit, ...rest } = manifest;
  return Buffer.from(canonicalJson(rest), 'utf8');
};

/** A copy of `manifest` with `signature` set: base64 ed25519 over its canonical JSON (a PEM private key). */
export function signManifest(
  manifest: PackageManifest,
  privateKeyPem: string | Buffer,
): PackageManifest {
  const key = asKey(() => createPrivateKey(privateKeyPem), 'the signing key');
  if (key.asymmetricKeyType !== 'ed25519')
    throw new DriverkitError(
      'USAGE',
      `the signing key must be ed25519, got ${key.asymmetricKeyType}`,
    );
  return { ...manifest, signature: sign(null, signedBytes(manifest), key).toString('base64') };
}

/** Whether any of `keys` verifies the manifest's signature; false when it has none. */
export function isSignedBy(manifest: PackageManifest, keys: readonly KeyObject[]): boolean {
  if (!manifest.signature) return false;
  const sig = Buffer.from(manifest.signature, 'base64');
  return keys.some((k) => verify(null, signedBytes(manifest), k, sig));
}

/** A public key's id, as a lock records who signed what: the sha256 of its DER (SPKI) form. */
export const keyId = (key: KeyObject): string =>
  createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('hex');

/**
 * Refuses (SIGNATURE_INVALID) a manifest no trusted key verifies, naming the package,
 * version and index, and returns the id of the key that does; does nothing (undefined)
 * when `keys` is empty (signatures are opt-in).
 */
export function checkSignature(
  manifest: PackageManifest & { index: string; manifestUrl: string },
  keys: readonly KeyObject[],
): string | undefined {
  // `index` and `manifestUrl` say where it was read from: not part of what the author signed.
  const { index: _index, manifestUrl: _url, ...signed } = manifest;
  if (keys.length === 0) return undefined;
  const signer = keys.find((k) => isSignedBy(signed, [k]));
  if (signer) return keyId(signer);
  const why = manifest.signature
    ? `its signature is not verified by any of the ${keys.length} trusted key(s)`
    : `it is not signed, and trusted keys are set`;
  throw new DriverkitError(
    'SIGNATURE_INVALID',
    `${manifest.name} ${manifest.version} from index ${manifest.index} (${manifest.manifestUrl}): ${why}; nothing was installed`,
  );
}

/**
 * The trusted public keys: PEM files named by `files` (`--trusted-key`) and by
 * DRIVERKIT_TRUSTED_KEYS (comma-separated paths). An unreadable or non-ed25519 key is a USAGE error.
 */
export async function loadTrustedKeys(
  files: readonly string[] = [],
  env: string | undefined = process.env.DRIVERKIT_TRUSTED_KEYS,
): Promise<KeyObject[]> {
  const all = [
    ...files,
    ...(env ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  ];
  return Promise.all(
    all.map(async (file) => {
      const pem = await readFile(file).catch((err: Error) => {
        throw new DriverkitError('USAGE', `trusted key ${file}: ${err.message}`);
      });
      const key = asKey(() => createPublicKey(pem), `trusted key ${file}`);
      if (key.asymmetricKeyType !== 'ed25519')
        throw new DriverkitError(
          'USAGE',
          `trusted key ${file}: expected an ed25519 public key, got ${key.asymmetricKeyType}`,
        );
      return key;
    }),
  );
}

/** Writes a new ed25519 key pair for an author: `<base>.pem` (private, mode 0600) and `<base>.pub.pem`. */
export async function writeKeyPair(
  base: string,
): Promise<{ privateFile: string; publicFile: string }> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const privateFile = `${base}.pem`;
  const publicFile = `${base}.pub.pem`;
  await writeFile(privateFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), {
    mode: 0o600,
    flag: 'wx',
  }).catch((err: NodeJS.ErrnoException) => {
    throw new DriverkitError(
      'USAGE',
      err.code === 'EEXIST'
        ? `${privateFile} exists already: not overwriting a key`
        : `${privateFile}: ${err.message}`,
    );
  });
  await writeFile(publicFile, publicKey.export({ type: 'spki', format: 'pem' }));
  return { privateFile, publicFile };
}

function asKey(make: () => KeyObject, what: string): KeyObject {
  try {
    return make();
  } catch (err) {
    throw new DriverkitError(
      'USAGE',
      `${what} is not a PEM key node can read: ${(err as Error).message}`,
    );
  }
}
