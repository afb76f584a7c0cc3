// driverkit call speaks the proto3 JSON mapping exactly, for built-in and declared types,
// and calls methods of every kind.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runCli } from './helpers.js';
import { BIN, ROOT } from './paths.js';

const EINSTEIN = '4c510ada-c86b-4815-8820-42cdf82c3d51';

function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dk-cli-json-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'driverkit.toml'),
    `[types.counter]
proto = "${join(ROOT, 'test/fixtures/protos/counter/v1/counter.proto')}"

[drivers.demo]
type = "userprovider"
driver = "${BIN.demo}"

[drivers.counter]
type = "counter"
driver = "${BIN.counter}"
`,
  );
  return dir;
}

// In process: each case starts its driver, not a CLI too (cli.test.ts spawns the executable).
const call = (dir: string, ...args: string[]) =>
  runCli(['call', '--config', join(dir, 'driverkit.toml'), ...args]);

describe('driverkit call and proto3 JSON', () => {
  it('calls every built-in type, AuthProvider too (its proto imports UserProvider’s)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dk-cli-json-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const accounts = join(ROOT, 'examples/auth-users.json');
    writeFileSync(
      join(dir, 'driverkit.toml'),
      `[drivers.auth]\ntype = "authprovider"\ndriver = "${BIN.authJson}"\nconfig = { users = "${accounts}" }\n`,
    );
    const out = await call(
      dir,
      'auth',
      'Authenticate',
      JSON.stringify({ client_id: 'einstein', client_secret: 'relativity' }),
    );
    expect(out.code, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout).user).toMatchObject({ username: 'einstein' });
  });

  it('prints int64 as strings and enums by name; reads proto names and lowerCamelCase', async () => {
    const dir = project();
    const out = await call(
      dir,
      'demo',
      'GetUser',
      JSON.stringify({ user_id: { opaque_id: EINSTEIN } }),
    );
    expect(out.code, out.stderr).toBe(0);
    const { user } = JSON.parse(out.stdout);
    expect(user).toMatchObject({
      username: 'einstein',
      uidNumber: '123',
      gidNumber: '987',
      id: { opaqueId: EINSTEIN, type: 'USER_TYPE_PRIMARY' },
    });
    const camel = await call(
      dir,
      'demo',
      'GetUser',
      JSON.stringify({ userId: { opaqueId: EINSTEIN }, skipFetchingGroups: true }),
    );
    expect(JSON.parse(camel.stdout).user.groups ?? []).toEqual([]);
  });

  it.each([
    {
      name: 'an unknown field',
      json: { userid: {} },
      error:
        /the request: cannot decode message driverkit\.userprovider\.v1\.GetUserRequest from JSON: key "userid" is unknown/,
    },
    {
      name: 'an unknown nested field',
      json: { user_id: { opaqueid: 'x' } },
      error:
        /the request: .*driverkit\.userprovider\.v1\.UserId from JSON: key "opaqueid" is unknown/,
    },
    {
      name: 'a number for a string',
      json: { user_id: { opaque_id: 5 } },
      error:
        /the request: .*field driverkit\.userprovider\.v1\.UserId\.opaque_id from JSON: expected string, got 5/,
    },
    {
      name: 'a string for a bool',
      json: { user_id: { opaque_id: 'x' }, skip_fetching_groups: 'yes' },
      error:
        /the request: .*GetUserRequest\.skip_fetching_groups from JSON: expected boolean, got "yes"/,
    },
    {
      name: 'an unknown enum name',
      json: { user_id: { opaque_id: 'x', type: 'USER_TYPE_ROBOT' } },
      error:
        /the request: cannot decode enum driverkit\.userprovider\.v1\.UserType from JSON: "USER_TYPE_ROBOT"/,
    },
    {
      name: 'a scalar for a message',
      json: { user_id: 'x' },
      error:
        /the request: cannot decode message driverkit\.userprovider\.v1\.UserId from JSON: "x"/,
    },
  ])('refuses $name, naming the field (exit 2, nothing sent)', async ({ json, error }) => {
    const out = await call(project(), 'demo', 'GetUser', JSON.stringify(json));
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(error);
  });

  it('int64 above 2^53 stays exact; a response stream prints one JSON line per response; a request stream takes an array', async () => {
    const dir = project();
    const add = await call(dir, 'counter', 'Add', '{"value": "1152921504606846977"}');
    expect(JSON.parse(add.stdout)).toEqual({ total: '1152921504606846977', count: '1' });
    const badInt = await call(dir, 'counter', 'Add', '{"value": "12abc"}');
    expect(badInt.stderr).toMatch(
      /the request: cannot decode field counter\.v1\.AddRequest\.value from JSON: expected bigint \(int64\): 12abc/,
    );
    const count = await call(dir, 'counter', 'Count', '{"n": 3, "size": 2}');
    expect(
      count.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([{ payload: 'eHg=' }, { i: 1, payload: 'eHg=' }, { i: 2, payload: 'eHg=' }]);
    const sum = await call(dir, 'counter', 'Sum', '[{"value": "40"}, {"value": 2}]');
    expect(JSON.parse(sum.stdout)).toEqual({ total: '42', count: '2' });
    const notArray = await call(dir, 'counter', 'Sum', '{"value": "1"}');
    expect(notArray.code).toBe(2);
    expect(notArray.stderr).toMatch(/Sum streams its requests: expected a JSON array of them/);
  });
});
