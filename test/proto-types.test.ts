// Driver types read from a .proto at run time: the handshake from (driverkit.driver), codecs
// from protobufjs, used against real drivers built from the generated code.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { userprovider } from '../src/contracts/userprovider.js';
import { driverTypes, TypeSpecError } from '../src/types/driver-types.js';
import { dynamicContract } from '../src/types/dynamic.js';
import { loadProtos } from '../src/types/proto.js';
import { useDriver } from './helpers.js';
import { BIN, CLI, ROOT } from './paths.js';

const execFileAsync = promisify(execFile);

const EINSTEIN = '4c510ada-c86b-4815-8820-42cdf82c3d51';
const USERPROVIDER_PROTO = join(ROOT, 'proto/driverkit/userprovider/v1/userprovider.proto');

function protoDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'dk-proto-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const kvProto = (
  type: string,
  version: number,
  pkg = 'kv.v1',
  cookie = 'hello',
) => `syntax = "proto3";
package ${pkg};
import "driverkit/options.proto";
message GetRequest { string key = 1; }
message GetResponse { bytes value = 1; int64 size = 2; }
service KV {
  option (driverkit.driver) = { type: "${type}", cookie_key: "KV_PLUGIN", cookie_value: "${cookie}", version: ${version} };
  rpc Get(GetRequest) returns (GetResponse);
}
`;

describe('driver types from a .proto', () => {
  it('userprovider read from its proto has the handshake the generated contract has', async () => {
    const [spec, ...rest] = driverTypes(await loadProtos([USERPROVIDER_PROTO]));
    expect(rest).toEqual([]);
    const contract = dynamicContract(spec);
    expect({
      type: contract.type,
      cookieKey: contract.cookieKey,
      cookieValue: contract.cookieValue,
    }).toEqual({
      type: userprovider.type,
      cookieKey: userprovider.cookieKey,
      cookieValue: userprovider.cookieValue,
    });
    expect(Object.keys(contract.versions[1].methods)).toEqual(
      Object.keys(userprovider.versions[1].methods),
    );
  });

  it('a dynamic contract drives a real driver: Configure with a plain config table, typed-shaped replies', async () => {
    const contract = dynamicContract(driverTypes(await loadProtos([USERPROVIDER_PROTO]))[0]);
    const driver = useDriver({ name: 'dyn', path: BIN.json, contract });
    await driver.ready;
    const client = driver.client as Record<string, (req: unknown) => Promise<any>>;
    await client.configure({ config: { users: join(ROOT, 'examples/users.json') } });
    const { user } = await client.getUser({ userId: { opaqueId: EINSTEIN } });
    expect(user.username).toBe('einstein');
    const method = contract.versions[1].methods.getUser;
    expect(
      method.responseType.toJSON(await client.getUser({ userId: { opaqueId: EINSTEIN } })),
    ).toMatchObject({ user: { username: 'einstein' } });
    expect(method.requestType.fromJSON({ user_id: { opaque_id: 'x' } })).toMatchObject({
      userId: { opaqueId: 'x' },
    });
    expect(() => method.requestType.fromJSON({ userid: {} })).toThrow(
      /driverkit.userprovider.v1.GetUserRequest from JSON: key "userid" is unknown/,
    );
    expect(() => method.requestType.fromJSON({ user_id: { opaqueid: 'x' } })).toThrow(
      /driverkit.userprovider.v1.UserId from JSON: key "opaqueid" is unknown/,
    );
  });

  it("a run-time type's JSON is proto3 JSON by the book: well-known types in their own form", async () => {
    const root = await loadProtos([join(ROOT, 'test/json/wkt.proto')]);
    const service = root.lookupService('wkt.v1.Wk');
    const spec = {
      type: 'wkt',
      cookieKey: 'K',
      cookieValue: 'v',
      versions: new Map([[1, service]]),
    };
    const all = dynamicContract(spec).versions[1].methods.echo.requestType;
    const json = {
      at: '2020-01-01T00:00:00Z',
      took: '1.500s',
      count: 5,
      label: 'x',
      attrs: { a: 1, b: [true, null] },
      plainInt64: '-9223372036854775808',
    };
    const { plainInt64, ...rest } = json;
    const message = all.fromJSON({ ...rest, plain_int64: plainInt64 });
    // The message itself is ts-proto's shape: a Struct is a plain object, int64 a string.
    expect(message).toMatchObject({ attrs: json.attrs, plainInt64: json.plainInt64 });
    expect(all.toJSON(all.decode(all.encode(message).finish()))).toEqual(json);
    expect(() => all.fromJSON({ at: 'yesterday' })).toThrow(/Timestamp.*invalid RFC 3339/);
    expect(() => all.fromJSON({ count: { value: 5 } })).toThrow(/Int32Value/);
  });

  it('versions of one type group together; int64 stays exact', async () => {
    const dir = protoDir({ 'v1.proto': kvProto('kv', 1), 'v2.proto': kvProto('kv', 2, 'kv.v2') });
    const [spec] = driverTypes(await loadProtos([join(dir, 'v1.proto'), join(dir, 'v2.proto')]));
    expect([...spec.versions.keys()]).toEqual([1, 2]);
    const res = dynamicContract(spec).versions[2].methods.get.responseType;
    const big = '1152921504606846977';
    expect(res.decode(res.encode({ size: big }).finish()).size).toBe(big);
  });

  it.each([
    {
      name: 'two types with one cookie',
      files: { 'a.proto': kvProto('a', 1), 'b.proto': kvProto('b', 1, 'b.v1') },
      error: /types "(a|b)" and "(a|b)" share the cookie KV_PLUGIN=hello/,
    },
    {
      name: 'one version twice',
      files: { 'a.proto': kvProto('kv', 1), 'b.proto': kvProto('kv', 1, 'b.v1') },
      error: /version 1 of type "kv" is already service (b|kv)\.v1\.KV/,
    },
    {
      name: 'versions with different cookies',
      files: { 'a.proto': kvProto('kv', 1), 'b.proto': kvProto('kv', 2, 'b.v1', 'other') },
      error: /every version of a type must use the same cookie/,
    },
    {
      name: 'no version',
      files: { 'a.proto': kvProto('kv', 0) },
      error: /expected a version of 1 or more/,
    },
  ] as Array<{ name: string; files: Record<string, string>; error: RegExp }>)(
    'refuses $name',
    async ({ files, error }) => {
      const dir = protoDir(files);
      const root = await loadProtos(Object.keys(files).map((f) => join(dir, f)));
      expect(() => driverTypes(root)).toThrow(TypeSpecError);
      expect(() => driverTypes(root)).toThrow(error);
    },
  );

  it('a proto that does not parse fails naming the file and line', async () => {
    const dir = protoDir({ 'bad.proto': 'syntax = "proto3";\nmessage {\n' });
    await expect(loadProtos([join(dir, 'bad.proto')])).rejects.toThrow(/bad\.proto, line 2/);
  });
});

