// Driver types from a .proto at run time (protobufjs), shaped like ts-proto's output so a
// host and the CLI treat them as they treat generated ones: lowerCamelCase fields,
// google.protobuf.Struct as a plain object, int64 as a decimal string (exact).
import protobuf from 'protobufjs';
import type { Contract, MessageType, MethodDef, ServiceDef } from '../contracts/contract.js';
import type { TypeSpec } from './driver-types.js';
import { fullName } from './proto.js';

const STRUCT = 'google.protobuf.Struct';
const VALUE = 'google.protobuf.Value';
const LIST = 'google.protobuf.ListValue';

/** How decoded messages look: int64 exact as strings, enums as numbers (as ts-proto), defaults present. */
const DECODED: protobuf.IConversionOptions = {
  longs: String,
  enums: Number,
  bytes: Buffer,
  defaults: true,
  arrays: true,
  objects: true,
};

/** A plain value as a google.protobuf.Value message object. */
function toValue(v: unknown): Record<string, unknown> {
  if (v === null || v === undefined) return { nullValue: 0 };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(toValue) } };
  if (v instanceof Date) return { stringValue: v.toISOString() };
  return { structValue: toStruct(v as Record<string, unknown>) };
}

function toStruct(o: Record<string, unknown>): Record<string, unknown> {
  return { fields: Object.fromEntries(Object.entries(o).map(([k, v]) => [k, toValue(v)])) };
}

function fromValue(v: Record<string, any> | undefined): unknown {
  if (!v) return null;
  if (v.structValue) return fromStruct(v.structValue);
  if (v.listValue) return (v.listValue.values ?? []).map(fromValue);
  for (const k of ['stringValue', 'numberValue', 'boolValue'])
    if (v[k] !== undefined && v[k] !== null) return v[k];
  return null;
}

function fromStruct(s: Record<string, any>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(s.fields ?? {}).map(([k, v]) => [k, fromValue(v as Record<string, any>)]),
  );
}

const INT32 = new Set(['int32', 'sint32', 'sfixed32']);
const UINT32 = new Set(['uint32', 'fixed32']);
const INT64 = new Set(['int64', 'sint64', 'sfixed64']);
const UINT64 = new Set(['uint64', 'fixed64']);

/**
 * Why a JSON value cannot be a field of this type (proto3 JSON mapping), or undefined when
 * it can: int64 as a decimal string (or a safe integer), enums by name (or number), bytes
 * as base64, numbers for the 32-bit and floating types.
 */
function scalarProblem(field: protobuf.Field, v: unknown): string | undefined {
  const type = field.resolve().resolvedType;
  if (type instanceof protobuf.Enum)
    return typeof v === 'string'
      ? v in type.values
        ? undefined
        : `one of ${Object.keys(type.values).join(', ')}`
      : Number.isInteger(v)
        ? undefined
        : `an enum name of ${type.name}`;
  const t = field.type;
  const integer = (min: number, max: number) => {
    const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
    return Number.isInteger(n) && (n as number) >= min && (n as number) <= max
      ? undefined
      : `an integer from ${min} to ${max}`;
  };
  if (INT32.has(t)) return integer(-(2 ** 31), 2 ** 31 - 1);
  if (UINT32.has(t)) return integer(0, 2 ** 32 - 1);
  if (INT64.has(t) || UINT64.has(t)) {
    const ok =
      (typeof v === 'string' && (UINT64.has(t) ? /^\d+$/ : /^-?\d+$/).test(v)) ||
      (Number.isSafeInteger(v) && (!UINT64.has(t) || (v as number) >= 0));
    return ok
      ? undefined
      : `a ${t} as a decimal string, such as "${UINT64.has(t) ? '18446744073709551615' : '-9223372036854775808'}"`;
  }
  if (t === 'double' || t === 'float')
    return typeof v === 'number' || ['NaN', 'Infinity', '-Infinity'].includes(v as string)
      ? undefined
      : 'a number';
  if (t === 'bool') return typeof v === 'boolean' ? undefined : 'true or false';
  if (t === 'string') return typeof v === 'string' ? undefined : 'a string';
  if (t === 'bytes')
    return typeof v === 'string' && /^[A-Za-z0-9+/_-]*={0,2}$/.test(v)
      ? undefined
      : 'base64 (a string)';
  return undefined;
}

