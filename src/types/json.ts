// Proto3 JSON by the book, from @bufbuild/protobuf: what `driverkit call` reads and prints.
// The .proto files are parsed by protobufjs (as for run-time types) and handed over as
// descriptors; the well-known types are @bufbuild/protobuf's own, so a Timestamp reads
// "2020-01-01T00:00:00Z", a wrapper a plain value, a Duration "1.5s", as the mapping says.
import {
  createFileRegistry,
  type DescMessage,
  type FileRegistry,
  fromBinary,
  fromJson,
  type JsonValue,
  toBinary,
  toJson,
} from '@bufbuild/protobuf';
import {
  type DescriptorProto,
  type FileDescriptorProto,
  FileDescriptorSetSchema,
  file_google_protobuf_any,
  file_google_protobuf_duration,
  file_google_protobuf_empty,
  file_google_protobuf_field_mask,
  file_google_protobuf_struct,
  file_google_protobuf_timestamp,
  file_google_protobuf_wrappers,
} from '@bufbuild/protobuf/wkt';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';

const WELL_KNOWN = [
  file_google_protobuf_any,
  file_google_protobuf_duration,
  file_google_protobuf_empty,
  file_google_protobuf_field_mask,
  file_google_protobuf_struct,
  file_google_protobuf_timestamp,
  file_google_protobuf_wrappers,
];

/** Reads and writes the messages of parsed protos as proto3 JSON, strictly. */
export interface JsonCodec {
  /** JSON (proto or JSON field names) to wire bytes; unknown fields and wrong types throw. */
  fromJson(typeName: string, json: unknown): Buffer;
  /** Wire bytes to proto3 JSON (defaults left out, int64 as strings). */
  toJson(typeName: string, bytes: Buffer): JsonValue;
  /** The full names of a method's request and response messages. */
  method(service: string, method: string): { request: string; response: string };
}

/** A JsonCodec over the messages of `root` (parsed with `keepCase: true`, so proto names survive). */
export function jsonCodec(root: protobuf.Root): JsonCodec {
  const registry = registryOf(root);
  const message = (name: string): DescMessage => {
    const desc = registry.getMessage(name);
    if (!desc) throw new TypeError(`no message type ${name} in the protos`);
    return desc;
  };
  return {
    fromJson: (name, json) => {
      const desc = message(name);
      return Buffer.from(toBinary(desc, fromJson(desc, json as JsonValue, { registry })));
    },
    toJson: (name, bytes) => {
      const desc = message(name);
      return toJson(desc, fromBinary(desc, bytes), { registry });
    },
    method: (service, name) => {
      const m = registry.getService(service)?.methods.find((x) => x.name === name);
      if (!m) throw new TypeError(`no method ${service}.${name} in the protos`);
      return { request: m.input.typeName, response: m.output.typeName };
    },
  };
}

/**
 * protobufjs describes each namespace as a file without its imports; @bufbuild/protobuf
 * wants them. Each file gets as dependencies the files that define the types it names,
 * and google.protobuf's are replaced by @bufbuild/protobuf's own.
 */
function registryOf(root: protobuf.Root): FileRegistry {
  // protobufjs/ext/descriptor adds toDescriptor to Root at run time; its types do not say so.
  const described = root as unknown as { toDescriptor(v: string): descriptor.IFileDescriptorSet };
  const set = descriptor.FileDescriptorSet.encode(described.toDescriptor('proto3')).finish();
  const files = (fromBinary(FileDescriptorSetSchema, set).file as FileDescriptorProto[])
    .filter((f) => f.package !== 'google.protobuf')
    .flatMap((f) => bySourceFile(root, f));
  const definedIn = new Map<string, string>();
  for (const f of files) for (const name of typeNames(f)) definedIn.set(name, f.name);
  for (const wkt of WELL_KNOWN) {
    for (const m of wkt.messages) definedIn.set(m.typeName, wkt.proto.name);
    for (const e of wkt.enums) definedIn.set(e.typeName, wkt.proto.name);
  }
  for (const f of files) {
    // protoc always writes json_name; @bufbuild/protobuf relies on it, protobufjs leaves it out.
    forEachMessage(f.messageType, (m) => {
      for (const field of m.field) field.jsonName ||= jsonName(field.name);
    });
    qualify(root, f);
    // Extensions are options (driverkit's on descriptor.proto): nothing JSON reads or writes.
    f.extension = [];
    forEachMessage(f.messageType, (m) => void (m.extension = []));
    const deps = new Set<string>();
    for (const name of referencedTypes(f)) {
      const file = definedIn.get(name);
      if (file && file !== f.name) deps.add(file);
    }
    f.dependency = [...deps];
  }
  const byName = new Map<string, FileDescriptorProto>(files.map((f) => [f.name, f]));
  const wktByName = new Map(WELL_KNOWN.map((w) => [w.proto.name, w]));
  const resolve = (name: string) => wktByName.get(name) ?? byName.get(name);
  return createFileRegistry(...files.map((f) => createFileRegistry(f, resolve)));
}

