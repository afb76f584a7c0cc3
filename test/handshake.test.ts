import { describe, expect, it } from 'vitest';
import { formatHandshake, parseHandshake } from '../src/protocol/handshake.js';

const CERT = `MIICTzCCAbCgAwIBAgIQ${'A'.repeat(60)}`;

describe('parseHandshake accepts what go-plugin accepts', () => {
  it.each([
    {
      name: '5 fields',
      line: '1|1|unix|/tmp/plugin2871|grpc',
      want: { app: 1, network: 'unix', address: '/tmp/plugin2871' },
    },
    {
      name: '6 fields, empty cert (Go drivers)',
      line: '1|1|unix|/tmp/plugin2871|grpc|',
      want: { app: 1, serverCert: undefined },
    },
    {
      name: 'newline and spaces trimmed',
      line: '  1|3|tcp|127.0.0.1:10001|grpc|\r\n',
      want: { app: 3, network: 'tcp', address: '127.0.0.1:10001' },
    },
    {
      name: '6 fields with cert',
      line: `1|1|tcp|127.0.0.1:10001|grpc|${CERT}`,
      want: { serverCert: CERT },
    },
    {
      name: 'short cert ignored, as go-plugin does',
      line: '1|1|unix|/tmp/p|grpc|abc',
      want: { serverCert: undefined },
    },
    {
      name: '7 fields (multiplex)',
      line: '1|1|unix|/tmp/p|grpc||false',
      want: { multiplex: false },
    },
  ])('$name', ({ line, want }) => {
    const r = parseHandshake(line);
    expect(r.ok).toBe(true);
    if (r.ok)
      for (const [key, value] of Object.entries(want))
        expect(r.handshake[key as keyof typeof r.handshake], key).toEqual(value);
  });
});

describe('parseHandshake rejects what go-plugin rejects, saying why', () => {
  it.each([
    {
      line: 'hello',
      kind: 'invalid',
      error: /expected CORE\|APP\|NETWORK\|ADDR\|PROTOCOL\[\|CERT\], got "hello"/,
    },
    { line: '', kind: 'invalid', error: /got ""/ },
    { line: '1|1|unix', kind: 'invalid', error: /expected CORE/ },
    { line: '1|1|unix|/tmp/p|grpc|cert|false|extra', kind: 'invalid', error: /expected CORE/ },
    {
      line: 'x|1|unix|/tmp/p|grpc',
      kind: 'invalid',
      error: /core protocol version is not a number/,
    },
    {
      line: '2|1|unix|/tmp/p|grpc|',
      kind: 'core-version',
      error: /driver speaks 2, host speaks 1/,
    },
    {
      line: '1|one|unix|/tmp/p|grpc|',
      kind: 'invalid',
      error: /app protocol version is not a number: "one"/,
    },
    { line: '1|1|udp|/tmp/p|grpc|', kind: 'network', error: /unknown network "udp"/ },
    { line: '1|1|unix||grpc|', kind: 'invalid', error: /empty unix socket path/ },
    { line: '1|1|tcp|localhost|grpc|', kind: 'invalid', error: /HOST:PORT, got "localhost"/ },
    { line: '1|1|tcp|127.0.0.1:99999|grpc|', kind: 'invalid', error: /HOST:PORT/ },
    { line: '1|1|unix|/tmp/p', kind: 'protocol', error: /net\/rpc/ },
    { line: '1|1|unix|/tmp/p|netrpc|', kind: 'protocol', error: /unsupported protocol "netrpc"/ },
    { line: '1|1|unix|/tmp/p|grpc||maybe', kind: 'invalid', error: /multiplexing field/ },
    { line: `1|1|unix|/tmp/p|grpc|${'!'.repeat(60)}`, kind: 'invalid', error: /not base64/ },
  ])('$line', ({ line, kind, error }) => {
    const r = parseHandshake(line);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.kind).toBe(kind);
      expect(r.reason).toMatch(error);
    }
  });
});

describe('formatHandshake', () => {
  it('prints six fields ending in | like Go drivers, and parses back', () => {
    const line = formatHandshake({ app: 2, network: 'unix', address: '/tmp/plugin1' });
    expect(line).toBe('1|2|unix|/tmp/plugin1|grpc|\n');
    expect(parseHandshake(line)).toEqual({
      ok: true,
      handshake: { core: 1, app: 2, network: 'unix', address: '/tmp/plugin1', protocol: 'grpc' },
    });
  });
});
