import { describe, expect, it } from 'vitest';
import {
  decodeGrpcMessage,
  encodeGrpcMessage,
  type FrameError,
  FrameReader,
  formatGrpcTimeout,
  frameMessage,
  parseGrpcTimeout,
} from '../src/protocol/grpc-wire.js';

/** Feeds `bytes` to a reader in chunks of `size` and returns what it handed on. */
function read(
  bytes: Buffer,
  size: number,
  max = 1 << 20,
): { messages: string[]; errors: FrameError[] } {
  const messages: string[] = [];
  const errors: FrameError[] = [];
  const reader = new FrameReader(
    max,
    (m) => messages.push(m.toString()),
    (e) => errors.push(e),
  );
  for (let i = 0; i < bytes.length; i += size) reader.push(bytes.subarray(i, i + size));
  return { messages, errors };
}

describe('gRPC framing', () => {
  const stream = Buffer.concat([
    frameMessage(Buffer.from('hello')),
    frameMessage(Buffer.alloc(0)),
    frameMessage(Buffer.from('x'.repeat(300))),
  ]);

  it.each([1, 2, 5, 7, 64, stream.length])(
    'messages come out whole and in order, chunks of %i bytes',
    (size) => {
      expect(read(stream, size)).toEqual({ messages: ['hello', '', 'x'.repeat(300)], errors: [] });
    },
  );

  it.each([
    {
      what: 'over the limit, refused from its header alone',
      bytes: Buffer.from([0, 0, 0, 1, 0]),
      max: 255,
      error: { kind: 'too-large', size: 256 },
    },
    {
      what: 'compressed without an encoding',
      bytes: Buffer.concat([Buffer.from([1, 0, 0, 0, 1]), Buffer.from('z')]),
      max: 255,
      error: { kind: 'compressed' },
    },
  ])('a message $what is an error, and nothing after it is read', ({ bytes, max, error }) => {
    const r = read(Buffer.concat([bytes, frameMessage(Buffer.from('later'))]), 3, max);
    expect(r).toEqual({ messages: [], errors: [error] });
  });

  it('frames carry the length big-endian after a zero flag byte', () => {
    expect([...frameMessage(Buffer.from('ab'))]).toEqual([0, 0, 0, 0, 2, 0x61, 0x62]);
  });
});

describe('grpc-timeout', () => {
  it.each([
    { value: '100m', ms: 100 },
    { value: '5S', ms: 5000 },
    { value: '2M', ms: 120_000 },
    { value: '1H', ms: 3_600_000 },
    { value: '2500u', ms: 2.5 },
    { value: '99999999n', ms: 99.999999 },
    { value: '123456789m', ms: undefined, why: 'at most 8 digits' },
    { value: '10', ms: undefined, why: 'no unit' },
    { value: '-1m', ms: undefined },
    { value: undefined, ms: undefined },
  ])('$value -> $ms ms', ({ value, ms }) => {
    const got = parseGrpcTimeout(value);
    if (ms === undefined) expect(got).toBeUndefined();
    else expect(got).toBeCloseTo(ms, 9);
  });

  it.each([
    { ms: 0, value: '0m' },
    { ms: 1.2, value: '2m' },
    { ms: 99_999_999, value: '99999999m' },
    { ms: 100_000_000, value: '100000S' },
    { ms: 1e12, value: '16666667M' },
    { ms: -5, value: '0m', why: 'a deadline already passed' },
  ])('$ms ms -> $value, and back within the unit', ({ ms, value }) => {
    expect(formatGrpcTimeout(ms)).toBe(value);
    expect(parseGrpcTimeout(value)).toBeGreaterThanOrEqual(Math.max(0, ms));
  });
});

describe('grpc-message', () => {
  it.each([
    { message: 'user "x" not found', wire: 'user "x" not found' },
    { message: '100% sure', wire: '100%25 sure' },
    { message: 'line\nbreak', wire: 'line%0Abreak' },
    { message: 'Zoë', wire: 'Zo%C3%AB' },
    { message: '', wire: '' },
  ])('$message <-> $wire', ({ message, wire }) => {
    expect(encodeGrpcMessage(message)).toBe(wire);
    expect(decodeGrpcMessage(wire)).toBe(message);
  });

  it('keeps a malformed escape as it came, as the spec asks', () => {
    expect(decodeGrpcMessage('50%Z off')).toBe('50%Z off');
  });
});