describe('driverkit gen', () => {
  it('writes ts-proto code and one contract module per driver type, with every version', async () => {
    const dir = protoDir({ 'v1.proto': kvProto('kv', 1), 'v2.proto': kvProto('kv', 2, 'kv.v2') });
    const out = join(dir, 'gen');
    const { stdout } = await execFileAsync(
      process.execPath,
      [CLI, 'gen', '--out', out, '-I', dir, join(dir, 'v1.proto'), join(dir, 'v2.proto')],
      { cwd: dir },
    );
    expect(stdout).toMatch(/driver types: kv/);
    expect(readdirSync(out, { recursive: true }).sort()).toEqual([
      'contracts',
      'contracts/kv.ts',
      'v1.ts',
      'v2.ts',
    ]);
    const contract = readFileSync(join(out, 'contracts/kv.ts'), 'utf8');
    expect(contract).toContain("import { KVDefinition as V1 } from '../v1.js';");
    expect(contract).toContain("import { KVDefinition as V2 } from '../v2.js';");
    expect(contract).toMatch(
      /cookieKey: "KV_PLUGIN",\n {2}cookieValue: "hello",\n {2}versions: \{ 1: V1, 2: V2 \}/,
    );
  });

  it('a proto that does not parse is exit 1 naming file and line', async () => {
    const dir = protoDir({ 'bad.proto': 'syntax = "proto3";\nmessage {\n' });
    const err = await execFileAsync(
      process.execPath,
      [CLI, 'gen', '--out', join(dir, 'gen'), join(dir, 'bad.proto')],
      { cwd: dir },
    ).catch((e) => e);
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(/driverkit gen: cannot read the protos: .*bad\.proto, line 2/);
  });
});
