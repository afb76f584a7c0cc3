// Proto3 JSON by the book (src/types/json.ts, on @bufbuild/protobuf), what `driverkit call`
// reads and prints: every well-known type in its special form, proto and JSON field names,
// and clear refusals. The hand-written mapping it replaced refused a Timestamp string and
// wanted {"value": 5} for a wrapper.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type JsonCodec, jsonCodec } from '../src/types/json.js';
import { loadProtos } from '../src/types/proto.js';
import { ROOT } from './paths.js';

const ALL = 'wkt.v1.All';
let codec: JsonCodec;
beforeAll(async () => {
  codec = jsonCodec(await loadProtos([join(ROOT, 'test/json/wkt.proto')], [], true));
});
const roundTrip = (json: unknown) => codec.toJson(ALL, codec.fromJson(ALL, json));

describe('proto3 JSON', () => {
  it.each([
    { field: 'at', json: '2020-01-01T00:00:00Z', back: '2020-01-01T00:00:00Z' },
    { field: 'at', json: '2020-01-01T01:00:00.5+01:00', back: '2020-01-01T00:00:00.500Z' },
    { field: 'took', json: '1.5s', back: '1.500s' },
    { field: 'count', json: 5, back: 5 },
    { field: 'label', json: 'x', back: 'x' },
    { field: 'flag', json: false, back: false },
    { field: 'big', json: '9007199254740993', back: '9007199254740993' },
    { field: 'blob', json: 'AQI=', back: 'AQI=' },
    { field: 'ratio', json: 'NaN', back: 'NaN' },
    {
      field: 'attrs',
      json: { a: 1, b: [true, null], c: { d: 'e' } },
      back: { a: 1, b: [true, null], c: { d: 'e' } },
    },
    { field: 'anyValue', json: 'str', back: 'str' },
    { field: 'anyValue', json: null, back: null },
    { field: 'list', json: [1, 'two', false], back: [1, 'two', false] },
    { field: 'mask', json: 'a.b,fooBar', back: 'a.b,fooBar' },
    { field: 'nothing', json: {}, back: {} },
    {
      field: 'packed',
      json: { '@type': 'type.googleapis.com/google.protobuf.Duration', value: '2s' },
      back: { '@type': 'type.googleapis.com/google.protobuf.Duration', value: '2s' },
    },
    { field: 'plainInt64', json: '-9223372036854775808', back: '-9223372036854775808' },
    { field: 'raw', json: 'AAE=', back: 'AAE=' },
  ])('$field: $json', ({ field, json, back }) => {
    expect(roundTrip({ [field]: json })).toEqual({ [field]: back });
  });

  it('reads proto names as well as JSON names, and leaves defaults out', () => {
    expect(roundTrip({ plain_int64: '7', any_value: 1 })).toEqual({ plainInt64: '7', anyValue: 1 });
    expect(roundTrip({ plainInt64: '0', raw: '' })).toEqual({});
  });

  it.each([
    { json: { nope: 1 }, error: /key "nope" is unknown/ },
    { json: { count: 'x' }, error: /Int32Value.*expected number \(int32\), got "x"/ },
    { json: { count: 2 ** 31 }, error: /Int32Value/ },
    { json: { at: 'yesterday' }, error: /Timestamp.*invalid RFC 3339/ },
    { json: { took: '5 minutes' }, error: /Duration/ },
    { json: { plainInt64: 1.5 }, error: /plain_int64/ },
    { json: { raw: '***' }, error: /raw/ },
  ])('refuses $json clearly', ({ json, error }) => {
    expect(() => codec.fromJson(ALL, json)).toThrow(error);
  });

  it("reads packages that name each other's types (a.A1 ← b.B ← a.A2)", async () => {
    const cycle = jsonCodec(
      await loadProtos([join(ROOT, 'test/json/packages/a2.proto')], [], true),
    );
    const json = { y: { x: { s: 'q' } } };
    expect(cycle.toJson('a.A2', cycle.fromJson('a.A2', json))).toEqual(json);
  });

  it('names a method by its service', () => {
    expect(codec.method('wkt.v1.Wk', 'Echo')).toEqual({ request: ALL, response: ALL });
  });
});