/** Walks a message object field by field, handing message-typed values to `inner`. */
function mapMessage(
  t: protobuf.Type,
  o: Record<string, unknown>,
  inner: (t: protobuf.Type, v: unknown, key: string) => unknown,
  onUnknown?: (key: string) => never,
  onScalar?: (field: protobuf.Field, v: unknown, key: string, shape?: string) => void,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(o)) {
    // proto3 JSON accepts the proto name too: user_id for userId.
    const name = key.includes('_')
      ? key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())
      : key;
    const field = t.fields[name];
    if (!field) {
      onUnknown?.(key);
      continue;
    }
    const type = field.resolve().resolvedType;
    if (!(type instanceof protobuf.Type) || value === null || value === undefined) {
      if (onScalar && value !== null && value !== undefined) {
        if (field.repeated && !Array.isArray(value)) onScalar(field, value, key, 'a JSON array');
        else if (field.map && (typeof value !== 'object' || Array.isArray(value)))
          onScalar(field, value, key, 'a JSON object');
        else if (field.map)
          for (const [k, v] of Object.entries(value as object)) onScalar(field, v, `${key}.${k}`);
        else if (field.repeated)
          (value as unknown[]).forEach((v, i) => onScalar(field, v, `${key}[${i}]`));
        else onScalar(field, value, key);
      }
      out[name] = value;
    } else if (field.map)
      out[name] = Object.fromEntries(
        Object.entries(value as object).map(([k, v]) => [k, inner(type, v, `${key}.${k}`)]),
      );
    else if (field.repeated && Array.isArray(value))
      out[name] = value.map((v, i) => inner(type, v, `${key}[${i}]`));
    else out[name] = inner(type, value, key);
  }
  return out;
}

/** A plain object (ts-proto's shape) as protobufjs's fromObject wants it. */
function toProto(t: protobuf.Type, v: unknown, strictPath?: string): unknown {
  const name = fullName(t);
  if (name === STRUCT) return toStruct((v ?? {}) as Record<string, unknown>);
  if (name === VALUE) return toValue(v);
  if (name === LIST) return { values: ((v ?? []) as unknown[]).map(toValue) };
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    if (strictPath !== undefined)
      throw new TypeError(
        `${strictPath || 'the message'}: expected a JSON object (${name}), got ${JSON.stringify(v)}`,
      );
    return v;
  }
  const at = (key: string) => `${strictPath ? `${strictPath}.` : ''}${key}`;
  const unknown =
    strictPath === undefined
      ? undefined
      : (key: string): never => {
          throw new TypeError(
            `${at(key)}: no such field in ${name} (fields: ${Object.keys(t.fields).join(', ')})`,
          );
        };
  const scalar =
    strictPath === undefined
      ? undefined
      : (field: protobuf.Field, fv: unknown, key: string, shape?: string) => {
          const problem =
            shape ?? (Array.isArray(fv) ? 'one value, not an array' : scalarProblem(field, fv));
          if (problem)
            throw new TypeError(`${at(key)}: expected ${problem}, got ${JSON.stringify(fv)}`);
        };
  return mapMessage(
    t,
    v as Record<string, unknown>,
    (ft, fv, key) => toProto(ft, fv, strictPath === undefined ? undefined : at(key)),
    unknown,
    scalar,
  );
}

