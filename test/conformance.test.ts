// `driverkit conformance`: the shipped suite run by the CLI against drivers of any language,
// and a driver that gets NOT_FOUND wrong failing it, naming the case.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { hasGoToolchain } from './helpers.js';
import { BIN, CLI, ROOT } from './paths.js';

const run = (args: string[], cwd = ROOT) =>
  promisify(execFile)(process.execPath, [CLI, 'conformance', ...args], { cwd }).then(
    ({ stdout }) => ({ code: 0, stdout }),
    (err: { code: number; stdout: string; stderr: string }) => ({
      code: err.code,
      stdout: err.stdout + err.stderr,
    }),
  );

describe('driverkit conformance', () => {
  it('passes on the demo driver and, configured, on the json driver', async () => {
    const demo = await run(['--type', 'userprovider', '--driver', BIN.demo]);
    expect(demo.stdout).toMatch(/^ok 1 - GetUser returns the user/m);
    expect(demo.stdout).toMatch(/^6 passed, 0 failed$/m);
    expect(demo.code).toBe(0);
    const json = await run([
      '--type',
      'userprovider',
      '--driver',
      BIN.json,
      '--configure',
      JSON.stringify({ users: join(ROOT, 'examples/users.json') }),
    ]);
    expect(json.stdout).toMatch(/^6 passed, 0 failed$/m);
    expect(json.code).toBe(0);
  });

  it.skipIf(!hasGoToolchain)(
    'passes on the Go driver (plain go-plugin), built from source through a config',
    async () => {
      mkdirSync(join(ROOT, '.cache'), { recursive: true });
      const dir = mkdtempSync(join(ROOT, '.cache', 'conformance-go-'));
      onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
      writeFileSync(
        join(dir, 'driverkit.toml'),
        `[drivers.users]
type = "userprovider"
driver = "${join(ROOT, 'drivers/userprovider/go')}"
config = { users = "${join(ROOT, 'examples/users.json')}" }
`,
      );
      const { code, stdout } = await run(['users'], dir);
      expect(stdout).toMatch(/^6 passed, 0 failed$/m);
      expect(code).toBe(0);
    },
    120_000,
  );

  it('fails, naming the case and what came back, on a driver that answers NOT_FOUND wrongly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dk-conformance-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    // The fixture answers any id with a user: an unknown id is not NOT_FOUND.
    writeFileSync(
      join(dir, 'driverkit.toml'),
      `[drivers.wrong]\ntype = "userprovider"\ndriver = "${BIN.fixture}"\nenv = { FIXTURE_CONTRACT = "userprovider" }\n`,
    );
    const { code, stdout } = await run(['wrong'], dir);
    expect(code).toBe(1);
    expect(stdout).toMatch(
      /^not ok 2 - GetUser of an unknown id is NOT_FOUND naming the id\n {2}# GetUser\(nobody-42\): expected status NOT_FOUND, got OK with \{"user":/m,
    );
    expect(stdout).toMatch(/^\d passed, [1-6] failed$/m);
  });

  it('a type without a shipped suite is a usage error naming the suites there are', async () => {
    const { code, stdout } = await run(['--type', 'nope', '--driver', BIN.demo]);
    expect(code).toBe(2);
    expect(stdout).toMatch(/--type: expected one of userprovider, authprovider, got "nope"/);
  });
});
