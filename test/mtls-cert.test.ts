import { X509Certificate, createPrivateKey } from 'node:crypto';
import { once } from 'node:events';
import * as tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { generateIdentity } from '../src/protocol/mtls.js';

describe('AutoMTLS certificates', () => {
  it("are self-signed CA certificates for localhost, shaped like go-plugin's", async () => {
    const id = await generateIdentity();
    const cert = new X509Certificate(id.certPem);
    expect(cert.subject).toContain('CN=localhost');
    expect(cert.subject).toContain('O=HashiCorp');
    expect(cert.issuer).toBe(cert.subject);
    expect(cert.subjectAltName).toBe('DNS:localhost');
    expect(cert.ca).toBe(true);
    expect(cert.keyUsage).toEqual(
      expect.arrayContaining(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']),
    );
    expect(cert.checkPrivateKey(createPrivateKey(id.keyPem))).toBe(true);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(id.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
  });

  it('are valid from just now for 30 years (GeneralizedTime past 2049)', async () => {
    const cert = new X509Certificate((await generateIdentity()).certPem);
    const from = Date.parse(cert.validFrom);
    const to = Date.parse(cert.validTo);
    expect(Date.now() - from).toBeGreaterThanOrEqual(29_000);
    expect(Date.now() - from).toBeLessThan(60_000);
    expect(to - Date.now()).toBeGreaterThan(262_980 * 3600 * 1000 - 60_000);
    expect(to - Date.now()).toBeLessThan(262_980 * 3600 * 1000 + 60_000);
    expect(new Date(to).getUTCFullYear()).toBeGreaterThan(2050);
  });

  it('have a positive random serial and differ each time', async () => {
    const [a, b] = await Promise.all([generateIdentity(), generateIdentity()]);
    const [ca, cb] = [new X509Certificate(a.certPem), new X509Certificate(b.certPem)];
    // Node prints the serial in hex, with a leading '-' if the DER INTEGER were negative.
    for (const c of [ca, cb]) expect(c.serialNumber).toMatch(/^[0-9A-F]+$/);
    for (const c of [ca, cb]) expect(BigInt(`0x${c.serialNumber}`)).toBeGreaterThan(0n);
    expect(ca.serialNumber).not.toBe(cb.serialNumber);
    expect(a.certPem).not.toBe(b.certPem);
    expect(a.keyPem).not.toBe(b.keyPem);
  });

  it('carry the DER as unpadded base64 for the handshake, matching the PEM', async () => {
    const id = await generateIdentity();
    expect(id.certBase64).not.toMatch(/[=\s]/);
    const padded = id.certBase64 + '='.repeat((4 - (id.certBase64.length % 4)) % 4);
    expect(Buffer.from(padded, 'base64').equals(new X509Certificate(id.certPem).raw)).toBe(true);
    for (const line of id.certPem.trim().split('\n').slice(1, -2)) expect(line).toHaveLength(64);
  });

  it('authenticate both ends of a TLS connection, each trusting only the other', async () => {
    const [server, client] = await Promise.all([generateIdentity(), generateIdentity()]);
    const srv = tls.createServer({
      key: server.keyPem,
      cert: server.certPem,
      ca: [client.certPem],
      requestCert: true,
      rejectUnauthorized: true,
    });
    const accepted = once(srv, 'secureConnection') as Promise<[tls.TLSSocket]>;
    srv.listen(0, '127.0.0.1');
    await once(srv, 'listening');
    onTestFinished(() => new Promise<void>((resolve) => srv.close(() => resolve())));
    const sock = tls.connect({
      host: '127.0.0.1',
      port: (srv.address() as AddressInfo).port,
      ca: [server.certPem],
      key: client.keyPem,
      cert: client.certPem,
      servername: 'localhost',
    });
    onTestFinished(() => void sock.destroy());
    await once(sock, 'secureConnect');
    const [peer] = await accepted;
    onTestFinished(() => void peer.destroy());
    expect(sock.authorized).toBe(true);
    expect(peer.authorized).toBe(true);
    expect(peer.getPeerX509Certificate()?.raw.equals(new X509Certificate(client.certPem).raw)).toBe(
      true,
    );
  });
});
