// go-plugin's AutoMTLS certificates (its mtls.go): each side makes a one-time self-signed
// certificate and trusts exactly the peer's. Imported lazily: most drivers never need it.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

/** A one-time certificate and its key, as grpc-js wants them. */
export interface TlsIdentity {
  certPem: string;
  keyPem: string;
  /** The certificate as go-plugin's handshake carries it: DER, unpadded standard base64. */
  certBase64: string;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
/** go-plugin's validity: 262980 hours (30 years). */
const VALIDITY_MS = 262_980 * 3600 * 1000;

/**
 * Makes a certificate shaped like go-plugin's: CN and SAN DNS `localhost`, CA, usable for
 * client and server auth. go-plugin uses P-521; Go peers accept the P-256 used here.
 */
export async function generateIdentity(): Promise<TlsIdentity> {
  x509.cryptoProvider.set(webcrypto as unknown as Crypto);
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1'),
    name: 'CN=localhost, O=HashiCorp',
    notBefore: new Date(Date.now() - 30_000),
    notAfter: new Date(Date.now() + VALIDITY_MS),
    signingAlgorithm: ALGORITHM,
    keys: keys as unknown as CryptoKeyPair,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment | x509.KeyUsageFlags.keyAgreement | x509.KeyUsageFlags.keyCertSign,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth, x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'localhost' }]),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return {
    certPem: cert.toString('pem'),
    keyPem: `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/(.{64})/g, '$1\n').trimEnd()}\n-----END PRIVATE KEY-----\n`,
    certBase64: Buffer.from(cert.rawData).toString('base64').replace(/=+$/, ''),
  };
}
