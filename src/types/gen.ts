// `driverkit gen`: a .proto into a contract module for TypeScript hosts and drivers:
// ts-proto's output (run through buf, both resolved from the user's project or from
// driverkit's own dependencies) plus, per driver type, the contract object.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { checkCookies, driverTypes, TypeSpecError, type TypeSpec } from './driver-types.js';
import { fullName, loadProtos, OWN_PROTO, servicesOf } from './proto.js';

/**
 * ts-proto's options: generic service definitions (what a Contract holds), ESM imports,
 * and 64-bit integers as decimal strings: exact, the same as proto3 JSON and as types read
 * from a proto at run time (a number loses precision above 2^53).
 */
export const TS_PROTO_OPTIONS = [
  'outputServices=generic-definitions',
  'esModuleInterop=true',
  'importSuffix=.js',
  'env=node',
  'useExactTypes=false',
  'forceLong=string',
];

/** What to generate. */
export interface GenOptions {
  /** The .proto files to generate (their imports are found through `include`). */
  protos: string[];
  /** Import roots, as protoc's -I; the output mirrors a proto's path below its root. Default: the working directory. */
  include?: string[];
  /** The output folder. */
  out: string;
  /** The project whose buf and ts-proto to use. Default: the working directory. */
  project?: string;
  /**
   * A driver type for a proto without driverkit's option (a third party's): its service
   * and handshake, as config's `[types.NAME]` takes them.
   */
  type?: { type: string; service: string; cookieKey: string; cookieValue: string; version: number };
}

/** Thrown when the tools are missing or fail; the message says what to do. */
export class GenError extends Error {}

const OWN_OPTIONS = join(OWN_PROTO, 'driverkit/options.proto');

/** A tool's executable from the project's node_modules, else from driverkit's own. */
function toolPath(pkg: string, bin: string, project: string): string {
  for (const from of [join(project, 'package.json'), fileURLToPath(import.meta.url)]) {
    try {
      const manifest = createRequire(from).resolve(`${pkg}/package.json`);
      const bins = JSON.parse(readFileSync(manifest, 'utf8')).bin as Record<string, string>;
      return join(dirname(manifest), bins[bin]);
    } catch {
      // not installed there
    }
  }
  throw new GenError(`driverkit gen needs ${pkg}: npm install --save-dev @bufbuild/buf ts-proto`);
}

/** The path of a proto file below the include root that holds it. */
function relativeToRoot(file: string, roots: string[]): string {
  const root = roots.find((r) => file.startsWith(r + sep));
  return root ? relative(root, file) : relative(roots[0], file);
}

