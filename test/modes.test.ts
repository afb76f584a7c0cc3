// Development and production modes of driverkit serve: production builds, clones and
// downloads nothing (refusing what would, before any driver starts) and logs JSON lines.
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { spawnCollect, spawnUntil, waitFor } from './helpers.js';
import { BIN, CLI, ROOT } from './paths.js';

function project(toml: string): string {
  const dir = mkdtempSync(join(ROOT, '.cache', 'modes-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(join(ROOT, 'drivers'), join(dir, 'drivers'), { recursive: true });
  writeFileSync(join(dir, 'driverkit.toml'), toml);
  return dir;
}

describe('serve modes', () => {
  it('production refuses a source folder and a package not installed, naming the deploy-time commands, and builds nothing', async () => {
    const dir = project(
      [
        'mode = "production"',
        '[drivers.users]',
        'type = "userprovider"',
        'driver = "./drivers/userprovider/json"',
        '[drivers.ldap]',
        'type = "userprovider"',
        'package = "userprovider-ldap@^1"',
        '',
      ].join('\n'),
    );
    const run = await spawnCollect(process.execPath, [CLI, 'serve', '--listen', '127.0.0.1:0'], {
      cwd: dir,
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /drivers\.users\.driver: drivers\/userprovider\/json is a source folder, and production mode builds nothing: run "driverkit build" at deploy time and point driver at the binary it makes \(bin\/userprovider\/json\)/,
    );
    expect(run.stderr).toMatch(
      /drivers\.ldap: package userprovider-ldap@\^1 is not installed, and production mode downloads nothing: run "driverkit install --frozen" at deploy time/,
    );
    // Nothing was built (no bin/), installed (no .driverkit/) or started.
    expect(existsSync(join(dir, 'bin'))).toBe(false);
    expect(existsSync(join(dir, '.driverkit'))).toBe(false);
  }, 60_000);

  it('production serves binaries and logs JSON lines; --mode overrides the config', async () => {
    const dir = project(`[drivers.demo]\ntype = "userprovider"\ndriver = "${BIN.demo}"\n`);
    const serve = await spawnUntil(
      process.execPath,
      [CLI, 'serve', '--mode', 'production', '--listen', '127.0.0.1:0'],
      /driverkit: serving demo on (\S+)\n/,
      { cwd: dir, endSignal: 'SIGTERM' },
    );
    serve.child.kill('SIGTERM');
    const { code, stderr } = await serve.done;
    expect(code).toBe(0);
    const lines = stderr.trim().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines)
      expect(JSON.parse(line)).toMatchObject({
        time: expect.any(String),
        level: expect.any(String),
      });
    expect(lines.map((l) => JSON.parse(l).message)).toContain('stopping');
    const watch = await spawnCollect(
      process.execPath,
      [CLI, 'serve', '--mode', 'production', '--watch'],
      {
        cwd: dir,
      },
    );
    expect(watch.code).toBe(2);
    expect(watch.stderr).toMatch(
      /--watch rebuilds drivers at run time, which production mode never does/,
    );
    const bad = await spawnCollect(process.execPath, [CLI, 'serve', '--mode', 'prod'], {
      cwd: dir,
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--mode: expected "development" or "production", got "prod"/);
  }, 60_000);

  it('production refuses a reloaded config (SIGHUP) that adds a source driver, and its build command never runs', async () => {
    const dir = project(`[drivers.demo]\ntype = "userprovider"\ndriver = "${BIN.demo}"\n`);
    // A source driver whose build command leaves a mark: it must never run.
    mkdirSync(join(dir, 'marked'));
    writeFileSync(
      join(dir, 'marked', 'driverkit.json'),
      JSON.stringify({
        type: 'userprovider',
        version: '0.1.0',
        driverkit: '^0.1.0',
        build: `touch ${join(dir, 'BUILT')} && cp ${BIN.demo} "$OUT"`,
      }),
    );
    const serve = await spawnUntil(
      process.execPath,
      [CLI, 'serve', '--mode', 'production', '--listen', '127.0.0.1:0'],
      /driverkit: serving demo on (\S+)\n/,
      { cwd: dir, endSignal: 'SIGTERM' },
    );
    let stderr = '';
    serve.child.stderr!.on('data', (d: string) => (stderr += d));
    writeFileSync(
      join(dir, 'driverkit.toml'),
      `[drivers.demo]\ntype = "userprovider"\ndriver = "${BIN.demo}"\n[drivers.marked]\ntype = "userprovider"\ndriver = "./marked"\n`,
    );
    serve.child.kill('SIGHUP');
    await waitFor(
      () => /config reload refused/.test(stderr),
      30_000,
      () => `the refusal; stderr:\n${stderr}`,
    );
    expect(stderr).toMatch(
      /drivers\.marked\.driver: marked is a source folder, and production mode builds nothing/,
    );
    serve.child.kill('SIGTERM');
    expect((await serve.done).code).toBe(0);
    expect(existsSync(join(dir, 'BUILT'))).toBe(false);
    // bin/ holds serve's status file, and no driver.
    expect(existsSync(join(dir, 'bin', 'userprovider'))).toBe(false);
  }, 60_000);
});
