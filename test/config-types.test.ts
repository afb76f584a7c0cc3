// [types.NAME]: driver types declared in config from a .proto. Each mistake is a config
// error naming the file and the key.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { DriverkitError } from '../src/errors.js';
import { expectRejection } from './helpers.js';

const KV_PROTO = `syntax = "proto3";
package proto;
message GetRequest { string key = 1; }
message GetResponse { bytes value = 1; }
service KV { rpc Get(GetRequest) returns (GetResponse); }
`;
const TYPED_PROTO = (type: string, cookie: string) => `syntax = "proto3";
package typed.v1;
import "driverkit/options.proto";
message Empty {}
service Typed {
  option (driverkit.driver) = { type: "${type}", cookie_key: "TYPED", cookie_value: "${cookie}", version: 1 };
  rpc Ping(Empty) returns (Empty);
}
`;

function dir(files: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), 'dk-types-'));
  onTestFinished(() => rmSync(d, { recursive: true, force: true }));
  writeFileSync(join(d, 'driver.sh'), '#!/bin/sh\n', { mode: 0o755 });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(d, name), text);
  return d;
}

const KV_TYPE =
  '[types.kv]\nproto = "kv.proto"\nservice = "proto.KV"\ncookie_key = "BASIC_PLUGIN"\ncookie_value = "hello"\n';
const DRIVER = (type: string, extra = '') =>
  `[drivers.d]\ntype = "${type}"\ndriver = "driver.sh"\n${extra}`;

describe('[types.NAME] in config', () => {
  it('a third-party proto with the handshake in config, and a proto that carries its own', async () => {
    const d = dir({
      'kv.proto': KV_PROTO,
      'typed.proto': TYPED_PROTO('typed', 'x'),
      'driverkit.toml': `${KV_TYPE}\n[types.typed]\nproto = "typed.proto"\n\n${DRIVER('kv')}\n[drivers.t]\ntype = "typed"\ndriver = "driver.sh"\n`,
    });
    const config = await loadConfig(join(d, 'driverkit.toml'));
    const [kv, typed] = config.drivers.map((e) => e.contract);
    expect({
      type: kv.type,
      cookieKey: kv.cookieKey,
      cookieValue: kv.cookieValue,
      methods: Object.keys(kv.versions[1].methods),
    }).toEqual({ type: 'kv', cookieKey: 'BASIC_PLUGIN', cookieValue: 'hello', methods: ['get'] });
    expect(typed.versions[1].fullName).toBe('typed.v1.Typed');
  });

  it.each([
    {
      name: 'an unknown type',
      files: { 'driverkit.toml': DRIVER('nope') },
      error:
        /drivers\.d\.type: expected a known driver type \(userprovider, authprovider; declare others in \[types\.NAME\]\), got string "nope"/,
    },
    {
      name: 'a proto that does not parse',
      files: {
        'kv.proto': 'syntax = "proto3";\nmessage {',
        'driverkit.toml': KV_TYPE + DRIVER('kv'),
      },
      error:
        /types\.kv\.proto: expected a \.proto that parses \(.*kv\.proto, line 2.*\), got string/,
    },
    {
      name: 'a missing proto file',
      files: { 'driverkit.toml': KV_TYPE + DRIVER('kv') },
      error: /types\.kv\.proto: expected a \.proto that parses \(ENOENT/,
    },
    {
      name: 'a service the proto lacks',
      files: {
        'kv.proto': KV_PROTO,
        'driverkit.toml': KV_TYPE.replace('proto.KV', 'proto.Nope') + DRIVER('kv'),
      },
      error:
        /types\.kv\.service: expected a service of the proto \(proto\.KV\), got string "proto\.Nope"/,
    },
    {
      name: 'a type without handshake values',
      files: {
        'kv.proto': KV_PROTO,
        'driverkit.toml': `[types.kv]\nproto = "kv.proto"\n${DRIVER('kv')}`,
      },
      error:
        /types\.kv: expected a service whose \(driverkit\.driver\) option names type "kv" in the proto, or service, cookie_key and cookie_value here/,
    },
    {
      name: 'a handshake half given',
      files: {
        'kv.proto': KV_PROTO,
        'driverkit.toml': `[types.kv]\nproto = "kv.proto"\nservice = "proto.KV"\n${DRIVER('kv')}`,
      },
      error: /types\.kv\.cookie_key: expected service, cookie_key and cookie_value together/,
    },
    {
      name: 'two types with one cookie',
      files: {
        'kv.proto': KV_PROTO,
        'driverkit.toml': KV_TYPE + KV_TYPE.replace('types.kv', 'types.kv2') + DRIVER('kv'),
      },
      error:
        /types: expected types "kv" and "kv2" share the cookie BASIC_PLUGIN=hello; each type needs its own/,
    },
    {
      name: "a built-in type's cookie",
      files: {
        'kv.proto': KV_PROTO,
        'driverkit.toml':
          KV_TYPE.replace('BASIC_PLUGIN', 'DRIVERKIT_USERPROVIDER').replace(
            'hello',
            '7d2f1c6e-userprovider-v1',
          ) + DRIVER('kv'),
      },
      error: /types: expected types "userprovider" and "kv" share the cookie/,
    },
    {
      name: 'a built-in type redeclared with another handshake',
      files: {
        'kv.proto': KV_PROTO,
        'driverkit.toml':
          KV_TYPE.replace('types.kv', 'types.userprovider') + DRIVER('userprovider'),
      },
      error:
        /types\.userprovider: expected the handshake the host knows type "userprovider" by \(DRIVERKIT_USERPROVIDER=7d2f1c6e-userprovider-v1\), or another name, got string "BASIC_PLUGIN=hello"/,
    },
    {
      name: 'a config table for a type without Configure',
      files: {
        'kv.proto': KV_PROTO,
        'driverkit.toml': KV_TYPE + DRIVER('kv', 'config = { a = 1 }\n'),
      },
      error:
        /drivers\.d\.config: expected no config table: type "kv" has no Configure method to receive one, got a table/,
    },
  ] as Array<{ name: string; files: Record<string, string>; error: RegExp }>)(
    'refuses $name, naming the file and key',
    async ({ files, error }) => {
      const d = dir(files);
      const err = await expectRejection(loadConfig(join(d, 'driverkit.toml')), DriverkitError);
      expect(err.code).toBe('CONFIG_INVALID');
      expect(err.message).toContain(join(d, 'driverkit.toml'));
      expect(err.message).toMatch(error);
    },
  );
});

describe('source folders', () => {
  it('two folders of one type with one name would build to one binary: a config error naming both', async () => {
    const d = dir({});
    for (const sub of ['a/users', 'b/users']) mkdirSync(join(d, sub), { recursive: true });
    writeFileSync(
      join(d, 'driverkit.toml'),
      '[drivers.one]\ntype = "userprovider"\ndriver = "a/users"\n\n[drivers.two]\ntype = "userprovider"\ndriver = "b/users"\n',
    );
    const err = await expectRejection(loadConfig(join(d, 'driverkit.toml')), DriverkitError);
    expect(err.message).toMatch(
      /drivers\.two\.driver: expected a source folder whose name no other userprovider driver's folder has, but drivers\.one \(.*a\/users\) also builds to .*bin\/userprovider\/users/,
    );
  });
});
