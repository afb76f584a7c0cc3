// Table tests of the package layer's pure parts: manifest validation and archive safety.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it, onTestFinished } from 'vitest';
import { parsePackageManifest } from '../src/packages/manifest.js';
import { readTar, writeTar, type TarInput } from '../src/packages/tar.js';
import { unpackTarGz } from '../src/packages/unpack.js';

const ok = {
  name: 'kv',
  type: 'kv',
  version: '1.2.0',
  driverkit: '^0.1.0',
  artifacts: [{ os: 'linux', arch: 'x64', url: 'kv.tar.gz', sha256: 'a'.repeat(64) }],
};

describe('package manifests', () => {
  const rows: { change: Record<string, unknown>; error: string }[] = [
    {
      change: { version: '1.2' },
      error:
        'idx/kv/1.2.0.json: "version" must be an exact semver version such as "1.2.0", got "1.2"',
    },
    {
      change: { driverkit: 'soon' },
      error: '"driverkit" must be a semver range such as "^0.1.0", got "soon"',
    },
    { change: { name: 'Bad Name' }, error: '"name" must be a name matching' },
    { change: { type: undefined }, error: '"type" must be a string, got nothing' },
    {
      change: { artifacts: [] },
      error: '"artifacts" must be a non-empty array (or an empty one with "source"), got []',
    },
    {
      change: { source: { git: "ext::sh -c 'touch /tmp/pwned'", commit: 'a'.repeat(40) } },
      error: '"source.git" must be an https:, http:, ssh:, git: or file: URL, or a path',
    },
    {
      change: { source: { git: 'x', commit: 'v1' } },
      error: '"source.commit" must be a full commit hash (40 lowercase hex digits), got "v1"',
    },
    {
      change: {
        source: {
          git: 'x',
          commit: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
          ref: '--upload-pack=evil',
        },
      },
      error: '"source.ref" must be a tag or branch name',
    },
    {
      change: { artifacts: [{ ...ok.artifacts[0], sha256: 'xyz' }] },
      error: '"artifacts[0].sha256" must be 64 lowercase hex digits, got "xyz"',
    },
    {
      change: { artifacts: [{ ...ok.artifacts[0], os: undefined }] },
      error: '"artifacts[0].os" must be a non-empty string',
    },
    { change: { signed: 'x' }, error: 'unknown field "signed"' },
    {
      change: { signature: 'x' },
      error: '"signature" must be a base64 ed25519 signature (88 characters), got "x"',
    },
  ];
  for (const { change, error } of rows) {
    it(`refuses ${JSON.stringify(change)}`, () => {
      expect(() => parsePackageManifest({ ...ok, ...change }, 'idx/kv/1.2.0.json')).toThrow(error);
    });
  }
  it('accepts a complete one', () => {
    expect(parsePackageManifest({ ...ok, license: 'MIT' }, 'x')).toEqual({ ...ok, license: 'MIT' });
  });
});

const file = (path: string): TarInput => ({
  path,
  type: 'file',
  mode: 0o755,
  data: Buffer.from(path),
});
const link = (path: string, linkname: string): TarInput => ({
  path,
  type: 'symlink',
  mode: 0o777,
  data: Buffer.alloc(0),
  linkname,
});

/** Rewrites a field of an archive's first header (NUL-ended) and its checksum to match. */
function setField(tar: Buffer, at: number, len: number, text: string): void {
  tar.fill(0, at, at + len);
  tar.write(`${text}\0`, at);
  tar.fill(32, 148, 156);
  const sum = tar.subarray(0, 512).reduce((s, x) => s + x, 0);
  tar.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
}

