// `[types.NAME]`: a driver type declared from its .proto alone, loaded at run time.
import { isAbsolute, resolve } from 'node:path';
import type { Contract } from '../contracts/contract.js';
import type { TypeSpec } from '../types/driver-types.js';
import { fail, isTable, ok, strings, within, type Failure, type Parsed } from './parsers.js';
import { parseTable, type Fields, type Key } from './table.js';

/** What parsing a `[types.NAME]` table knows besides the values. */
interface TypeContext {
  dir: string;
}

const paths = (v: unknown, ctx: TypeContext): Parsed<string[]> => {
  const list = typeof v === 'string' ? [v] : v;
  const parsed = strings(list);
  if (!parsed.ok || parsed.value.length === 0) return fail('a .proto path or an array of them', v);
  return ok(parsed.value.map((p) => (isAbsolute(p) ? p : resolve(ctx.dir, p))));
};
const dirs = (v: unknown, ctx: TypeContext): Parsed<string[]> => {
  const parsed = strings(v);
  return parsed.ok
    ? ok(parsed.value.map((p) => (isAbsolute(p) ? p : resolve(ctx.dir, p))))
    : fail('an array of folder paths', v);
};
const text = (expected: string) => (v: unknown) =>
  typeof v === 'string' && v !== '' ? ok(v) : fail(expected, v);
const version = (v: unknown) =>
  Number.isInteger(v) && (v as number) >= 1
    ? ok(v as number)
    : fail('an app protocol version of 1 or more', v);

/** The keys of a `[types.NAME]` table. */
export const TYPE_KEYS = [
  {
    toml: 'proto',
    field: 'protos',
    parse: paths,
    required: 'the .proto file (or files) that define the type',
    doc: 'The `.proto` file, or an array of files, that define the type.',
  },
  {
    toml: 'include',
    field: 'include',
    parse: dirs,
    default: [],
    doc: "Import roots, as protoc's `-I`; imports are also looked up next to the importing file.",
  },
  {
    toml: 'service',
    field: 'service',
    parse: text('a full service name such as "kv.v1.KV"'),
    defaultDoc: 'the services whose `(driverkit.driver)` option names this type',
    doc: "For a proto without driverkit's option (a third party's): the service this type serves.",
  },
  {
    toml: 'cookie_key',
    field: 'cookieKey',
    parse: text('the handshake cookie key (string)'),
    defaultDoc: 'from the proto',
    doc: "With `service`: go-plugin's MagicCookieKey.",
  },
  {
    toml: 'cookie_value',
    field: 'cookieValue',
    parse: text('the handshake cookie value (string)'),
    defaultDoc: 'from the proto',
    doc: "With `service`: go-plugin's MagicCookieValue.",
  },
  {
    toml: 'version',
    field: 'version',
    parse: version,
    defaultDoc: '`1`',
    doc: "With `service`: the app protocol version it is (go-plugin's ProtocolVersion).",
  },
] as const satisfies readonly Key<TypeContext>[];

/** One `[types.NAME]` table, parsed. */
export interface TypeDecl extends Fields<typeof TYPE_KEYS> {
  name: string;
}

const NAME = /^[A-Za-z0-9_-]+$/;

/** The `types` table's shape (no files are read here). */
export function typeTables(v: unknown, ctx: TypeContext): Parsed<TypeDecl[]> {
  if (!isTable(v)) return fail('a table of [types.NAME] tables', v);
  const out: TypeDecl[] = [];
  for (const [name, raw] of Object.entries(v)) {
    if (!NAME.test(name))
      return within(name, fail('a type name of letters, digits, "_" or "-"', name));
    const fields = parseTable(TYPE_KEYS, raw, ctx);
    if (!fields.ok) return within(name, fields);
    const handshake = [fields.value.service, fields.value.cookieKey, fields.value.cookieValue];
    if (handshake.some((x) => x !== undefined) && handshake.some((x) => x === undefined)) {
      const missing = (['service', 'cookie_key', 'cookie_value'] as const).find(
        (_, i) => handshake[i] === undefined,
      )!;
      return within(
        name,
        within(
          missing,
          fail(
            'service, cookie_key and cookie_value together, for a proto without the (driverkit.driver) option',
          ),
        ),
      );
    }
    out.push({ name, ...fields.value });
  }
  return ok(out);
}

