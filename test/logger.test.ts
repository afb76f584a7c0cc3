// The host's console logger writes one line per log call, whatever a driver or a gateway
// client put in a message or a field: a newline or an escape sequence cannot forge a host
// line ("[ERROR] admin password changed") or move the terminal's cursor.
import { describe, expect, it } from 'vitest';
import { consoleLogger } from '../src/launch/logger.js';

function logged(message: string, fields: Record<string, unknown>): string {
  let out = '';
  consoleLogger('trace', (l) => (out += l)).log('info', message, fields);
  return out;
}

describe('console logger', () => {
  it.each([
    {
      what: 'a message',
      message: 'ok\n2026-12-02T00:00:00.000Z [ERROR] admin password changed',
      fields: {},
    },
    {
      what: 'a field key',
      message: 'm',
      fields: { 'x\n2026-12-02T00:00:00.000Z [ERROR] forged driver': 'demo' },
    },
    { what: 'a field value', message: 'm', fields: { k: 'v\r\u001b[2K[ERROR] forged' } },
    { what: 'a carriage return', message: 'fine\rfake', fields: {} },
  ])('escapes control characters in $what', ({ message, fields }) => {
    const line = logged(message, fields);
    expect(line.endsWith('\n')).toBe(true);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: none may reach the terminal
    expect(line.slice(0, -1)).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  });

  it('keeps plain values plain and quotes the rest', () => {
    expect(logged('hello', { driver: 'demo', note: 'two words', n: 3 })).toMatch(
      /\[INFO\] hello driver=demo note="two words" n=3\n$/,
    );
    expect(logged('a\nb', {})).toMatch(/\[INFO\] a\\nb\n$/);
  });
});
