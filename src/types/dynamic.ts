// Driver types from a .proto at run time (protobufjs), shaped like ts-proto's output so a
// host and the CLI treat them as they treat generated ones: lowerCamelCase fields,
// google.protobuf.Struct as a plain object, int64 as a decimal string (exact).
import protobuf from 'protobufjs';
import type { Contract, MessageType, MethodDef, ServiceDef } from '../contracts/contract.js';
import type { TypeSpec } from './driver-types.js';
import { type JsonCodec, jsonCodec } from './json.js';
import { fullName, withProtoNames } from './proto.js';

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

/** Walks a message object field by field, handing message-typed values to `inner`. */
function mapMessage(
  t: protobuf.Type,
  o: Record<string, unknown>,
  inner: (t: protobuf.Type, v: unknown) => unknown,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(o)) {
    // ts-proto's fields are lowerCamelCase; a proto name (user_id) is read as userId.
    const name = key.includes('_')
      ? key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())
      : key;
    const field = t.fields[name];
    if (!field) continue;
    const type = field.resolve().resolvedType;
    if (!(type instanceof protobuf.Type) || value === null || value === undefined)
      out[name] = value;
    else if (field.map)
      out[name] = Object.fromEntries(
        Object.entries(value as object).map(([k, v]) => [k, inner(type, v)]),
      );
    else if (field.repeated && Array.isArray(value)) out[name] = value.map((v) => inner(type, v));
    else out[name] = inner(type, value);
  }
  return out;
}

/** A plain object (ts-proto's shape) as protobufjs's fromObject wants it. */
function toProto(t: protobuf.Type, v: unknown): unknown {
  const name = fullName(t);
  if (name === STRUCT) return toStruct((v ?? {}) as Record<string, unknown>);
  if (name === VALUE) return toValue(v);
  if (name === LIST) return { values: ((v ?? []) as unknown[]).map(toValue) };
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
  return mapMessage(t, v as Record<string, unknown>, toProto);
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
 * ts-proto's MessageFns for a protobufjs type. Its JSON is proto3 JSON by the book
 * (@bufbuild/protobuf, src/types/json.ts), through the wire form: a Timestamp reads
 * "2020-01-01T00:00:00Z", a wrapper a plain value, unknown fields and wrong types throw.
 */
export function messageType(
  t: protobuf.Type,
  json: () => JsonCodec,
): MessageType<Record<string, unknown>> {
  const encode = (m: Record<string, unknown>) =>
    t.encode(t.fromObject(toProto(t, m) as Record<string, unknown>));
  const decode = (bytes: Uint8Array) =>
    fromProto(t, t.toObject(t.decode(bytes), DECODED)) as Record<string, unknown>;
  return {
    encode,
    decode,
    fromPartial: (o) => o ?? {},
    fromJSON: (o) => decode(json().fromJson(fullName(t), o)),
    toJSON: (m) => json().toJson(fullName(t), Buffer.from(encode(m).finish())),
  };
}

/** The method's `idempotency_level`, as ts-proto writes it. */
function idempotency(m: protobuf.Method): { idempotencyLevel: string } | undefined {
  const level = (m.options as Record<string, unknown> | undefined)?.idempotency_level;
  return typeof level === 'string' ? { idempotencyLevel: level } : undefined;
}

/** A protobufjs service as ts-proto's generic definition: methods keyed in lowerCamelCase. */
export function serviceDef(service: protobuf.Service, json: () => JsonCodec): ServiceDef {
  const methods: Record<string, MethodDef> = {};
  for (const m of service.methodsArray) {
    m.resolve();
    methods[m.name[0].toLowerCase() + m.name.slice(1)] = {
      name: m.name,
      requestType: messageType(m.resolvedRequestType!, json),
      responseType: messageType(m.resolvedResponseType!, json),
      requestStream: m.requestStream === true,
      responseStream: m.responseStream === true,
      options: idempotency(m),
    };
  }
  return { name: service.name, fullName: fullName(service), methods };
}

/**
 * Proto3 JSON reads proto field names too, which a lowerCamelCase tree no longer holds: the
 * same files parsed again keeping them, once, when JSON is first asked for.
 */
function jsonOf(root: protobuf.Root): () => JsonCodec {
  let codec: JsonCodec | undefined;
  return () => {
    codec ??= jsonCodec(withProtoNames(root));
    return codec;
  };
}

/** The contract of a type read from protos. */
export function dynamicContract(spec: TypeSpec): Contract {
  const versions: Record<number, ServiceDef> = {};
  for (const [v, service] of spec.versions) versions[v] = serviceDef(service, jsonOf(service.root));
  return { type: spec.type, cookieKey: spec.cookieKey, cookieValue: spec.cookieValue, versions };
}