/** A decoded protobufjs object back into ts-proto's shape. */
function fromProto(t: protobuf.Type, v: unknown): unknown {
  const name = fullName(t);
  if (name === STRUCT) return fromStruct(v as Record<string, unknown>);
  if (name === VALUE) return fromValue(v as Record<string, unknown>);
  if (name === LIST)
    return ((v as { values?: unknown[] }).values ?? []).map((x) =>
      fromValue(x as Record<string, unknown>),
    );
  return mapMessage(t, v as Record<string, unknown>, (ft, fv) => fromProto(ft, fv));
}

/**
 * Leaves out fields at their default, as proto3 JSON does (protobufjs prints every field it
 * holds): 0, "", false, the zero enum, empty lists and maps. A message field, a oneof
 * member and a proto3 `optional` field have presence and stay.
 */
function withoutDefaults(t: protobuf.Type, o: Record<string, unknown>): Record<string, unknown> {
  for (const [key, v] of Object.entries(o)) {
    const field = t.fields[key];
    if (!field) continue;
    const type = field.resolve().resolvedType;
    if (field.map || field.repeated) {
      const empty = Array.isArray(v) ? v.length === 0 : Object.keys(v as object).length === 0;
      if (empty) delete o[key];
      else if (type instanceof protobuf.Type && Array.isArray(v))
        v.forEach(
          (x) => x && typeof x === 'object' && withoutDefaults(type, x as Record<string, unknown>),
        );
    } else if (type instanceof protobuf.Type) {
      if (v && typeof v === 'object' && !Array.isArray(v))
        withoutDefaults(type, v as Record<string, unknown>);
    } else if (!field.partOf && !field.options?.proto3_optional) {
      const zero =
        type instanceof protobuf.Enum
          ? Object.keys(type.values).find((n) => type.values[n] === 0)
          : undefined;
      if (v === 0 || v === '0' || v === '' || v === false || (zero !== undefined && v === zero))
        delete o[key];
    }
  }
  return o;
}

/** ts-proto's MessageFns for a protobufjs type. */
export function messageType(t: protobuf.Type): MessageType<Record<string, unknown>> {
  return {
    encode: (m) => t.encode(t.fromObject(toProto(t, m) as Record<string, unknown>)),
    decode: (bytes) =>
      fromProto(t, t.toObject(t.decode(bytes), DECODED)) as Record<string, unknown>,
    fromPartial: (o) => o ?? {},
    // proto3 JSON: unknown fields and non-objects are refused, naming the field.
    fromJSON: (json) => {
      const proto = toProto(t, json, '') as Record<string, unknown>;
      return fromProto(t, t.toObject(t.fromObject(proto), DECODED)) as Record<string, unknown>;
    },
    toJSON: (m) =>
      withoutDefaults(
        t,
        fromProto(
          t,
          t.toObject(
            t.fromObject(toProto(t, m) as Record<string, unknown>),
            protobuf.util.toJSONOptions,
          ),
        ) as Record<string, unknown>,
      ),
  };
}

/** A protobufjs service as ts-proto's generic definition: methods keyed in lowerCamelCase. */
export function serviceDef(service: protobuf.Service): ServiceDef {
  const methods: Record<string, MethodDef> = {};
  for (const m of service.methodsArray) {
    m.resolve();
    methods[m.name[0].toLowerCase() + m.name.slice(1)] = {
      name: m.name,
      requestType: messageType(m.resolvedRequestType!),
      responseType: messageType(m.resolvedResponseType!),
      requestStream: m.requestStream === true,
      responseStream: m.responseStream === true,
    };
  }
  return { name: service.name, fullName: fullName(service), methods };
}

/** The contract of a type read from protos. */
export function dynamicContract(spec: TypeSpec): Contract {
  const versions: Record<number, ServiceDef> = {};
  for (const [v, service] of spec.versions) versions[v] = serviceDef(service);
  return { type: spec.type, cookieKey: spec.cookieKey, cookieValue: spec.cookieValue, versions };
}
