import { describe, expect, it } from 'vitest';
import { checkHandshake } from '../src/launch/handshake-check.js';
import { fixtureContract, hostSpeaking } from './fixtures/contract.js';

const CERT = 'A'.repeat(60);

describe("the host's handshake rules", () => {
  it.each([
    { line: '1|2|unix|/tmp/plugin1|grpc|', tls: false, ok: true },
    { line: `1|1|tcp|127.0.0.1:10000|grpc|${CERT}`, tls: true, ok: true },
    { line: '1|1|tcp|127.4.5.6:10000|grpc|', tls: false, ok: true },
    {
      line: '1|1|tcp|10.255.255.1:1234|grpc|',
      tls: false,
      code: 'HANDSHAKE_INVALID',
      message:
        /expected a loopback TCP address \(127\.0\.0\.0\/8 or \[::1\]\), got "10\.255\.255\.1:1234"/,
      parsed: true,
    },
    {
      line: '1|1|tcp|example.com:80|grpc|',
      tls: false,
      code: 'HANDSHAKE_INVALID',
      message: /got "example\.com:80"/,
      parsed: true,
    },
    {
      line: '1|1|tcp|localhost:10000|grpc|',
      tls: false,
      code: 'HANDSHAKE_INVALID',
      message: /loopback/,
      parsed: true,
    },
    {
      line: 'hello',
      tls: false,
      code: 'HANDSHAKE_INVALID',
      message: /expected CORE\|APP\|NETWORK\|ADDR\|PROTOCOL\[\|CERT\], got "hello"/,
    },
    { line: '2|1|unix|/tmp/p|grpc|', tls: false, code: 'CORE_VERSION_MISMATCH' },
    { line: '1|1|unix|/tmp/p|netrpc|', tls: false, code: 'PROTOCOL_UNSUPPORTED' },
    {
      line: '1|1|pipe|/tmp/p|grpc|',
      tls: false,
      code: 'HANDSHAKE_INVALID',
      message: /in "1\|1\|pipe/,
    },
    {
      line: '1|3|unix|/tmp/p|grpc|',
      tls: false,
      code: 'VERSION_MISMATCH',
      message: /the host speaks 1, 2 of "fixture", the driver answered 3/,
      parsed: true,
    },
    {
      line: '1|1|unix|/tmp/p|grpc||true',
      tls: false,
      code: 'PROTOCOL_UNSUPPORTED',
      message: /multiplexed/,
      parsed: true,
    },
    {
      line: `1|1|unix|/tmp/p|grpc|${CERT}`,
      tls: false,
      code: 'PROTOCOL_UNSUPPORTED',
      message: /did not ask for AutoMTLS/,
      parsed: true,
    },
    {
      line: '1|1|unix|/tmp/p|grpc|',
      tls: true,
      code: 'PROTOCOL_UNSUPPORTED',
      message: /refusing to talk to it in plaintext/,
      parsed: true,
    },
  ])('$line (AutoMTLS asked: $tls) -> $code', ({ line, tls, ok, code, message, parsed }) => {
    const verdict = checkHandshake(line, fixtureContract, tls);
    if (ok) {
      expect(verdict.ok).toBe(true);
      return;
    }
    expect(verdict).toMatchObject({ ok: false, code });
    if (!verdict.ok) {
      if (message) expect(verdict.message).toMatch(message);
      // A line that parsed is kept even when refused, so teardown can remove the driver's socket.
      expect(verdict.handshake !== undefined).toBe(parsed === true);
    }
  });

  it('dials a remote TCP address only when allowed', () => {
    expect(
      checkHandshake('1|1|tcp|10.255.255.1:1234|grpc|', fixtureContract, false, true),
    ).toMatchObject({ ok: true });
  });

  it('takes the versions the host speaks from its contract', () => {
    expect(checkHandshake('1|2|unix|/tmp/p|grpc|', hostSpeaking(1), false)).toMatchObject({
      ok: false,
      code: 'VERSION_MISMATCH',
    });
  });
});