describe('unpacking archives', () => {
  const rows: { entries: TarInput[]; error?: string }[] = [
    { entries: [file('bin/driver'), link('current', 'bin/driver')] },
    { entries: [file('../up')], error: 'entry "../up" leaves the archive folder' },
    { entries: [file('a/../../up')], error: 'entry "a/../../up" leaves the archive folder' },
    { entries: [file('/etc/evil')], error: 'entry "/etc/evil" leaves the archive folder' },
    {
      entries: [link('out', '../../etc')],
      error: 'entry "out" is a symbolic link out of the archive (to "../../etc")',
    },
    {
      entries: [link('abs', '/etc/passwd')],
      error: 'is a symbolic link out of the archive (to "/etc/passwd")',
    },
    {
      entries: [link('here', '.'), file('here/x')],
      error: 'entry "here/x" goes through a symbolic link',
    },
    {
      // Each text alone stays inside; followed through `d -> .`, `root` is the folder's parent.
      entries: [link('root', 'd/d/d/../../..'), link('d', '.')],
      error: 'entry "root" is a symbolic link out of the archive (to "d/d/d/../../..")',
    },
    {
      entries: [link('a', 'b'), link('b', 'a')],
      error: 'entry "a" is a symbolic link out of the archive (to "b")',
    },
    { entries: [file('lib/x'), link('bin/x', '../lib/x'), link('d', '.')] },
    {
      // Listed before the link it goes through: refused all the same.
      entries: [file('here/x'), link('here', '.')],
      error: 'entry "here/x" goes through a symbolic link',
    },
  ];
  for (const { entries, error } of rows) {
    it(`${error ? 'refuses' : 'unpacks'} ${entries.map((e) => e.path).join(', ')}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'dk-unpack-'));
      onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
      const run = unpackTarGz(gzipSync(writeTar(entries)), dir, 'a.tar.gz');
      if (error) {
        await expect(run).rejects.toMatchObject({
          code: 'ARCHIVE_UNSAFE',
          message: expect.stringContaining(error),
        });
        expect(readdirSync(dir)).toEqual([]);
      } else {
        expect((await run).map((e) => e.path)).toEqual(entries.map((e) => e.path));
      }
    });
  }
  it('refuses an archive past its limits before writing anything: entries, bytes, one huge header', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dk-unpack-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const five = gzipSync(writeTar(['a', 'b', 'c', 'd', 'e'].map(file)));
    await expect(unpackTarGz(five, dir, 'x', { maxEntries: 4 })).rejects.toThrow(
      'entry "e" is one more than the 4 entries an archive may hold',
    );
    const big = { ...file('big'), data: Buffer.alloc(2000) };
    await expect(
      unpackTarGz(gzipSync(writeTar([big])), dir, 'x', { maxBytes: 1000 }),
    ).rejects.toThrow('entry "big" takes the files past the 1000-byte limit');
    // A 1 KiB archive whose one header claims 8 GiB: refused on that header, nothing inflated.
    const tar = writeTar([file('bomb')]);
    setField(tar, 124, 12, '77777777777');
    await expect(unpackTarGz(gzipSync(tar), dir, 'x')).rejects.toThrow(
      'entry "bomb" takes the files past the 1073741824-byte limit',
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses a size field that is not octal, and an entry twice fails the install cleanly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dk-unpack-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    for (const size of ['9', '-77777777000']) {
      const tar = writeTar([file('x')]);
      setField(tar, 124, 12, size);
      await expect(unpackTarGz(gzipSync(tar), dir, 'x')).rejects.toThrow('is not octal');
    }
    // The second "a" cannot be created: the install fails with that error, nothing crashes.
    await expect(
      unpackTarGz(gzipSync(writeTar([file('a'), file('a')])), dir, 'x'),
    ).rejects.toMatchObject({
      code: 'EEXIST',
    });
  });

  it('reads back what it writes, and refuses a corrupt header', () => {
    const tar = writeTar([
      file('a'),
      { path: 'd', type: 'dir', mode: 0o755, data: Buffer.alloc(0) },
    ]);
    expect(readTar(tar).map((e) => [e.path, e.type, e.mode, e.data.toString()])).toEqual([
      ['a', 'file', 0o755, 'a'],
      ['d/', 'dir', 0o755, ''],
    ]);
    tar[10] ^= 1;
    expect(() => readTar(tar)).toThrow('tar header at byte 0: bad checksum');
  });
});
