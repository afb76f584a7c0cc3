import { describe, expect, it } from 'vitest';
import { formatLogLine, formatTimestamp, parseLogLine } from '../src/protocol/hclog.js';

describe('hclog lines', () => {
  it('timestamps have six fractional digits, as go-plugin parses them', () => {
    expect(formatTimestamp(new Date('2026-01-02T15:04:05.123Z'))).toBe(
      '2026-01-02T15:04:05.123000Z',
    );
  });

  it('formats a JSON line with a string @message that parses back with its fields', () => {
    const line = formatLogLine(
      'warn',
      'disk full',
      { '@module': 'users', free: 3 },
      new Date('2026-01-02T15:04:05.000Z'),
    );
    expect(JSON.parse(line)).toEqual({
      '@level': 'warn',
      '@message': 'disk full',
      '@timestamp': '2026-01-02T15:04:05.000000Z',
      '@module': 'users',
      free: 3,
    });
    expect(parseLogLine(line)).toEqual({
      level: 'warn',
      message: 'disk full',
      fields: { '@module': 'users', free: 3 },
    });
  });

  it.each([
    { line: '[WARN] careful', level: 'warn', message: 'careful' },
    { line: '[ERROR]  broke', level: 'error', message: 'broke' },
    { line: '[TRACE] x', level: 'trace', message: 'x' },
    { line: '[INFO] x', level: 'info', message: 'x' },
    { line: 'plain text', level: 'debug', message: 'plain text' },
    { line: '{"not": "hclog"}', level: 'debug', message: '{"not": "hclog"}' },
    {
      line: '{"@level":"info","@message":"m","@timestamp":"2026-01-02T15:04:05Z"}',
      level: 'debug',
      why: 'timestamp without micros is not hclog',
    },
    {
      line: '{"@level":"info","@message":5,"@timestamp":"2026-01-02T15:04:05.000000Z"}',
      level: 'debug',
    },
    {
      line: '{"@level":"loud","@message":"m","@timestamp":"2026-01-02T15:04:05.000000+02:00"}',
      level: 'debug',
    },
  ])('$line -> $level', ({ line, level, message }) => {
    const e = parseLogLine(line);
    expect(e.level).toBe(level);
    if (message) expect(e.message).toBe(message);
  });
});
