/** The PEM form of a handshake certificate (unpadded base64 DER), for grpc-js. */
export function certBase64ToPem(b64: string): string {
  const padded = b64 + '='.repeat((4 - (b64.length % 4)) % 4);
  return `-----BEGIN CERTIFICATE-----\n${padded.replace(/(.{64})/g, '$1\n').trimEnd()}\n-----END CERTIFICATE-----\n`;
}
