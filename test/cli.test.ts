import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runCli, spawnCollect } from './helpers.js';
import { CLI, ROOT } from './paths.js';

/** Runs the CLI to completion, in process. */
const cli = (args: string[], cwd = ROOT) => runCli(args, cwd);
/** Runs the shipped executable to completion. */
const spawned = (args: string[], cwd = ROOT) =>
  spawnCollect(process.execPath, [CLI, ...args], { cwd });

/** A project folder with copies of the repo's userprovider drivers and a config using them. */
function project(): string {
  mkdirSync(join(ROOT, '.cache'), { recursive: true });
  const dir = mkdtempSync(join(ROOT, '.cache', 'cli-test-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(join(ROOT, 'drivers/userprovider'), join(dir, 'drivers/userprovider'), {
    recursive: true,
  });
  cpSync(join(ROOT, 'examples/users.json'), join(dir, 'users.json'));
  writeFileSync(
    join(dir, 'driverkit.toml'),
    `[drivers.users]
type = "userprovider"
driver = "drivers/userprovider/json"
[drivers.users.config]
users = "users.json"

[drivers.demo]
type = "userprovider"
driver = "drivers/userprovider/demo"
`,
  );
  return dir;
}

const EINSTEIN = '{"user_id": {"opaque_id": "4c510ada-c86b-4815-8820-42cdf82c3d51"}}';

describe('driverkit CLI', () => {
  it('--help everywhere, exit 0; usage mistakes exit 2 on stderr', async () => {
    const top = await spawned(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/build .*\n.*ls .*\n.*call .*\n.*serve /);
    for (const cmd of ['build', 'ls', 'call', 'serve']) {
      const r = await cli([cmd, '--help']);
      expect([cmd, r.code]).toEqual([cmd, 0]);
      expect(r.stdout).toContain(`Usage: driverkit ${cmd}`);
    }
    const unknown = await cli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    const badFlag = await cli(['ls', '--bogus']);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toMatch(/Unknown option '--bogus'/);
    expect((await spawned([])).code).toBe(2);
  });

  it('build, then ls, then build again from cache; a change shows as stale', async () => {
    const dir = project();
    const before = await cli(['ls'], dir);
    expect(before.code).toBe(0);
    expect(before.stdout).toMatch(
      /users\s+userprovider\s+source\s+drivers\/userprovider\/json\s+not built/,
    );
    const first = await cli(['build'], dir);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^built {3}users +bin\/userprovider\/json {2}\(node, \d+ ms\)$/m);
    expect(first.stdout).toMatch(/^built {3}demo +bin\/userprovider\/demo/m);
    const second = await cli(['build'], dir);
    expect(second.stdout).toMatch(/^cached {2}users/m);
    expect(second.stdout).toMatch(/^cached {2}demo/m);
    expect((await cli(['ls'], dir)).stdout).toMatch(
      /demo\s+userprovider\s+source\s+drivers\/userprovider\/demo\s+built/,
    );
    appendFileSync(join(dir, 'drivers/userprovider/demo/main.ts'), '\n// changed\n');
    expect((await cli(['ls'], dir)).stdout).toMatch(
      /demo\s+userprovider\s+source\s+drivers\/userprovider\/demo\s+stale/,
    );
    // A folder named on the command line takes its type from its manifest.
    const one = await cli(['build', 'drivers/userprovider/demo'], dir);
    expect(one.stdout).toMatch(/^built {3}demo +bin\/userprovider\/demo/m);
  });

  it('two builds at once both succeed and leave one good binary', async () => {
    const dir = project();
    // Two processes: the build lock is between processes.
    const [a, b] = await Promise.all([
      spawned(['build', 'drivers/userprovider/json'], dir),
      spawned(['build', 'drivers/userprovider/json'], dir),
    ]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect([a.stdout.slice(0, 6), b.stdout.slice(0, 6)].sort()).toEqual(['built ', 'cached']);
    const call = await cli(['call', 'users', 'GetUser', EINSTEIN], dir);
    expect(call.code).toBe(0);
  });

  it('call prints the JSON reply; errors go to stderr with exit 1 (2 for usage)', async () => {
    const dir = project();
    const ok = await cli(['call', 'users', 'GetUser', EINSTEIN], dir);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).user).toMatchObject({
      username: 'einstein',
      displayName: 'Albert Einstein',
    });
    const byClaim = await cli(
      ['call', 'demo', 'get_user_by_claim', '{"claim": "username", "value": "marie"}'],
      dir,
    );
    expect(JSON.parse(byClaim.stdout).user.mail).toBe('marie@example.org');
    const missing = await cli(
      ['call', 'users', 'GetUser', '{"user_id": {"opaque_id": "nobody"}}'],
      dir,
    );
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toMatch(/driver "users" .*\[NOT_FOUND\] user "nobody" not found/);
    const badMethod = await cli(['call', 'users', 'Frob'], dir);
    expect(badMethod.code).toBe(2);
    expect(badMethod.stderr).toMatch(
      /userprovider has no method "Frob" \(methods: Configure, GetUser/,
    );
    const badJson = await cli(['call', 'users', 'GetUser', '{nope'], dir);
    expect(badJson.code).toBe(2);
    // One line that says what is wrong and where the usage is, not the usage itself.
    expect(badJson.stderr.trim().split('\n')).toHaveLength(1);
    expect(badJson.stderr).toMatch(/the request is not valid JSON: .*driverkit call --help/);
    const unknown = await cli(['call', 'nobody', 'GetUser'], dir);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no driver named "nobody" .* \(known: users, demo\)/);
  });

  it('a broken config is exit 1 with the file and key on stderr', async () => {
    const dir = project();
    writeFileSync(join(dir, 'driverkit.toml'), '[drivers.users]\ntype = "userprovider"\n');
    for (const cmd of ['ls', 'build', 'serve']) {
      const r = await cli([cmd], dir);
      expect([cmd, r.code]).toEqual([cmd, 1]);
      expect(r.stderr).toContain(
        `${join(dir, 'driverkit.toml')}: drivers.users.driver: expected the path of an executable or of a source folder`,
      );
    }
  });

  it('a broken source driver fails build and call with the compiler output', async () => {
    const dir = project();
    writeFileSync(join(dir, 'drivers/userprovider/demo/main.ts'), 'this is not typescript(\n');
    const r = await cli(['build'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /driver "demo" .*node build failed[\s\S]*last lines of the build output[\s\S]*main\.ts:1:/,
    );
  });
});