/** Runs buf with ts-proto over the protos and writes contract modules; returns the files written. */
export async function generate(o: GenOptions): Promise<{ types: string[]; files: string[] }> {
  const project = resolve(o.project ?? '.');
  const roots = (o.include?.length ? o.include : ['.']).map((r) => resolve(r));
  const protos = o.protos.map((p) => resolve(p));
  const root = await loadProtos(protos, roots);
  const specs = driverTypes(root);
  if (o.type) {
    const service = servicesOf(root).find((s) => fullName(s) === o.type!.service);
    if (!service)
      throw new TypeSpecError(
        `no service ${o.type.service} in the protos (services: ${servicesOf(root).map(fullName).join(', ') || 'none'})`,
      );
    specs.push({ ...o.type, versions: new Map([[o.type.version, service]]) });
    checkCookies(specs);
  }
  const buf = toolPath('@bufbuild/buf', 'buf', project);
  const tsProto = toolPath('ts-proto', 'protoc-gen-ts_proto', project);

  // buf takes one module: lay the protos and their imports out below one folder.
  const work = await mkdtemp(join(tmpdir(), 'driverkit-gen-'));
  try {
    // buf has google/protobuf's files itself (descriptor.proto too, which protobufjs read from its own copy).
    const local = root.files.filter((f) => !/(^|\/)google\/protobuf\//.test(f));
    for (const file of local) {
      const rel = file === OWN_OPTIONS ? 'driverkit/options.proto' : relativeToRoot(file, roots);
      await mkdir(dirname(join(work, rel)), { recursive: true });
      await cp(file, join(work, rel));
    }
    await writeFile(join(work, 'buf.yaml'), 'version: v2\n');
    const template = JSON.stringify({
      version: 'v2',
      plugins: [{ local: tsProto, out: '.', opt: TS_PROTO_OPTIONS }],
    });
    const paths = protos.flatMap((p) => ['--path', join(work, relativeToRoot(p, roots))]);
    await promisify(execFile)(buf, [
      'generate',
      work,
      '--template',
      template,
      '-o',
      resolve(o.out),
      ...paths,
    ]).catch((err) => {
      throw new GenError(`buf generate failed: ${String(err.stderr || err.message).trim()}`);
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const files = await dropUnused(resolve(o.out));
  for (const spec of specs) {
    const file = join(resolve(o.out), 'contracts', `${spec.type}.ts`);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, contractModule(spec, roots));
    files.push(file);
  }
  return { types: specs.map((s) => s.type), files };
}

/**
 * ts-proto also emits what the protos import: options.proto, and through it descriptor.proto
 * (7,000 lines). Nothing generated uses them, so they go unless something imports them.
 */
async function dropUnused(out: string): Promise<string[]> {
  const candidates = ['driverkit/options.ts', 'google/protobuf/descriptor.ts'];
  const all = (await readdir(out, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
  const texts = await Promise.all(all.map((f) => readFile(f, 'utf8')));
  const kept: string[] = [];
  for (const [i, file] of all.entries()) {
    const rel = relative(out, file);
    const used = texts.some(
      (t, j) =>
        j !== i &&
        !candidates.includes(relative(out, all[j])) &&
        t.includes(`/${rel.split('/').pop()!.replace(/\.ts$/, '.js')}"`),
    );
    if (candidates.includes(rel) && !used) {
      await rm(file);
      // And the folders it leaves empty (rmdir refuses a folder that is not).
      for (
        let d = dirname(file);
        d !== out &&
        (await rmdir(d).then(
          () => true,
          () => false,
        ));
        d = dirname(d)
      );
    } else kept.push(file);
  }
  return kept;
}

/**
 * The source of a contract module: the type's handshake and the ts-proto definition of
 * each version. It imports nothing of driverkit's, so generated code depends on no version
 * of it; startDriver and serve check its shape where it is used.
 */
export function contractModule(spec: TypeSpec, roots: string[]): string {
  const versions = [...spec.versions.entries()].sort(([a], [b]) => a - b);
  const imports = versions.map(([v, service]) => {
    const rel = relativeToRoot(resolve(service.filename ?? ''), roots).replace(/\.proto$/, '.js');
    return `import { ${service.name}Definition as V${v} } from '../${rel}';`;
  });
  const name = spec.type.replace(/[-_]+(.)/g, (_, c: string) => c.toUpperCase());
  return `// Code generated by driverkit gen for driver type ${JSON.stringify(spec.type)} (${versions.map(([, s]) => s.fullName.slice(1)).join(', ')}). DO NOT EDIT.
${imports.join('\n')}

/** The "${spec.type}" driver type: cookie ${spec.cookieKey}, app protocol version${versions.length > 1 ? 's' : ''} ${versions.map(([v]) => v).join(', ')}. */
export const ${name} = {
  type: ${JSON.stringify(spec.type)},
  cookieKey: ${JSON.stringify(spec.cookieKey)},
  cookieValue: ${JSON.stringify(spec.cookieValue)},
  versions: { ${versions.map(([v]) => `${v}: V${v}`).join(', ')} },
} as const;

/** The type of the ${JSON.stringify(spec.type)} contract, for typed clients and handlers. */
export type ${name[0].toUpperCase()}${name.slice(1)}Contract = typeof ${name};
`;
}
