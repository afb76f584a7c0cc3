import { describe, expect, it } from 'vitest';
import { formatVersions, parseVersions, pickVersion } from '../src/protocol/versions.js';

describe('version negotiation (go-plugin protocolVersion)', () => {
  it.each([
    { host: [1], driver: [1], want: 1 },
    { host: [1, 2], driver: [1, 2], want: 2 },
    { host: [1, 2, 3], driver: [2, 1], want: 2 },
    {
      host: [3],
      driver: [1, 2],
      want: 1,
      why: 'no common version: the lowest, for the host to report',
    },
    { host: [], driver: [2, 4], want: 2, why: 'a legacy host that sent nothing gets the lowest' },
  ])('host $host, driver $driver -> $want', ({ host, driver, want }) => {
    expect(pickVersion(host, driver)).toBe(want);
  });

  it.each([
    { env: undefined, want: [] },
    { env: '', want: [] },
    { env: '1,2', want: [1, 2] },
    { env: '3,x,1', want: [3, 1] },
  ])('parses PLUGIN_PROTOCOL_VERSIONS=$env', ({ env, want }) => {
    expect(parseVersions(env)).toEqual(want);
  });

  it('formats without spaces', () => expect(formatVersions([1, 2])).toBe('1,2'));
  it('a driver with no versions is a programming error', () =>
    expect(() => pickVersion([1], [])).toThrow(/at least one/));
});
