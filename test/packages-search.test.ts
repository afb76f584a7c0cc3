// `driverkit search` over a folder index and the same index served by a local HTTP server.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, publish, serveFolder, tempDir } from './packages-helpers.js';
import { BIN } from './paths.js';

async function packAs(
  index: string,
  name: string,
  version: string,
  driverkit: string,
  description: string,
): Promise<void> {
  const r = await cli(
    index,
    'pack',
    BIN.demo,
    '--name',
    name,
    '--type',
    'kv',
    '--version',
    version,
    '--driverkit',
    driverkit,
    '--description',
    description,
    '--index',
    index,
  );
  expect([r.code, r.stderr]).toEqual([0, expect.stringMatching(/^added /)]);
}

describe('driverkit search', () => {
  it("prints an index's text without its control characters: no retitled terminal, no erased or forged rows", async () => {
    const index = tempDir('pkg-index');
    const project = tempDir('pkg-project');
    const hostile = 'ok\u001b]0;pwned\u0007\r\u001b[2Kofficial 9.9.9 verified\nfake row';
    await packAs(index, 'evil', '1.0.0', '^0.1.0', hostile);
    const out = await cli(project, 'search', '--index', index);
    expect(out.code, out.stderr).toBe(0);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: what must not reach the terminal
    expect(out.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(out.stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(out.stdout).toMatch(
      /^evil\s+1\.0\.0\s+kv\s+ok\ufffd\]0;pwned\ufffd\ufffd\ufffd\[2Kofficial/,
    );
  });

  it('lists names, newest compatible version, type and description; TERM filters; over a folder and over HTTP', async () => {
    const index = tempDir('pkg-index');
    const project = tempDir('pkg-project');
    await publish(index, '1.0.0', '^0.1.0', '--description', 'A demo user provider');
    await publish(index, '1.1.0', '^0.1.0', '--description', 'A demo user provider');
    await publish(index, '2.0.0', '^0.2.0', '--description', 'A demo user provider');
    await packAs(index, 'store', '0.3.0', '^0.1.0', 'key-value store');
    await packAs(index, 'future', '1.0.0', '^9.0.0', 'needs a newer driverkit');
    expect(JSON.parse(readFileSync(join(index, 'index.json'), 'utf8'))).toEqual([
      'demo',
      'future',
      'store',
    ]);

    const all = await cli(project, 'search', '--index', index);
    expect([all.code, all.stderr]).toEqual([0, '']);
    expect(all.stdout.split('\n')).toEqual([
      expect.stringMatching(/^demo\s+1\.1\.0\s+userprovider\s+A demo user provider$/),
      expect.stringMatching(
        /^future\s+none fits \(newest 1\.0\.0\)\s+kv\s+needs a newer driverkit$/,
      ),
      expect.stringMatching(/^store\s+0\.3\.0\s+kv\s+key-value store$/),
      '',
    ]);
    expect((await cli(project, 'search', 'VALUE', '--index', index)).stdout).toMatch(
      /^store\s+0\.3\.0\s+kv\s+key-value store\n$/,
    );
    expect((await cli(project, 'search', 'nothing-like-this', '--index', index)).stdout).toBe(
      `no packages matching "nothing-like-this" in ${index}\n`,
    );

    const server = await serveFolder(index);
    const overHttp = await cli(project, 'search', 'dem', '--index', server.url);
    expect([overHttp.code, overHttp.stderr]).toEqual([0, '']);
    expect(overHttp.stdout).toMatch(/^demo\s+1\.1\.0\s+userprovider\s+A demo user provider\n$/);
    expect((await cli(project, 'search', '--index', server.url)).stdout.split('\n')).toHaveLength(
      4,
    );

    rmSync(join(index, 'index.json'));
    const missing = await cli(project, 'search', '--index', server.url);
    expect([missing.code, missing.stderr]).toEqual([
      1,
      `driverkit search: ${server.url}index.json: missing; an index served over HTTP lists its packages there (driverkit pack --index writes it)\n`,
    ]);
    expect((await cli(project, 'search', 'a', 'b', '--index', index)).code).toBe(2);
  });
});