/**
 * Loads each declared type's protos and builds its contract. Fails with the key path of
 * the declaration at fault: a proto that does not parse, a service the proto lacks, a type
 * with no handshake, two types with one cookie (also against the types known already).
 */
export async function loadTypeDecls(
  decls: readonly TypeDecl[],
  known: Readonly<Record<string, Contract>>,
): Promise<Parsed<Record<string, Contract>>> {
  if (decls.length === 0) return ok({});
  // protobufjs and the run-time codecs load only for a config that declares types.
  const [{ checkCookies }, { dynamicContract }] = await Promise.all([
    import('../types/driver-types.js'),
    import('../types/dynamic.js'),
  ]);
  const specs: TypeSpec[] = [];
  const same: Record<string, Contract> = {};
  for (const decl of decls) {
    const spec = await loadDecl(decl);
    if (!spec.ok) return within(decl.name, spec);
    const have = Object.hasOwn(known, decl.name) ? known[decl.name] : undefined;
    if (have === undefined) specs.push(spec.value);
    // The host's own (generated) contract of the same type: its typed codecs win.
    else if (have.cookieKey === spec.value.cookieKey && have.cookieValue === spec.value.cookieValue)
      same[decl.name] = have;
    else
      return within(
        decl.name,
        fail(
          `the handshake the host knows type "${decl.name}" by (${have.cookieKey}=${have.cookieValue}), or another name`,
          `${spec.value.cookieKey}=${spec.value.cookieValue}`,
        ),
      );
  }
  const all = [
    ...Object.values(known).map((c) => ({
      type: c.type,
      cookieKey: c.cookieKey,
      cookieValue: c.cookieValue,
      versions: new Map(),
    })),
    ...specs,
  ];
  try {
    checkCookies(all);
  } catch (err) {
    return fail((err as Error).message);
  }
  return ok({ ...same, ...Object.fromEntries(specs.map((s) => [s.type, dynamicContract(s)])) });
}

async function loadDecl(decl: TypeDecl): Promise<Parsed<TypeSpec>> {
  const [{ driverTypes, TypeSpecError }, { fullName, loadProtos, servicesOf }] = await Promise.all([
    import('../types/driver-types.js'),
    import('../types/proto.js'),
  ]);
  let root: Awaited<ReturnType<typeof loadProtos>>;
  let declared: TypeSpec[];
  try {
    root = await loadProtos(decl.protos, decl.include);
    declared = driverTypes(root);
  } catch (err) {
    const message = (err as Error).message;
    return within(
      'proto',
      err instanceof TypeSpecError
        ? fail(message)
        : fail(`a .proto that parses (${message})`, decl.protos.join(', ')),
    );
  }
  if (decl.service === undefined) {
    const spec = declared.find((s) => s.type === decl.name);
    if (spec) return ok(spec);
    const others = declared.length
      ? ` (it declares: ${declared.map((s) => s.type).join(', ')})`
      : '';
    return fail(
      `a service whose (driverkit.driver) option names type "${decl.name}" in the proto${others}, or service, cookie_key and cookie_value here`,
    );
  }
  const services = servicesOf(root);
  const service = services.find((s) => fullName(s) === decl.service);
  if (!service)
    return within(
      'service',
      fail(
        `a service of the proto (${services.map(fullName).join(', ') || 'it has none'})`,
        decl.service,
      ) as Failure,
    );
  return ok({
    type: decl.name,
    cookieKey: decl.cookieKey!,
    cookieValue: decl.cookieValue!,
    versions: new Map([[decl.version ?? 1, service]]),
  });
}