/**
 * protobufjs's file per package split back into the .proto files its types came from. Two
 * packages may name each other's types (a1.proto ← b.proto ← a2.proto): as packages they
 * import each other, which a registry refuses, while .proto files never do.
 */
function bySourceFile(root: protobuf.Root, f: FileDescriptorProto): FileDescriptorProto[] {
  const prefix = f.package ? `${f.package}.` : '';
  const sourceOf = (name: string) => root.lookup(`${prefix}${name}`)?.filename ?? f.name;
  const parts = new Map<string, FileDescriptorProto>();
  const part = (name: string) => {
    const file = sourceOf(name);
    let p = parts.get(file);
    if (!p) {
      p = { ...f, name: file, messageType: [], enumType: [], service: [] };
      parts.set(file, p);
    }
    return p;
  };
  for (const m of f.messageType) part(m.name).messageType.push(m);
  for (const e of f.enumType) part(e.name).enumType.push(e);
  for (const s of f.service) part(s.name).service.push(s);
  return [...parts.values()];
}

/** Full names of the messages and enums a file defines, nested ones included. */
function typeNames(f: FileDescriptorProto): string[] {
  const out: string[] = [];
  const walk = (prefix: string, messages: DescriptorProto[]) => {
    for (const m of messages) {
      const name = `${prefix}${m.name}`;
      out.push(name);
      for (const e of m.enumType) out.push(`${name}.${e.name}`);
      walk(`${name}.`, m.nestedType);
    }
  };
  const prefix = f.package ? `${f.package}.` : '';
  for (const e of f.enumType) out.push(`${prefix}${e.name}`);
  walk(prefix, f.messageType);
  return out;
}

/** Full names of the types a file's fields and methods name. */
function referencedTypes(f: FileDescriptorProto): string[] {
  const out: string[] = [];
  const walk = (messages: DescriptorProto[]) => {
    for (const m of messages) {
      for (const field of m.field) if (field.typeName) out.push(field.typeName.replace(/^\./, ''));
      walk(m.nestedType);
    }
  };
  walk(f.messageType);
  for (const s of f.service)
    for (const m of s.method)
      out.push(m.inputType.replace(/^\./, ''), m.outputType.replace(/^\./, ''));
  return out;
}

function forEachMessage(messages: DescriptorProto[], fn: (m: DescriptorProto) => void): void {
  for (const m of messages) {
    fn(m);
    forEachMessage(m.nestedType, fn);
  }
}

/** protoc's json_name: underscores dropped, the letter after each one upper-cased. */
function jsonName(name: string): string {
  return name.replace(/_+([a-z0-9]?)/g, (_, c: string) => c.toUpperCase());
}

/**
 * protobufjs writes a type name as the .proto spelled it (`UserType`, relative to the
 * package); a descriptor names it in full (`.driverkit.userprovider.v1.UserType`). The
 * parsed tree knows what each name resolved to.
 */
function qualify(root: protobuf.Root, f: FileDescriptorProto): void {
  const full = (t: protobuf.ReflectionObject | null | undefined) => t?.fullName;
  const walk = (prefix: string, messages: DescriptorProto[], parent?: protobuf.Type) => {
    for (const m of messages) {
      const name = `${prefix}${m.name}`;
      const type = root.lookup(name);
      for (const field of m.field) {
        if (!field.typeName) continue;
        // A map's entry message is protobufjs's own invention: its value is the map field's.
        const own = type instanceof protobuf.Type ? type.fields[field.name] : undefined;
        const mapField =
          !own && parent && m.options?.mapEntry
            ? Object.values(parent.fields).find((x) => `${pascal(x.name)}Entry` === m.name)
            : undefined;
        // Else a name relative to where it is used (a map entry's value, say): looked up as
        // protoc would, from the message outwards.
        const scope = type instanceof protobuf.Type ? type : parent;
        const relative = field.typeName.startsWith('.') ? undefined : scope?.lookup(field.typeName);
        field.typeName =
          full(own?.resolvedType ?? mapField?.resolvedType ?? relative) ?? field.typeName;
      }
      walk(`${name}.`, m.nestedType, type instanceof protobuf.Type ? type : undefined);
    }
  };
  walk(f.package ? `${f.package}.` : '', f.messageType);
  for (const s of f.service) {
    const service = root.lookupService(`${f.package ? `${f.package}.` : ''}${s.name}`);
    for (const m of s.method) {
      const method = service.methods[m.name];
      m.inputType = full(method?.resolvedRequestType) ?? m.inputType;
      m.outputType = full(method?.resolvedResponseType) ?? m.outputType;
    }
  }
}

function pascal(name: string): string {
  const camel = jsonName(name);
  return camel.charAt(0).toUpperCase() + camel.slice(1);
}
