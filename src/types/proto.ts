import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

/**
 * driverkit's own protos (driverkit/options.proto), shipped in the package's proto/ folder:
 * two levels up from dist/types/ or src/types/, one from a bundle in .cache/.
 */
export const OWN_PROTO = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4 && !existsSync(join(dir, 'proto/driverkit/options.proto')); i++)
    dir = dirname(dir);
  return join(dir, 'proto');
})();
/** protobufjs bundles google/protobuf's well-known types but not descriptor.proto, which it ships as a file. */
const PROTOBUFJS = dirname(createRequire(import.meta.url).resolve('protobufjs/package.json'));

/**
 * Parses `.proto` files with protobufjs, as protoc would: an import is looked up next to
 * the importing file, then in `include` folders; `driverkit/options.proto` and
 * google/protobuf's files come with driverkit. Field names become lowerCamelCase, as in
 * ts-proto's output and proto3 JSON, unless `keepCase` (for descriptors that keep the proto
 * names). Throws protobufjs's error (it names file and line).
 */
export async function loadProtos(
  files: readonly string[],
  include: readonly string[] = [],
  keepCase = false,
): Promise<protobuf.Root> {
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) => {
    if (isAbsolute(target)) return target;
    if (target === 'driverkit/options.proto') return join(OWN_PROTO, target);
    if (target === 'google/protobuf/descriptor.proto') return join(PROTOBUFJS, target);
    // protobufjs answers the other well-known types from its bundle, by this name.
    if (target.startsWith('google/protobuf/')) return target;
    const dirs = [...(origin ? [dirname(origin)] : []), ...include, process.cwd()];
    return (
      dirs.map((d) => resolve(d, target)).find((p) => existsSync(p)) ?? resolve(dirs[0], target)
    );
  };
  await root.load(
    files.map((f) => resolve(f)),
    { keepCase },
  );
  root.resolveAll();
  return root;
}

/** The files of a tree parsed again with their proto field names (keepCase), synchronously. */
export function withProtoNames(root: protobuf.Root): protobuf.Root {
  const twin = new protobuf.Root();
  twin.resolvePath = root.resolvePath;
  twin.loadSync(root.files, { keepCase: true });
  twin.resolveAll();
  return twin;
}

/** Every service of a parsed proto tree, by full name (`kv.v1.KV`). */
export function servicesOf(ns: protobuf.NamespaceBase): protobuf.Service[] {
  return ns.nestedArray.flatMap((n) =>
    n instanceof protobuf.Service
      ? [n]
      : n instanceof protobuf.Namespace || n instanceof protobuf.Type
        ? servicesOf(n)
        : [],
  );
}

/** A reflection object's full name without protobufjs's leading dot. */
export function fullName(o: protobuf.ReflectionObject): string {
  return o.fullName.replace(/^\./, '');
}
