// go-plugin's AutoMTLS certificates (its mtls.go): each side makes a one-time self-signed
// certificate and trusts exactly the peer's. Built with node:crypto and a tiny DER encoder
// rather than an X.509 library, which would add hundreds of KB to every driver bundle.
// Imported lazily: most drivers never need it.
import { generateKeyPair, randomBytes, sign, X509Certificate } from 'node:crypto';
import { promisify } from 'node:util';

/** A one-time certificate and its key, as grpc-js wants them. */
export interface TlsIdentity {
  certPem: string;
  keyPem: string;
  /** The certificate as go-plugin's handshake carries it: DER, unpadded standard base64. */
  certBase64: string;
}

/** go-plugin's validity: 262980 hours (30 years). */
const VALIDITY_MS = 262_980 * 3600 * 1000;

// --- DER: just the ASN.1 types a certificate needs (X.690). ---

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  let len: Buffer;
  if (body.length < 0x80) len = Buffer.from([body.length]);
  else {
    const bytes: number[] = [];
    for (let n = body.length; n > 0; n >>= 8) bytes.unshift(n & 0xff);
    len = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), len, body]);
}

const seq = (...items: Buffer[]) => tlv(0x30, ...items);
const set = (...items: Buffer[]) => tlv(0x31, ...items);
const printable = (s: string) => tlv(0x13, Buffer.from(s, 'ascii'));
const bool = (b: boolean) => tlv(0x01, Buffer.from([b ? 0xff : 0x00]));
const octets = (b: Buffer) => tlv(0x04, b);

/** A non-negative INTEGER from big-endian bytes, minimally encoded as DER demands. */
function uint(bytes: Buffer): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const b = bytes.subarray(i);
  return tlv(0x02, b[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
}

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [40 * a! + b!];
  for (const arc of rest) {
    const bytes = [arc & 0x7f];
    for (let n = Math.floor(arc / 128); n > 0; n = Math.floor(n / 128))
      bytes.unshift(0x80 | (n & 0x7f));
    out.push(...bytes);
  }
  return tlv(0x06, Buffer.from(out));
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050 (notAfter lands there). */
function time(d: Date): Buffer {
  const s = d.toISOString().replace(/[-:T]|\.\d+/g, ''); // YYYYMMDDHHMMSSZ
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(s.slice(2))) : tlv(0x18, Buffer.from(s));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  // DER omits a BOOLEAN that equals its DEFAULT (critical FALSE).
  return critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));
}

// --- The certificate. ---

const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2')); // RFC 5758: no parameters
const NAME = seq(
  set(seq(oid('2.5.4.10'), printable('HashiCorp'))), // O
  set(seq(oid('2.5.4.3'), printable('localhost'))), // CN
);
// KeyUsage bits 0 digitalSignature, 2 keyEncipherment, 4 keyAgreement, 5 keyCertSign → 0b10101100;
// the two trailing zero bits are unused, as DER's named-bit rule requires.
const KEY_USAGE = tlv(0x03, Buffer.from([2, 0b1010_1100]));
const EXTENSIONS = tlv(
  0xa3, // [3] EXPLICIT
  seq(
    extension('2.5.29.19', true, seq(bool(true))), // basicConstraints CA:TRUE
    extension('2.5.29.15', true, KEY_USAGE),
    extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.2'), oid('1.3.6.1.5.5.7.3.1'))), // clientAuth, serverAuth
    extension('2.5.29.17', false, seq(tlv(0x82, Buffer.from('localhost', 'ascii')))), // SAN dNSName
  ),
);

/**
 * Makes a certificate shaped like go-plugin's: O HashiCorp, CN and SAN DNS `localhost`, CA,
 * usable for client and server auth, valid 30 years. go-plugin uses P-521; Go peers accept
 * the P-256 used here.
 */
export async function generateIdentity(): Promise<TlsIdentity> {
  const { publicKey, privateKey } = await promisify(generateKeyPair)('ec', { namedCurve: 'P-256' });
  const now = Date.now();
  const tbs = seq(
    tlv(0xa0, uint(Buffer.from([2]))), // [0] EXPLICIT version: v3
    uint(randomBytes(16)),
    ECDSA_SHA256,
    NAME, // issuer: self-signed
    seq(time(new Date(now - 30_000)), time(new Date(now + VALIDITY_MS))),
    NAME,
    publicKey.export({ type: 'spki', format: 'der' }),
    EXTENSIONS,
  );
  // Node's ECDSA signatures are DER (r, s) SEQUENCEs, the form X.509 wants.
  const signature = tlv(0x03, Buffer.from([0]), sign('sha256', tbs, privateKey));
  const der = seq(tbs, ECDSA_SHA256, signature);
  const b64 = der.toString('base64');
  return {
    certPem: `-----BEGIN CERTIFICATE-----\n${b64.replace(/(.{64})/g, '$1\n').trimEnd()}\n-----END CERTIFICATE-----\n`,
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    certBase64: b64.replace(/=+$/, ''),
  };
}

/**
 * Checks that the host's certificate (PLUGIN_CLIENT_CERT) is one; throws saying what came
 * instead. TLS would take a malformed one silently and trust nobody.
 */
export function checkPeerCertificate(pem: string): void {
  try {
    new X509Certificate(pem);
  } catch (err) {
    const shown = pem.length > 40 ? `${pem.slice(0, 40)}…` : pem;
    throw new Error(
      `expected a PEM certificate, got ${JSON.stringify(shown)} (${err instanceof Error ? err.message : String(err)})`,
    );
  }
}
